#pragma once
/// \file
/// Datasets: the Dataset interface, TensorDataset, and MNIST / Fashion-MNIST over idx files.
///
/// A dataset maps an index in [0, size()) to an Example {data, target}; get_batch() gathers many
/// at once into contiguous [B, ...] tensors with one memcpy per sample (what DataLoader uses).

#include <cstdint>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace shrink::data {

/// One sample: its data (e.g. a float32 image [1, 28, 28]) and its target (an int64 label []).
struct Example {
  Tensor data;
  Tensor target;
};

/// Samples stacked along a new first dimension: data [B, ...], targets [B, ...].
struct Batch {
  Tensor data;
  Tensor targets;
};

/// The interface every dataset implements.
class Dataset {
 public:
  virtual ~Dataset() = default;
  /// Number of samples.
  virtual std::int64_t size() const = 0;
  /// Sample `index` in [0, size()); IndexError otherwise. The result does not alias the dataset.
  virtual Example get(std::int64_t index) const = 0;
  /// Samples `indices`, stacked. The default calls get() per index and memcpys each sample into
  /// the batch; datasets backed by contiguous tensors override it to copy straight from storage.
  /// Must be safe to call from a background thread while the dataset is not modified.
  virtual Batch get_batch(const std::vector<std::int64_t>& indices) const;
};

/// A dataset over two tensors sharing their first dimension: sample i is (data[i], targets[i]).
/// The tensors are shared, not copied.
class TensorDataset : public Dataset {
 public:
  /// ShapeError unless both are defined, have at least one dimension and the same first size.
  TensorDataset(Tensor data, Tensor targets);

  std::int64_t size() const override { return data_.size(0); }
  Example get(std::int64_t index) const override;
  Batch get_batch(const std::vector<std::int64_t>& indices) const override;

  const Tensor& data() const { return data_; }
  const Tensor& targets() const { return targets_; }

 private:
  Tensor data_;
  Tensor targets_;
};

/// MNIST-layout image classification data read from the four idx files in `root`: images as
/// float32 [1, 28, 28] scaled to [0, 1] (x / 255, like torchvision's ToTensor), targets int64
/// class indices in [0, 10). Files are looked up in root, root/raw and root/<name>/raw (the
/// torchvision layout), named train-images-idx3-ubyte / t10k-images-idx3-ubyte (also with '.'
/// before idx) and the matching labels files, each raw or with ".gz".
///
/// The whole split is converted to float32 once at construction (188 MB for 60,000 training
/// images), so that batches are plain memcpys.
class IdxClassificationDataset : public TensorDataset {
 public:
  /// `name` is used in messages and for the root/<name>/raw layout; `hint` is appended to the
  /// message when the directory or a file is missing.
  IdxClassificationDataset(const std::string& name, const std::string& root, bool train, const std::string& hint);

  const std::string& images_path() const { return images_path_; }
  const std::string& labels_path() const { return labels_path_; }

 private:
  /// The located and validated files of one split.
  struct Loaded {
    std::string images_path, labels_path;
    Tensor images, labels;
  };
  static Loaded load(const std::string& name, const std::string& root, bool train, const std::string& hint);
  explicit IdxClassificationDataset(Loaded loaded);
  std::string images_path_;
  std::string labels_path_;
};

/// Fashion-MNIST (Zalando): 60,000 training and 10,000 test images of 10 clothing classes.
class FashionMNIST : public IdxClassificationDataset {
 public:
  /// Where the Debian package dataset-fashion-mnist installs the four .gz files.
  static constexpr const char* kDefaultRoot = "/usr/share/datasets/fashion-mnist";
  /// The test split when `train` is false. IOError with an install hint when files are missing.
  explicit FashionMNIST(const std::string& root = kDefaultRoot, bool train = true);
  /// "T-shirt/top", "Trouser", ..., "Ankle boot" (index = label).
  static const std::vector<std::string>& classes();
};

/// MNIST handwritten digits. Debian ships no MNIST package, so there is no default root.
class MNIST : public IdxClassificationDataset {
 public:
  MNIST(const std::string& root, bool train = true);
  /// "0" ... "9".
  static const std::vector<std::string>& classes();
};

}  // namespace shrink::data
