#include "io/quantized_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>

#include "autograd/generator.h"
#include "compression/quantization/observers.h"
#include "io/hdf5_file.h"
#include "io/shrink_file.h"
#include "io/state_dict_file.h"
#include "nn/models/registry.h"
#include "tests/io/quantized_testing.h"
#include "tests/io/temp_dir.h"
#include "tests/support/errors.h"
#include "tests/support/fixtures.h"

namespace shrink::io {
namespace {

using compression::MinMaxObserver;
using compression::ObserverOptions;
using compression::QParams;
using compression::QuantRange;
using compression::QuantScheme;
using testing::error_of;
using testing::small_valid_quantized;
using testing::TempDir;

/// Quantizes `w` with min-max qparams (8 bits).
QuantizedTensor quantized(const std::string& name, const Tensor& w, QuantRange range, QuantScheme scheme,
                          std::int64_t axis, DType dtype) {
  MinMaxObserver obs(ObserverOptions{range, scheme, axis});
  obs.observe(w);
  const QParams p = obs.qparams();
  return quantize(name, w, p.scale, p.zero_point, axis, 8, range.qmin, range.qmax, dtype);
}

/// Per channel and per tensor, int8 and uint8, a float and an int64 zero point, and the
/// unquantized rest (a bias and a 0-d int64).
QuantizedFile sample_file() {
  Generator gen(3);
  QuantizedFile f;
  f.quantized.push_back(quantized("conv.weight", randn({4, 2, 3, 3}, &gen), QuantRange::of(8, true),
                                  QuantScheme::Symmetric, 0, DType::Int8));
  f.quantized.push_back(
      quantized("fc.weight", randn({5, 6}, &gen), QuantRange::of(8, false), QuantScheme::Affine, -1, DType::UInt8));
  f.quantized.push_back(
      quantized("fc2.weight", randn({3, 4}, &gen), QuantRange::of(8, false), QuantScheme::Affine, 1, DType::UInt8));
  QuantizedTensor t = quantized("emb.weight", randn({7, 2}, &gen), QuantRange::of(8, true), QuantScheme::Affine, -1,
                                DType::Int8);
  t.zero_point = t.zero_point.to(DType::Int64);
  f.quantized.push_back(t);
  f.unquantized.insert("conv.bias", randn({4}, &gen));
  f.unquantized.insert("bn.num_batches_tracked", from_vector(std::vector<std::int64_t>{9}, {}).view_as_shape({}));
  return f;
}

void expect_same(const QuantizedFile& got, const QuantizedFile& expected) {
  ASSERT_EQ(got.quantized.size(), expected.quantized.size());
  for (std::size_t i = 0; i < expected.quantized.size(); ++i) {
    const QuantizedTensor &g = got.quantized[i], &e = expected.quantized[i];
    EXPECT_EQ(g.name, e.name);
    EXPECT_EQ(g.axis, e.axis) << e.name;
    EXPECT_EQ(g.bits, e.bits) << e.name;
    EXPECT_EQ(g.qmin, e.qmin) << e.name;
    EXPECT_EQ(g.qmax, e.qmax) << e.name;
    for (const auto& [a, b] : {std::pair{&g.data, &e.data}, {&g.scale, &e.scale}, {&g.zero_point, &e.zero_point}})
      EXPECT_TRUE(testing::tensors_identical(*a, *b)) << e.name;
    EXPECT_TRUE(testing::tensors_identical(dequantize(g), dequantize(e))) << e.name;
  }
  ASSERT_EQ(got.unquantized.keys(), expected.unquantized.keys());
  for (const auto& [key, t] : expected.unquantized)
    EXPECT_TRUE(testing::tensors_identical(got.unquantized.at(key), t)) << key;
}

TEST(QuantizedFile, RoundTripsPerTensorAndPerChannelInt8AndUint8) {
  TempDir dir;
  const std::string path = dir.file("q.h5");
  const QuantizedFile f = sample_file();
  save_quantized(path, f);
  const QuantizedFile back = load_quantized_file(path);
  expect_same(back, f);
  EXPECT_EQ(back.quantized[0].data.dtype(), DType::Int8);
  EXPECT_EQ(back.quantized[1].data.dtype(), DType::UInt8);
  EXPECT_EQ(back.quantized[3].zero_point.dtype(), DType::Int64);
  EXPECT_EQ(back.unquantized.at("bn.num_batches_tracked").dim(), 0);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"q.h5"});
}

