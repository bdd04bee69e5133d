#include "io/data/transforms.h"

#include <algorithm>
#include <cstring>
#include <sstream>

#include "io/data/sampling.h"

namespace shrink::data {
namespace {

/// [B, C, H, W] sizes of an image batch (a [C, H, W] image counts as B = 1), validated.
struct Dims {
  std::int64_t b, c, h, w;
};

Dims image_dims(const Tensor& images, const char* where) {
  SHRINK_CHECK(images.defined(), where, ": expected images, got an undefined Tensor");
  SHRINK_CHECK_SHAPE(images.dim() == 3 || images.dim() == 4, where,
                     ": expected images [B, C, H, W] or [C, H, W], got ", shape_str(images.shape()));
  SHRINK_CHECK(images.dtype() == DType::Float32, where, ": expected float32 images, got ", dtype_name(images.dtype()));
  const Shape& s = images.shape();
  return images.dim() == 4 ? Dims{s[0], s[1], s[2], s[3]} : Dims{1, s[0], s[1], s[2]};
}

/// The output shape: the input's with H, W replaced.
Shape with_hw(const Tensor& images, std::int64_t h, std::int64_t w) {
  Shape s = images.shape();
  s[s.size() - 2] = h;
  s[s.size() - 1] = w;
  return s;
}

/// Crops one image [C, H, W] zero-padded by `pad` at (top, left) into dst [C, th, tw].
void crop_image(const float* src, float* dst, std::int64_t c, std::int64_t h, std::int64_t w, std::int64_t pad,
                std::int64_t top, std::int64_t left, std::int64_t th, std::int64_t tw) {
  // Output columns [x0, x1) come from source columns [x0 + left - pad, ...); the rest is padding.
  const std::int64_t x0 = std::clamp<std::int64_t>(pad - left, 0, tw);
  const std::int64_t x1 = std::clamp<std::int64_t>(w + pad - left, x0, tw);
  for (std::int64_t ch = 0; ch < c; ++ch)
    for (std::int64_t y = 0; y < th; ++y) {
      float* out = dst + (ch * th + y) * tw;
      const std::int64_t sy = y + top - pad;
      if (sy < 0 || sy >= h) {
        std::fill(out, out + tw, 0.0f);
        continue;
      }
      std::fill(out, out + x0, 0.0f);
      if (x1 > x0) std::memcpy(out + x0, src + (ch * h + sy) * w + (x0 + left - pad), sizeof(float) * (x1 - x0));
      std::fill(out + x1, out + tw, 0.0f);
    }
}

void flip_image(const float* src, float* dst, std::int64_t rows, std::int64_t w) {
  for (std::int64_t r = 0; r < rows; ++r)
    std::reverse_copy(src + r * w, src + (r + 1) * w, dst + r * w);
}

std::string float_list(const std::vector<float>& v) {
  std::ostringstream os;
  os << '[';
  for (std::size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
  os << ']';
  return os.str();
}

}  // namespace

Tensor normalize(const Tensor& images, const std::vector<float>& mean, const std::vector<float>& std) {
  const Dims d = image_dims(images, "normalize");
  auto per_channel = [&](const std::vector<float>& v, const char* what) {
    SHRINK_CHECK(v.size() == 1 || static_cast<std::int64_t>(v.size()) == d.c, "normalize: expected 1 or ", d.c, " ",
                 what, " values for ", d.c, " channels, got ", v.size());
  };
  per_channel(mean, "mean");
  per_channel(std, "std");
  Tensor out = Tensor::empty(images.shape());
  const float* src = images.data<float>();
  float* dst = out.data<float>();
  const std::int64_t plane = d.h * d.w;
  for (std::int64_t b = 0; b < d.b; ++b)
    for (std::int64_t c = 0; c < d.c; ++c) {
      const float m = mean[mean.size() == 1 ? 0 : c], s = std[std.size() == 1 ? 0 : c];
      const std::int64_t off = (b * d.c + c) * plane;
      // Subtract then divide, in float32: bit-identical to torchvision's sub_(mean).div_(std).
      for (std::int64_t i = 0; i < plane; ++i) dst[off + i] = (src[off + i] - m) / s;
    }
  return out;
}

Tensor pad_crop(const Tensor& images, std::int64_t padding, std::int64_t top, std::int64_t left, std::int64_t height,
                std::int64_t width) {
  const Dims d = image_dims(images, "pad_crop");
  SHRINK_CHECK(padding >= 0 && height > 0 && width > 0, "pad_crop: expected padding >= 0 and a positive size, got padding ",
               padding, " and size [", height, ", ", width, "]");
  SHRINK_CHECK_INDEX(top >= 0 && left >= 0 && top + height <= d.h + 2 * padding && left + width <= d.w + 2 * padding,
                     "pad_crop: expected the window [", top, ":", top + height, ", ", left, ":", left + width,
                     "] inside the padded image [", d.h + 2 * padding, ", ", d.w + 2 * padding, "]");
  Tensor out = Tensor::empty(with_hw(images, height, width));
  const float* src = images.data<float>();
  float* dst = out.data<float>();
  for (std::int64_t b = 0; b < d.b; ++b)
    crop_image(src + b * d.c * d.h * d.w, dst + b * d.c * height * width, d.c, d.h, d.w, padding, top, left, height, width);
  return out;
}

Tensor hflip(const Tensor& images) {
  const Dims d = image_dims(images, "hflip");
  Tensor out = Tensor::empty(images.shape());
  flip_image(images.data<float>(), out.data<float>(), d.b * d.c * d.h, d.w);
  return out;
}

Normalize::Normalize(std::vector<float> mean, std::vector<float> std) : mean_(std::move(mean)), std_(std::move(std)) {
  SHRINK_CHECK(!mean_.empty() && !std_.empty(), "Normalize: expected at least one mean and one std value, got ",
               mean_.size(), " and ", std_.size());
  for (std::size_t c = 0; c < std_.size(); ++c)
    SHRINK_CHECK(std_[c] != 0.0f, "Normalize: expected non-zero std values, got 0 at channel ", c,
                 " (Hint: a zero std divides by zero)");
}

Tensor Normalize::operator()(const Tensor& images, Generator&) const { return normalize(images, mean_, std_); }

std::string Normalize::repr() const { return "Normalize(mean=" + float_list(mean_) + ", std=" + float_list(std_) + ")"; }

RandomCrop::RandomCrop(std::int64_t size, std::int64_t padding) : RandomCrop({size, size}, padding) {}

RandomCrop::RandomCrop(std::array<std::int64_t, 2> size, std::int64_t padding)
    : height_(size[0]), width_(size[1]), padding_(padding) {
  SHRINK_CHECK(height_ > 0 && width_ > 0, "RandomCrop: expected a positive size, got [", height_, ", ", width_, "]");
  SHRINK_CHECK(padding_ >= 0, "RandomCrop: expected padding >= 0, got ", padding_);
}

Tensor RandomCrop::operator()(const Tensor& images, Generator& gen) const {
  const Dims d = image_dims(images, "RandomCrop");
  const std::int64_t ph = d.h + 2 * padding_, pw = d.w + 2 * padding_;
  SHRINK_CHECK_SHAPE(height_ <= ph && width_ <= pw, "RandomCrop: expected a crop size no larger than the padded image [",
                     ph, ", ", pw, "], got [", height_, ", ", width_, "]");
  Tensor out = Tensor::empty(with_hw(images, height_, width_));
  const float* src = images.data<float>();
  float* dst = out.data<float>();
  const bool fixed = ph == height_ && pw == width_;
  for (std::int64_t b = 0; b < d.b; ++b) {
    const std::int64_t top = fixed ? 0 : uniform_below(gen, ph - height_ + 1);
    const std::int64_t left = fixed ? 0 : uniform_below(gen, pw - width_ + 1);
    crop_image(src + b * d.c * d.h * d.w, dst + b * d.c * height_ * width_, d.c, d.h, d.w, padding_, top, left, height_,
               width_);
  }
  return out;
}

std::string RandomCrop::repr() const {
  return "RandomCrop(size=(" + std::to_string(height_) + ", " + std::to_string(width_) +
         "), padding=" + std::to_string(padding_) + ")";
}

RandomHorizontalFlip::RandomHorizontalFlip(double p) : p_(p) {
  SHRINK_CHECK(p >= 0.0 && p <= 1.0, "RandomHorizontalFlip: expected a probability in [0, 1], got ", p);
}

Tensor RandomHorizontalFlip::operator()(const Tensor& images, Generator& gen) const {
  const Dims d = image_dims(images, "RandomHorizontalFlip");
  Tensor out = Tensor::empty(images.shape());
  const std::int64_t n = d.c * d.h * d.w;
  const float* src = images.data<float>();
  float* dst = out.data<float>();
  for (std::int64_t b = 0; b < d.b; ++b) {
    if (gen.uniform() < p_)
      flip_image(src + b * n, dst + b * n, d.c * d.h, d.w);
    else
      std::memcpy(dst + b * n, src + b * n, sizeof(float) * n);
  }
  return out;
}

std::string RandomHorizontalFlip::repr() const {
  std::ostringstream os;
  os << "RandomHorizontalFlip(p=" << p_ << ")";
  return os.str();
}

Compose::Compose(std::vector<std::shared_ptr<const Transform>> transforms) : transforms_(std::move(transforms)) {
  for (std::size_t i = 0; i < transforms_.size(); ++i)
    SHRINK_CHECK(transforms_[i] != nullptr, "Compose: expected transforms, got a null pointer at position ", i);
}

Tensor Compose::operator()(const Tensor& images, Generator& gen) const {
  Tensor x = images;
  for (const auto& t : transforms_) x = (*t)(x, gen);
  return x;
}

std::string Compose::repr() const {
  std::string s = "Compose(\n";
  for (const auto& t : transforms_) s += "    " + t->repr() + "\n";
  return s + ")";
}

}  // namespace shrink::data
