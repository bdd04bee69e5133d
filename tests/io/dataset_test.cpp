#include "io/data/dataset.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <omp.h>

#include <filesystem>

#include "tests/support/errors.h"
#include "tests/io/idx_files.h"
#include "tests/io/temp_dir.h"
#include "tests/support/fixtures.h"

namespace shrink::data {
namespace {

using testing::TempDir;

using testing::error_of;

/// Writes the four idx files of a tiny split pair (3 training, 2 test images) into `dir`.
void write_split(const std::filesystem::path& dir, bool gzip, const std::string& sep = "-") {
  std::filesystem::create_directories(dir);
  const std::string ext = gzip ? ".gz" : "";
  testing::write_file((dir / ("train-images" + sep + "idx3-ubyte" + ext)).string(),
                      testing::idx_images(3, 28, 28, testing::pattern_pixels(3)), gzip);
  testing::write_file((dir / ("train-labels" + sep + "idx1-ubyte" + ext)).string(), testing::idx_labels({4, 0, 9}), gzip);
  testing::write_file((dir / ("t10k-images" + sep + "idx3-ubyte" + ext)).string(),
                      testing::idx_images(2, 28, 28, testing::pattern_pixels(2)), gzip);
  testing::write_file((dir / ("t10k-labels" + sep + "idx1-ubyte" + ext)).string(), testing::idx_labels({1, 2}), gzip);
}

/// A dataset without get_batch override: sample i is ([i, i + 0.5], label 2i).
class Counting : public Dataset {
 public:
  std::int64_t size() const override { return 5; }
  Example get(std::int64_t i) const override {
    if (i == 4) return {zeros({3}), scalar_tensor(0, DType::Int64)};  // deliberately inconsistent
    return {from_vector(std::vector<float>{float(i), float(i) + 0.5f}, {2}), scalar_tensor(double(2 * i), DType::Int64)};
  }
};

TEST(TensorDataset, GetsCopiesOfRows) {
  const Tensor data = arange(12).reshape({4, 3});
  const Tensor targets = from_vector(std::vector<std::int64_t>{7, 8, 9, 10}, {4});
  TensorDataset ds(data, targets);
  EXPECT_EQ(ds.size(), 4);
  Example ex = ds.get(2);
  EXPECT_EQ(ex.data.shape(), Shape{3});
  EXPECT_EQ(ex.data.to_vector(), (std::vector<float>{6, 7, 8}));
  EXPECT_EQ(ex.target.shape(), Shape{});
  EXPECT_EQ(ex.target.item<std::int64_t>(), 9);
  ex.data.data<float>()[0] = -1;  // the sample does not alias the dataset
  EXPECT_EQ(data.at({2, 0}), 6.0);
}

TEST(TensorDataset, GathersBatchesInIndexOrder) {
  TensorDataset ds(arange(24).reshape({4, 2, 3}), from_vector(std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7}, {4, 2}));
  const Batch b = ds.get_batch({3, 0, 3});
  EXPECT_EQ(b.data.shape(), (Shape{3, 2, 3}));
  EXPECT_EQ(b.targets.shape(), (Shape{3, 2}));
  EXPECT_EQ(b.data.at({0, 1, 2}), 23.0);
  EXPECT_EQ(b.data.at({1, 0, 0}), 0.0);
  EXPECT_EQ(b.data.at({2, 0, 1}), 19.0);
  EXPECT_EQ(b.targets.to_vector(), (std::vector<float>{6, 7, 0, 1, 6, 7}));
}

TEST(TensorDataset, ErrorsNameShapesAndIndices) {
  EXPECT_EQ(error_of<ShapeError>([] { TensorDataset(zeros({10, 3}), zeros({9})); }),
            "TensorDataset: expected data and targets with the same first dimension, got [10, 3] and [9]");
  EXPECT_EQ(error_of<ShapeError>([] { TensorDataset(scalar_tensor(1), scalar_tensor(1)); }),
            "TensorDataset: expected data and targets with the same first dimension, got [] and []");
  EXPECT_EQ(error_of<ValueError>([] { TensorDataset(Tensor(), zeros({1})); }),
            "TensorDataset: expected defined data and targets, got an undefined Tensor");
  TensorDataset ds(zeros({4, 2}), zeros({4}));
  EXPECT_EQ(error_of<IndexError>([&] { ds.get(4); }), "TensorDataset::get: expected an index in [0, 4), got 4");
  EXPECT_EQ(error_of<IndexError>([&] { ds.get(-1); }), "TensorDataset::get: expected an index in [0, 4), got -1");
  EXPECT_EQ(error_of<IndexError>([&] { ds.get_batch({0, 7}); }),
            "TensorDataset::get_batch: expected indices in [0, 4), got 7");
  EXPECT_EQ(error_of<ValueError>([&] { ds.get_batch({}); }),
            "TensorDataset::get_batch: expected at least one index, got none");
}

TEST(Dataset, DefaultGetBatchStacksSamples) {
  Counting ds;
  const Batch b = ds.get_batch({3, 1});
  EXPECT_EQ(b.data.shape(), (Shape{2, 2}));
  EXPECT_EQ(b.data.to_vector(), (std::vector<float>{3, 3.5f, 1, 1.5f}));
  EXPECT_EQ(b.targets.dtype(), DType::Int64);
  EXPECT_EQ(b.targets.to_vector(), (std::vector<float>{6, 2}));
  EXPECT_EQ(error_of<ShapeError>([&] { ds.get_batch({0, 4}); }),
            "Dataset::get_batch: expected every sample like the first (data [2], target []), got data [3], target [] "
            "at index 4");
  EXPECT_EQ(error_of<ValueError>([&] { ds.get_batch({}); }), "Dataset::get_batch: expected at least one index, got none");
}

TEST(IdxDatasets, ReadsBothSplitsScaledToUnitRange) {
  TempDir dir;
  write_split(dir.path(), true);
  MNIST train(dir.path().string(), true);
  MNIST test(dir.path().string(), false);
  EXPECT_EQ(train.size(), 3);
  EXPECT_EQ(test.size(), 2);
  const Example ex = train.get(2);
  EXPECT_EQ(ex.data.shape(), (Shape{1, 28, 28}));
  EXPECT_EQ(ex.data.dtype(), DType::Float32);
  EXPECT_EQ(ex.target.dtype(), DType::Int64);
  EXPECT_EQ(ex.target.item<std::int64_t>(), 9);
  // pixel k of image 2 is (62 + k) % 256; scaled exactly like torchvision: float(v) / 255.
  EXPECT_EQ(ex.data.at({0, 0, 0}), double(62.0f / 255.0f));
  EXPECT_EQ(ex.data.at({0, 6, 25}), 1.0);  // k = 193: 255
  EXPECT_EQ(ex.data.at({0, 6, 26}), 0.0);  // k = 194: 0
  EXPECT_EQ(train.images_path(), dir.file("train-images-idx3-ubyte.gz"));
  EXPECT_EQ(test.labels_path(), dir.file("t10k-labels-idx1-ubyte.gz"));
  EXPECT_EQ(test.targets().to_vector(), (std::vector<float>{1, 2}));
}

TEST(IdxDatasets, FindsTorchvisionLayoutsAndRawFiles) {
  TempDir dir;
  write_split(dir.path() / "MNIST" / "raw", false);
  MNIST a(dir.path().string(), true);
  EXPECT_EQ(a.images_path(), (dir.path() / "MNIST" / "raw" / "train-images-idx3-ubyte").string());
  TempDir dir2;
  write_split(dir2.path() / "raw", true, ".");
  FashionMNIST b(dir2.path().string(), false);
  EXPECT_EQ(b.labels_path(), (dir2.path() / "raw" / "t10k-labels.idx1-ubyte.gz").string());
  EXPECT_EQ(b.size(), 2);
}

TEST(IdxDatasets, MissingDirectoryGivesTheInstallHint) {
  const std::string root = "/nonexistent/fashion";
  EXPECT_EQ(error_of<IOError>([&] { FashionMNIST(root, true); }),
            "FashionMNIST: '/nonexistent/fashion': no such directory (Hint: install the Debian package "
            "dataset-fashion-mnist (apt-get install dataset-fashion-mnist); it puts the files in "
            "/usr/share/datasets/fashion-mnist)");
  EXPECT_EQ(error_of<IOError>([&] { MNIST("/nonexistent/mnist"); }),
            "MNIST: '/nonexistent/mnist': no such directory (Hint: Debian ships no MNIST package; put the four idx "
            "files of MNIST, gzipped or not, in this directory)");
}

TEST(IdxDatasets, MissingFilesAndFileRootsAreIOErrors) {
  TempDir dir;
  EXPECT_EQ(error_of<IOError>([&] { MNIST(dir.path().string(), false); }),
            "MNIST: '" + dir.path().string() +
                "': expected t10k-images-idx3-ubyte or t10k-images-idx3-ubyte.gz in it (or in raw/ or MNIST/raw/), "
                "found neither (Hint: Debian ships no MNIST package; put the four idx files of MNIST, gzipped or not, in "
                "this directory)");
  const std::string file = dir.write_bytes("plain", "x");
  EXPECT_THAT(error_of<IOError>([&] { FashionMNIST(file, true); }),
              ::testing::StartsWith("FashionMNIST: '" + file + "': expected a directory, got a file (Hint: install"));
}

TEST(IdxDatasets, ImageLabelCountMismatchIsAnIOError) {
  TempDir dir;
  write_split(dir.path(), false);
  testing::write_file(dir.file("train-labels-idx1-ubyte"), testing::idx_labels({1, 2}), false);
  EXPECT_EQ(error_of<IOError>([&] { MNIST(dir.path().string()); }),
            "MNIST: expected as many labels as images, got 3 images in '" + dir.file("train-images-idx3-ubyte") +
                "' and 2 labels in '" + dir.file("train-labels-idx1-ubyte") + "'");
}

TEST(IdxDatasets, BadLabelsAndImageSizesAreIOErrors) {
  TempDir dir;
  write_split(dir.path(), false);
  testing::write_file(dir.file("train-labels-idx1-ubyte"), testing::idx_labels({1, 12, 3}), false);
  EXPECT_EQ(error_of<IOError>([&] { MNIST(dir.path().string()); }),
            "MNIST: '" + dir.file("train-labels-idx1-ubyte") + "': expected labels in [0, 10), got 12 at index 1");
  testing::write_file(dir.file("t10k-images-idx3-ubyte"), testing::idx_images(2, 32, 32, std::vector<std::uint8_t>(2048)),
                      false);
  EXPECT_EQ(error_of<IOError>([&] { MNIST(dir.path().string(), false); }),
            "MNIST: '" + dir.file("t10k-images-idx3-ubyte") + "': expected 28x28 images, got 32x32");
}

TEST(IdxDatasets, ConversionIsIdenticalOnOneAndTwoThreads) {
  TempDir dir;
  write_split(dir.path(), false);  // then a training split large enough to be split across threads
  testing::write_file(dir.file("train-images-idx3-ubyte"), testing::idx_images(300, 28, 28, testing::pattern_pixels(300)),
                      false);
  testing::write_file(dir.file("train-labels-idx1-ubyte"), testing::idx_labels(testing::pattern_labels(300)), false);
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const MNIST one(dir.path().string());
  omp_set_num_threads(2);
  const MNIST two(dir.path().string());
  omp_set_num_threads(threads);
  EXPECT_TRUE(testing::tensors_identical(one.data(), two.data()));
  EXPECT_EQ(one.data().at({299, 0, 27, 27}), double(float((299 * 31 + 783) % 256) / 255.0f));
}

TEST(IdxDatasets, ClassNames) {
  EXPECT_EQ(FashionMNIST::classes().size(), 10u);
  EXPECT_EQ(FashionMNIST::classes()[9], "Ankle boot");
  EXPECT_EQ(MNIST::classes()[3], "3");
}

bool fashion_mnist_installed() {
  return std::filesystem::exists(std::string(FashionMNIST::kDefaultRoot) + "/t10k-images-idx3-ubyte.gz");
}

TEST(FashionMNISTInstalled, TestSetHasTenThousandKnownImages) {
  if (!fashion_mnist_installed()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  FashionMNIST test(FashionMNIST::kDefaultRoot, false);
  ASSERT_EQ(test.size(), 10000);
  EXPECT_EQ(test.data().shape(), (Shape{10000, 1, 28, 28}));
  // Values computed with numpy from the same files (uint8 / float32(255)).
  const std::vector<float> labels = test.targets().to_vector();
  EXPECT_EQ(std::vector<float>(labels.begin(), labels.begin() + 10), (std::vector<float>{9, 2, 1, 1, 6, 1, 4, 6, 5, 7}));
  std::vector<int> counts(10, 0);
  for (float l : labels) counts[static_cast<int>(l)]++;
  EXPECT_EQ(counts, std::vector<int>(10, 1000));
  const float* px = test.data().data<float>();
  double sum = 0;
  float lo = 1, hi = 0;
  for (std::int64_t i = 0; i < test.data().numel(); ++i) {
    sum += px[i];
    lo = std::min(lo, px[i]);
    hi = std::max(hi, px[i]);
  }
  EXPECT_EQ(lo, 0.0f);
  EXPECT_EQ(hi, 1.0f);
  EXPECT_NEAR(sum / double(test.data().numel()), 0.28684928596725223, 1e-9);
  EXPECT_EQ(test.get(0).data.at({0, 14, 12}), double(98.0f / 255.0f));
}

TEST(FashionMNISTInstalled, TrainingSetHasSixtyThousandImages) {
  if (!fashion_mnist_installed()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  FashionMNIST train;
  ASSERT_EQ(train.size(), 60000);
  EXPECT_EQ(train.get(0).target.item<std::int64_t>(), 9);
  EXPECT_EQ(train.get(3).target.item<std::int64_t>(), 3);
}

}  // namespace
}  // namespace shrink::data