TEST(QuantizedFile, WritesTheDocumentedLayout) {
  TempDir dir;
  const std::string path = dir.file("q.h5");
  save_quantized(path, sample_file());
  const H5File file = H5File::open_read(path, "test");
  EXPECT_EQ(file.string_attr("", "format"), "shrink.quantized");
  EXPECT_EQ(file.int_attr("", "format_version"), 1);
  EXPECT_EQ(file.string_attr("", "producer"), "shrink 0.1.0");
  EXPECT_EQ(file.names()[0], "conv.weight");
  EXPECT_EQ(file.names()[1], "conv.weight.scale");
  EXPECT_EQ(file.names()[2], "conv.weight.zero_point");
  EXPECT_EQ(file.names().size(), 4u * 3 + 2);
  EXPECT_EQ(file.dataset_info("conv.weight").type_name, "int8");
  EXPECT_EQ(file.dataset_info("conv.weight").shape, (Shape{4, 2, 3, 3}));
  EXPECT_EQ(file.dataset_info("conv.weight.scale").type_name, "float32");
  EXPECT_EQ(file.dataset_info("conv.weight.scale").shape, (Shape{4}));
  EXPECT_EQ(file.dataset_info("conv.weight.zero_point").type_name, "float32");
  EXPECT_EQ(file.dataset_info("fc.weight.scale").shape, (Shape{1}));
  EXPECT_EQ(file.dataset_info("fc2.weight.scale").shape, (Shape{4}));
  EXPECT_EQ(file.dataset_info("emb.weight.zero_point").type_name, "int64");
  EXPECT_EQ(file.int_attr("conv.weight", "axis"), 0);
  EXPECT_EQ(file.int_attr("fc.weight", "axis"), -1);
  EXPECT_EQ(file.int_attr("fc.weight", "bits"), 8);
  EXPECT_EQ(file.int_attr("fc.weight", "qmin"), 0);
  EXPECT_EQ(file.int_attr("fc.weight", "qmax"), 255);
  EXPECT_EQ(file.int_attr("conv.weight", "qmin"), -128);
}

TEST(QuantizedFile, Int8VggSmallIsAtMost30PercentOfTheFloat32WeightsFile) {
  TempDir dir;
  manual_seed(0);
  const StateDict sd = models::create("vgg_small")->state_dict();
  QuantizedFile f;
  for (const auto& [key, t] : sd) {
    if (t.dtype() == DType::Float32 && t.dim() >= 2)
      f.quantized.push_back(quantized(key, t, QuantRange::of(8, true), QuantScheme::Symmetric, 0, DType::Int8));
    else
      f.unquantized.insert(key, t);
  }
  ASSERT_GE(f.quantized.size(), 5u);
  save_state_dict(sd, dir.file("float.h5"));
  save_quantized(dir.file("int8.h5"), f);
  const double ratio = static_cast<double>(std::filesystem::file_size(dir.file("int8.h5"))) /
                       static_cast<double>(std::filesystem::file_size(dir.file("float.h5")));
  std::cout << "vgg_small int8 per-channel / float32: " << std::filesystem::file_size(dir.file("int8.h5")) << " / "
            << std::filesystem::file_size(dir.file("float.h5")) << " bytes = " << ratio << "\n";
  EXPECT_LE(ratio, 0.30);
  EXPECT_GT(ratio, 0.0);
}

// ---- errors ------------------------------------------------------------------------------------

/// What to leave out when writing a tensor by hand.
struct Omit {
  bool scale = false;
  bool bits = false;
};

