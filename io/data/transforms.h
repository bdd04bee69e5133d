#pragma once
/// \file
/// Image transforms for the data pipeline, with torchvision's semantics: Normalize, RandomCrop
/// (zero padding), RandomHorizontalFlip, and Compose.
///
/// Transforms work on float32 batches [B, C, H, W] (a single image [C, H, W] works too) and
/// return a new tensor; they never record autograd nodes. Random transforms draw per image, in
/// image order, from the Generator they are given, so a pipeline is reproducible from a seed
/// (DataLoader seeds one generator per batch from its seed, the epoch and the batch number).

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "autograd/generator.h"
#include "autograd/tensor.h"

namespace shrink::data {

/// (x - mean[c]) / std[c] per channel; one value applies to every channel.
Tensor normalize(const Tensor& images, const std::vector<float>& mean, const std::vector<float>& std);
/// The window [top, top+height) x [left, left+width) of every image zero-padded by `padding` on
/// each side: torchvision's F.crop(F.pad(img, padding), top, left, height, width).
Tensor pad_crop(const Tensor& images, std::int64_t padding, std::int64_t top, std::int64_t left, std::int64_t height,
                std::int64_t width);
/// Every image mirrored left-right (torchvision's F.hflip).
Tensor hflip(const Tensor& images);

/// A transform of a batch of images.
class Transform {
 public:
  virtual ~Transform() = default;
  /// The transformed images; random draws come from `gen`.
  virtual Tensor operator()(const Tensor& images, Generator& gen) const = 0;
  /// torchvision-style description, e.g. "RandomCrop(size=(28, 28), padding=4)".
  virtual std::string repr() const = 0;
};

/// Per-channel normalisation; ValueError on an empty list or a zero std.
class Normalize : public Transform {
 public:
  Normalize(std::vector<float> mean, std::vector<float> std);
  Tensor operator()(const Tensor& images, Generator& gen) const override;
  std::string repr() const override;

 private:
  std::vector<float> mean_, std_;
};

/// Zero-pads each image by `padding` on every side, then crops a `size` window at a uniformly
/// drawn position (top first, then left; no draw along a dimension without freedom, like
/// torchvision when the padded image already has the crop size).
class RandomCrop : public Transform {
 public:
  RandomCrop(std::int64_t size, std::int64_t padding = 0);
  RandomCrop(std::array<std::int64_t, 2> size, std::int64_t padding = 0);
  Tensor operator()(const Tensor& images, Generator& gen) const override;
  std::string repr() const override;

 private:
  std::int64_t height_, width_, padding_;
};

/// Mirrors each image left-right with probability p (one uniform draw per image: flip if < p).
class RandomHorizontalFlip : public Transform {
 public:
  explicit RandomHorizontalFlip(double p = 0.5);
  Tensor operator()(const Tensor& images, Generator& gen) const override;
  std::string repr() const override;

 private:
  double p_;
};

/// Applies transforms in order (an empty Compose returns its input as it is).
class Compose : public Transform {
 public:
  explicit Compose(std::vector<std::shared_ptr<const Transform>> transforms);
  Tensor operator()(const Tensor& images, Generator& gen) const override;
  /// "Compose(\n    RandomCrop(...)\n    Normalize(...)\n)" like torchvision.
  std::string repr() const override;

 private:
  std::vector<std::shared_ptr<const Transform>> transforms_;
};

}  // namespace shrink::data
