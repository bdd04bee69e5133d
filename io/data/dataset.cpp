#include "io/data/dataset.h"

#include <array>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "autograd/kernels/parallel.h"
#include "io/data/idx.h"

namespace shrink::data {
namespace {

Shape tail(const Shape& s) { return Shape(s.begin() + 1, s.end()); }

Shape with_batch(std::int64_t b, const Shape& sample) {
  Shape s{b};
  s.insert(s.end(), sample.begin(), sample.end());
  return s;
}

/// Copies row `index` of `src` ([N, ...]) to `dst` (row_bytes bytes).
void copy_row(const Tensor& src, std::int64_t index, std::size_t row_bytes, void* dst) {
  std::memcpy(dst, static_cast<const char*>(src.raw_data()) + static_cast<std::size_t>(index) * row_bytes, row_bytes);
}

std::size_t row_bytes(const Tensor& t) {
  return static_cast<std::size_t>(shape_numel(tail(t.shape()))) * element_size(t.dtype());
}

/// The first existing file among root{,/raw,/<name>/raw}/<base>{,.gz} for both spellings of base.
std::string find_file(const std::string& root, const std::string& name, const std::string& split,
                      const std::string& kind, const std::string& hint) {
  namespace fs = std::filesystem;
  const std::string dash = split + "-" + kind + "-idx" + (kind == "images" ? "3" : "1") + "-ubyte";
  const std::string dot = split + "-" + kind + ".idx" + (kind == "images" ? "3" : "1") + "-ubyte";
  for (const fs::path& dir : {fs::path(root), fs::path(root) / "raw", fs::path(root) / name / "raw"})
    for (const std::string& base : {dash, dot})
      for (const char* ext : {".gz", ""}) {
        std::error_code ec;
        const fs::path p = dir / (base + ext);
        if (fs::is_regular_file(p, ec)) return p.string();
      }
  throw IOError(name + ": '" + root + "': expected " + dash + " or " + dash +
                ".gz in it (or in raw/ or " + name + "/raw/), found neither" + hint);
}

}  // namespace

Batch Dataset::get_batch(const std::vector<std::int64_t>& indices) const {
  SHRINK_CHECK(!indices.empty(), "Dataset::get_batch: expected at least one index, got none");
  Batch batch;
  std::size_t data_bytes = 0, target_bytes = 0;
  for (std::size_t b = 0; b < indices.size(); ++b) {
    Example ex = get(indices[b]);
    if (b == 0) {
      batch.data = Tensor::empty(with_batch(static_cast<std::int64_t>(indices.size()), ex.data.shape()), ex.data.dtype());
      batch.targets =
          Tensor::empty(with_batch(static_cast<std::int64_t>(indices.size()), ex.target.shape()), ex.target.dtype());
      data_bytes = static_cast<std::size_t>(ex.data.numel()) * element_size(ex.data.dtype());
      target_bytes = static_cast<std::size_t>(ex.target.numel()) * element_size(ex.target.dtype());
    }
    SHRINK_CHECK_SHAPE(ex.data.shape() == tail(batch.data.shape()) && ex.data.dtype() == batch.data.dtype() &&
                           ex.target.shape() == tail(batch.targets.shape()) && ex.target.dtype() == batch.targets.dtype(),
                       "Dataset::get_batch: expected every sample like the first (data ", shape_str(tail(batch.data.shape())),
                       ", target ", shape_str(tail(batch.targets.shape())), "), got data ", shape_str(ex.data.shape()),
                       ", target ", shape_str(ex.target.shape()), " at index ", indices[b]);
    std::memcpy(static_cast<char*>(batch.data.raw_data()) + b * data_bytes, ex.data.raw_data(), data_bytes);
    std::memcpy(static_cast<char*>(batch.targets.raw_data()) + b * target_bytes, ex.target.raw_data(), target_bytes);
  }
  return batch;
}

TensorDataset::TensorDataset(Tensor data, Tensor targets) : data_(std::move(data)), targets_(std::move(targets)) {
  SHRINK_CHECK(data_.defined() && targets_.defined(), "TensorDataset: expected defined data and targets, got an undefined Tensor");
  SHRINK_CHECK_SHAPE(data_.dim() >= 1 && targets_.dim() >= 1 && data_.size(0) == targets_.size(0),
                     "TensorDataset: expected data and targets with the same first dimension, got ",
                     shape_str(data_.shape()), " and ", shape_str(targets_.shape()));
}

Example TensorDataset::get(std::int64_t index) const {
  SHRINK_CHECK_INDEX(index >= 0 && index < size(), "TensorDataset::get: expected an index in [0, ", size(), "), got ",
                     index);
  Example ex{Tensor::empty(tail(data_.shape()), data_.dtype()), Tensor::empty(tail(targets_.shape()), targets_.dtype())};
  copy_row(data_, index, row_bytes(data_), ex.data.raw_data());
  copy_row(targets_, index, row_bytes(targets_), ex.target.raw_data());
  return ex;
}

Batch TensorDataset::get_batch(const std::vector<std::int64_t>& indices) const {
  SHRINK_CHECK(!indices.empty(), "TensorDataset::get_batch: expected at least one index, got none");
  const auto b = static_cast<std::int64_t>(indices.size());
  Batch batch{Tensor::empty(with_batch(b, tail(data_.shape())), data_.dtype()),
              Tensor::empty(with_batch(b, tail(targets_.shape())), targets_.dtype())};
  const std::size_t data_row = row_bytes(data_), target_row = row_bytes(targets_);
  auto* data_out = static_cast<char*>(batch.data.raw_data());
  auto* target_out = static_cast<char*>(batch.targets.raw_data());
  for (std::size_t i = 0; i < indices.size(); ++i) {
    const std::int64_t index = indices[i];
    SHRINK_CHECK_INDEX(index >= 0 && index < size(), "TensorDataset::get_batch: expected indices in [0, ", size(),
                       "), got ", index);
    copy_row(data_, index, data_row, data_out + i * data_row);
    copy_row(targets_, index, target_row, target_out + i * target_row);
  }
  return batch;
}

IdxClassificationDataset::Loaded IdxClassificationDataset::load(const std::string& name, const std::string& root,
                                                                bool train, const std::string& hint) {
  std::error_code ec;
  if (!std::filesystem::is_directory(root, ec)) {
    const bool exists = std::filesystem::exists(root, ec);
    throw IOError(name + ": '" + root + "': " + (exists ? "expected a directory, got a file" : "no such directory") + hint);
  }
  const std::string split = train ? "train" : "t10k";
  Loaded out;
  out.images_path = find_file(root, name, split, "images", hint);
  out.labels_path = find_file(root, name, split, "labels", hint);
  const Tensor pixels = read_idx_images(out.images_path);
  out.labels = read_idx_labels(out.labels_path);
  const std::int64_t n = pixels.size(0);
  if (pixels.size(1) != 28 || pixels.size(2) != 28)
    throw IOError(name + ": '" + out.images_path + "': expected 28x28 images, got " + std::to_string(pixels.size(1)) +
                  "x" + std::to_string(pixels.size(2)));
  if (out.labels.size(0) != n)
    throw IOError(name + ": expected as many labels as images, got " + std::to_string(n) + " images in '" +
                  out.images_path + "' and " + std::to_string(out.labels.size(0)) + " labels in '" + out.labels_path + "'");
  const std::int64_t* lab = out.labels.data<std::int64_t>();
  for (std::int64_t i = 0; i < n; ++i)
    if (lab[i] >= 10)
      throw IOError(name + ": '" + out.labels_path + "': expected labels in [0, 10), got " + std::to_string(lab[i]) +
                    " at index " + std::to_string(i));
  // x / 255 in float32, exactly like torchvision's ToTensor, through a 256-entry table.
  std::array<float, 256> scale{};
  for (int v = 0; v < 256; ++v) scale[v] = static_cast<float>(v) / 255.0f;
  out.images = Tensor::empty({n, 1, 28, 28});
  const std::uint8_t* src = pixels.data<std::uint8_t>();
  float* dst = out.images.data<float>();
  kernels::parallel_for(n * 784, 1 << 16, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) dst[i] = scale[src[i]];
  });
  return out;
}

IdxClassificationDataset::IdxClassificationDataset(Loaded loaded)
    : TensorDataset(loaded.images, loaded.labels),
      images_path_(std::move(loaded.images_path)),
      labels_path_(std::move(loaded.labels_path)) {}

IdxClassificationDataset::IdxClassificationDataset(const std::string& name, const std::string& root, bool train,
                                                   const std::string& hint)
    : IdxClassificationDataset(load(name, root, train, hint)) {}

FashionMNIST::FashionMNIST(const std::string& root, bool train)
    : IdxClassificationDataset(
          "FashionMNIST", root, train,
          " (Hint: install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist); it puts "
          "the files in " + std::string(kDefaultRoot) + ")") {}

const std::vector<std::string>& FashionMNIST::classes() {
  static const std::vector<std::string> names{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

MNIST::MNIST(const std::string& root, bool train)
    : IdxClassificationDataset("MNIST", root, train,
                               " (Hint: Debian ships no MNIST package; put the four idx files of MNIST, gzipped or "
                               "not, in this directory)") {}

const std::vector<std::string>& MNIST::classes() {
  static const std::vector<std::string> names{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  return names;
}

}  // namespace shrink::data