/// Writes `q` like save_quantized does, without any validation (plus `extra` datasets).
std::string write_unchecked(const TempDir& dir, const QuantizedTensor& q, Omit omit = {},
                            const StateDict& extra = StateDict()) {
  const std::string path = dir.file("bad.h5");
  std::filesystem::remove(path);
  H5File file = H5File::create(path, "test");
  write_header(file, kQuantizedFormat);
  write_entry(file, q.name, q.data);
  file.set_int_attr(q.name, "axis", q.axis);
  if (!omit.bits) file.set_int_attr(q.name, "bits", q.bits);
  file.set_int_attr(q.name, "qmin", q.qmin);
  file.set_int_attr(q.name, "qmax", q.qmax);
  if (!omit.scale) write_entry(file, q.name + ".scale", q.scale);
  write_entry(file, q.name + ".zero_point", q.zero_point);
  for (const auto& [k, t] : extra) write_entry(file, k, t);
  file.close();
  return path;
}

std::string load_error(const std::string& path) {
  return error_of<IOError>([&] { load_quantized_file(path); });
}

TEST(QuantizedFile, TheHandWrittenValidFileLoads) {
  // The error cases below each break one thing of this file.
  TempDir dir;
  const QuantizedFile f = load_quantized_file(write_unchecked(dir, small_valid_quantized()));
  ASSERT_EQ(f.quantized.size(), 1u);
  EXPECT_EQ(dequantize(f.quantized[0]).to_vector(), (std::vector<float>{-63.5, 0, 1.25, 31.75, 2, -2}));
}

TEST(QuantizedFile, WrongFormatIsRefusedWithAHint) {
  TempDir dir;
  const std::string weights = dir.file("w.h5");
  save_state_dict(sample_file().unquantized, weights);
  EXPECT_EQ(load_error(weights), "load_quantized_file: '" + weights +
                                     "': expected format 'shrink.quantized', got 'shrink.state_dict' (Hint: this is a "
                                     "weights file; read it with nn::load_weights or io::load_state_dict)");
  const std::string quant = dir.file("q.h5");
  save_quantized(quant, sample_file());
  EXPECT_EQ(error_of<IOError>([&] { load_state_dict(quant); }),
            "load_state_dict: '" + quant +
                "': expected format 'shrink.state_dict', got 'shrink.quantized' (Hint: this is a quantized export; "
                "read it with io::load_quantized_file)");
}

TEST(QuantizedFile, ScaleShapeMismatchIsRefused) {
  TempDir dir;
  QuantizedTensor q = small_valid_quantized();
  q.scale = from_vector(std::vector<float>{0.5f, 0.25f}, {2});
  const std::string path = write_unchecked(dir, q);
  EXPECT_EQ(load_error(path), "load_quantized_file: '" + path +
                                  "': quantized tensor 'fc.weight': scale: expected shape [3] (the size of axis 0 of "
                                  "data [3, 2]), got [2]");
}

TEST(QuantizedFile, ValueOutsideTheGridIsRefused) {
  TempDir dir;
  QuantizedTensor q = small_valid_quantized();
  q.data.set({2, 1}, -128);
  const std::string path = write_unchecked(dir, q);
  EXPECT_EQ(load_error(path), "load_quantized_file: '" + path +
                                  "': quantized tensor 'fc.weight': data: expected values within [qmin, qmax] = "
                                  "[-127, 127], got -128 at flat index 5");
}

TEST(QuantizedFile, NonIntegralZeroPointIsRefused) {
  TempDir dir;
  QuantizedTensor q = small_valid_quantized();
  q.zero_point.set({1}, 1.25);
  const std::string path = write_unchecked(dir, q);
  EXPECT_EQ(load_error(path), "load_quantized_file: '" + path +
                                  "': quantized tensor 'fc.weight': zero_point: expected whole numbers, got 1.25 for "
                                  "channel 1");
}

TEST(QuantizedFile, MissingScaleCompanionIsRefused) {
  TempDir dir;
  const std::string path = write_unchecked(dir, small_valid_quantized(), Omit{.scale = true});
  EXPECT_EQ(load_error(path), "load_quantized_file: '" + path +
                                  "': quantized tensor 'fc.weight': expected a dataset 'fc.weight.scale' (its scale), "
                                  "got none");
}

TEST(QuantizedFile, NegativeScaleIsRefused) {
  TempDir dir;
  QuantizedTensor q = small_valid_quantized();
  q.scale.set({2}, -2.0);
  const std::string path = write_unchecked(dir, q);
  EXPECT_EQ(load_error(path), "load_quantized_file: '" + path +
                                  "': quantized tensor 'fc.weight': scale: expected finite values > 0, got -2 for "
                                  "channel 2");
}

