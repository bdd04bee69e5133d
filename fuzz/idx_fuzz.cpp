// Fuzz target for idx files (MNIST / Fashion-MNIST images and labels, raw or gzipped): the input
// is loaded as the training images and as the test labels of an MNIST directory whose other
// file is generated to match, so read_idx_images, read_idx_labels and the dataset's own checks
// (28x28, label count, label range) all see it.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "io/data/dataset.h"
#include "tests/io/idx_files.h"

namespace {

/// The big-endian count of an idx header (0 when too short); at most `cap`.
std::uint32_t header_count(const std::uint8_t* data, std::size_t size, std::uint32_t cap) {
  if (size < 8) return 0;
  const std::uint32_t n = (std::uint32_t(data[4]) << 24) | (std::uint32_t(data[5]) << 16) |
                          (std::uint32_t(data[6]) << 8) | std::uint32_t(data[7]);
  return n <= cap ? n : 0;
}

void load_split(const std::string& root, bool train) {
  shrink::data::MNIST dataset(root, train);
  std::vector<std::int64_t> all;
  for (std::int64_t i = 0; i < dataset.size(); ++i) all.push_back(i);
  if (all.empty()) return;
  const shrink::data::Batch batch = dataset.get_batch(all);
  shrink::fuzz::consume(shrink::fuzz::digest(batch.data) + shrink::fuzz::digest(batch.targets));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace shrink;
  const std::string images = fuzz::write_input(data, size, "mnist/train-images-idx3-ubyte");
  fuzz::write_input(data, size, "mnist/t10k-labels-idx1-ubyte");
  const std::string root = images.substr(0, images.rfind('/'));
  const std::uint32_t n = header_count(data, size, 1024);
  testing::write_file(fuzz::input_path("mnist/train-labels-idx1-ubyte"),
                      testing::idx_labels(testing::pattern_labels(n)), false);
  const std::uint32_t m = header_count(data, size, 16);
  testing::write_file(fuzz::input_path("mnist/t10k-images-idx3-ubyte"),
                      testing::idx_images(m, 28, 28, testing::pattern_pixels(m)), false);
  fuzz::guard([&] { load_split(root, true); });
  fuzz::guard([&] { load_split(root, false); });
  return 0;
}