TEST(QuantizedFile, MissingAttributeAndFloatDataAreRefused) {
  TempDir dir;
  std::string path = write_unchecked(dir, small_valid_quantized(), Omit{.bits = true});
  EXPECT_EQ(load_error(path), "load_quantized_file: '" + path +
                                  "': quantized tensor 'fc.weight': expected the attributes axis, bits, qmin, qmax, "
                                  "got no 'bits'");
  QuantizedTensor q = small_valid_quantized();
  q.data = q.data.to(DType::Float32);
  path = write_unchecked(dir, q);
  EXPECT_EQ(load_error(path),
            "load_quantized_file: '" + path + "': quantized tensor 'fc.weight': data: expected int8 or uint8, got float32");
}

TEST(QuantizedFile, ACompanionOfAnUnquantizedTensorIsRefused) {
  TempDir dir;
  StateDict extra;
  extra.insert("fc.bias", zeros({3}));
  extra.insert("fc.bias.scale", ones({1}));
  const std::string path = write_unchecked(dir, small_valid_quantized(), {}, extra);
  EXPECT_EQ(load_error(path), "load_quantized_file: '" + path +
                                  "': dataset 'fc.bias.scale': expected 'fc.bias' to be a quantized tensor (it is "
                                  "named like its companion), got 'fc.bias' without the attributes axis, bits, qmin, "
                                  "qmax");
}

TEST(QuantizedFile, AnUnquantizedTensorNamedLikeAScaleWithoutItsBaseLoads) {
  // An LSQ module's learned `scale` parameter is "layer.scale": no dataset "layer", no companion.
  TempDir dir;
  StateDict extra;
  extra.insert("layer.scale", ones({1}));
  const QuantizedFile f = load_quantized_file(write_unchecked(dir, small_valid_quantized(), {}, extra));
  EXPECT_EQ(f.unquantized.keys(), std::vector<std::string>{"layer.scale"});
}

TEST(QuantizedFile, TheWriterRefusesWhatTheReaderRefusesAndLeavesNoFile) {
  TempDir dir;
  const std::string path = dir.file("q.h5");
  QuantizedFile f;
  f.quantized.push_back(small_valid_quantized());
  f.quantized[0].scale.set({0}, -0.5);
  EXPECT_EQ(error_of<ValueError>([&] { save_quantized(path, f); }),
            "save_quantized: '" + path +
                "': quantized tensor 'fc.weight': scale: expected finite values > 0, got -0.5 for channel 0");
  f.quantized[0] = small_valid_quantized();
  f.quantized.push_back(small_valid_quantized());
  EXPECT_EQ(error_of<ValueError>([&] { save_quantized(path, f); }),
            "save_quantized: '" + path +
                "': expected unique dataset names, got 'fc.weight' for both quantized tensor 'fc.weight' and "
                "quantized tensor 'fc.weight'");
  f.quantized.pop_back();
  f.unquantized.insert("fc.weight.zero_point", zeros({3}));
  EXPECT_EQ(error_of<ValueError>([&] { save_quantized(path, f); }),
            "save_quantized: '" + path +
                "': expected unique dataset names, got 'fc.weight.zero_point' for both the zero point of 'fc.weight' "
                "and unquantized tensor 'fc.weight.zero_point'");
  f.unquantized = StateDict();
  f.unquantized.insert("fc.bias", zeros({3}));
  f.unquantized.insert("fc.bias.scale", zeros({1}));
  EXPECT_EQ(error_of<ValueError>([&] { save_quantized(path, f); }),
            "save_quantized: '" + path +
                "': unquantized tensor 'fc.bias.scale': expected no tensor named like a companion of the unquantized "
                "tensor 'fc.bias' (Hint: quantize 'fc.bias' or rename one of them)");
  f.unquantized = StateDict();
  f.quantized[0].name = "a/b";
  EXPECT_EQ(error_of<ValueError>([&] { save_quantized(path, f); }),
            "save_quantized: '" + path +
                "': expected names that are non-empty, not '.' and without '/', got 'a/b' (quantized tensor 'a/b')");
  EXPECT_TRUE(dir.entries().empty());
}

}  // namespace
}  // namespace shrink::io
