#include "io/quantized_tensor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "autograd/generator.h"
#include "compression/quantization/fake_quant.h"
#include "compression/quantization/observers.h"
#include "tests/io/quantized_testing.h"
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

/// Observed qparams of `w`, with the scale shrunk by `shrink` so that some values clamp.
QParams observed(const Tensor& w, QuantRange range, QuantScheme scheme, std::int64_t axis, float shrink = 1.0f) {
  MinMaxObserver obs(ObserverOptions{range, scheme, axis});
  obs.observe(w);
  QParams q = obs.qparams();
  q.scale.mul_(shrink);
  return q;
}

QuantizedTensor quantize_with(const std::string& name, const Tensor& w, const QParams& p, DType dtype) {
  return quantize(name, w, p.scale, p.zero_point, p.axis, 8, p.range.qmin, p.range.qmax, dtype);
}

std::string dequantize_error(const QuantizedTensor& q) {
  return error_of<ValueError>([&] { dequantize(q); });
}

TEST(QuantizedTensor, DequantizeIsTheFakeQuantizedWeightPerChannelBitForBit) {
  Generator gen(5);
  const Tensor w = randn({16, 3, 3, 3}, &gen);
  for (const auto& [range, scheme, dtype] :
       {std::tuple{QuantRange::of(8, true), QuantScheme::Symmetric, DType::Int8},
        std::tuple{QuantRange::of(8, false), QuantScheme::Affine, DType::UInt8},
        std::tuple{QuantRange::of(4, true), QuantScheme::Affine, DType::Int8}}) {
    for (const float shrink : {1.0f, 0.4f}) {  // 0.4: many values clamp at qmin / qmax
      const QParams p = observed(w, range, scheme, 0, shrink);
      const QuantizedTensor q = quantize_with("conv.weight", w, p, dtype);
      const Tensor fq = compression::fake_quantize_per_channel(w, p.scale, p.zero_point, 0, range.qmin, range.qmax);
      EXPECT_TRUE(testing::tensors_identical(dequantize(q), fq)) << range.qmin << " " << shrink;
    }
  }
}

TEST(QuantizedTensor, DequantizeIsTheFakeQuantizedWeightPerTensorAndAlongAnInnerAxis) {
  Generator gen(6);
  const Tensor w = randn({4, 6, 5}, &gen);
  const QParams p = observed(w, QuantRange::of(8, false), QuantScheme::Affine, -1, 0.7f);
  const QuantizedTensor q = quantize_with("w", w, p, DType::UInt8);
  const Tensor fq = compression::fake_quantize_per_tensor(w, p.scale.item<float>(),
                                                          static_cast<std::int64_t>(p.zero_point.item<float>()),
                                                          p.range.qmin, p.range.qmax);
  EXPECT_TRUE(testing::tensors_identical(dequantize(q), fq));
  const QParams pc = observed(w, QuantRange::of(8, true), QuantScheme::Affine, 1, 0.7f);
  const QuantizedTensor qc = quantize_with("w", w, pc, DType::Int8);
  EXPECT_TRUE(testing::tensors_identical(
      dequantize(qc), compression::fake_quantize_per_channel(w, pc.scale, pc.zero_point, 1, -128, 127)));
}

TEST(QuantizedTensor, QuantizeRoundsHalfToEvenAndClampsLikeFakeQuant) {
  const Tensor x = from_vector(std::vector<float>{0.5f, 1.5f, 2.5f, -0.5f, 100.0f, -100.0f}, {6});
  const QuantizedTensor q = quantize("x", x, from_vector(std::vector<float>{1.0f}, {1}),
                                     from_vector(std::vector<std::int64_t>{3}, {1}), -1, 4, 0, 15, DType::UInt8);
  EXPECT_EQ(q.data.to_vector(), (std::vector<float>{3, 5, 5, 3, 15, 0}));
  EXPECT_EQ(dequantize(q).to_vector(), (std::vector<float>{0, 2, 2, 0, 12, -3}));
}

TEST(QuantizedTensor, AnInt64ZeroPointDequantizesLikeAFloatOne) {
  QuantizedTensor q = small_valid_quantized();
  q.zero_point = from_vector(std::vector<float>{1.0f, -2.0f, 3.0f}, {3});
  const Tensor as_float = dequantize(q);
  q.zero_point = from_vector(std::vector<std::int64_t>{1, -2, 3}, {3});
  EXPECT_TRUE(testing::tensors_identical(dequantize(q), as_float));
  EXPECT_EQ(as_float.to_vector(), (std::vector<float>{-64, -0.5, 1.75, 32.25, -4, -8}));
}

TEST(QuantizedTensor, ValueOutsideTheGridIsRefused) {
  QuantizedTensor q = small_valid_quantized();
  q.data.set({0, 0}, -128);
  EXPECT_EQ(dequantize_error(q),
            "dequantize: 'fc.weight': data: expected values within [qmin, qmax] = [-127, 127], got -128 at flat index 0");
}

TEST(QuantizedTensor, NonIntegralZeroPointIsRefused) {
  QuantizedTensor q = small_valid_quantized();
  q.zero_point.set({2}, 0.5);
  EXPECT_EQ(dequantize_error(q), "dequantize: 'fc.weight': zero_point: expected whole numbers, got 0.5 for channel 2");
  q.zero_point.set({2}, std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(dequantize_error(q), "dequantize: 'fc.weight': zero_point: expected whole numbers, got nan for channel 2");
}

TEST(QuantizedTensor, ZeroPointOffTheGridIsRefused) {
  QuantizedTensor q = small_valid_quantized();
  q.zero_point = from_vector(std::vector<std::int64_t>{0, 128, 0}, {3});
  EXPECT_EQ(dequantize_error(q),
            "dequantize: 'fc.weight': zero_point: expected values within [qmin, qmax] = [-127, 127], got 128 for "
            "channel 1");
}

TEST(QuantizedTensor, NegativeZeroOrInfiniteScaleIsRefused) {
  QuantizedTensor q = small_valid_quantized();
  q.scale.set({1}, -0.25);
  EXPECT_EQ(dequantize_error(q), "dequantize: 'fc.weight': scale: expected finite values > 0, got -0.25 for channel 1");
  q.scale.set({1}, 0.0);
  EXPECT_EQ(dequantize_error(q), "dequantize: 'fc.weight': scale: expected finite values > 0, got 0 for channel 1");
  q.scale.set({1}, std::numeric_limits<double>::infinity());
  EXPECT_EQ(dequantize_error(q), "dequantize: 'fc.weight': scale: expected finite values > 0, got inf for channel 1");
  QuantizedTensor t = small_valid_quantized();
  t.axis = -1;
  t.scale = from_vector(std::vector<float>{-1.0f}, {1});
  t.zero_point = from_vector(std::vector<float>{0.0f}, {1});
  EXPECT_EQ(dequantize_error(t), "dequantize: 'fc.weight': scale: expected finite values > 0, got -1");
}

TEST(QuantizedTensor, ScaleOrZeroPointShapeMustMatchTheAxis) {
  QuantizedTensor q = small_valid_quantized();
  q.scale = from_vector(std::vector<float>{0.5f, 0.25f}, {2});
  EXPECT_EQ(dequantize_error(q),
            "dequantize: 'fc.weight': scale: expected shape [3] (the size of axis 0 of data [3, 2]), got [2]");
  q = small_valid_quantized();
  q.axis = -1;
  EXPECT_EQ(dequantize_error(q), "dequantize: 'fc.weight': scale: expected shape [1] (per tensor), got [3]");
  q = small_valid_quantized();
  q.axis = 1;
  EXPECT_EQ(dequantize_error(q),
            "dequantize: 'fc.weight': scale: expected shape [2] (the size of axis 1 of data [3, 2]), got [3]");
  q = small_valid_quantized();
  q.zero_point = from_vector(std::vector<float>{0.0f}, {1, 1});
  EXPECT_EQ(dequantize_error(q),
            "dequantize: 'fc.weight': zero_point: expected shape [3] (the size of axis 0 of data [3, 2]), got [1, 1]");
}

TEST(QuantizedTensor, AxisDtypesAndGridAreChecked) {
  QuantizedTensor q = small_valid_quantized();
  q.axis = 2;
  EXPECT_EQ(dequantize_error(q),
            "dequantize: 'fc.weight': axis: expected -1 (per tensor) or 0..1 for data of shape [3, 2], got 2");
  q = small_valid_quantized();
  q.data = q.data.to(DType::Float32);
  EXPECT_EQ(dequantize_error(q), "dequantize: 'fc.weight': data: expected int8 or uint8, got float32");
  q = small_valid_quantized();
  q.scale = q.scale.to(DType::Int64);
  EXPECT_EQ(dequantize_error(q), "dequantize: 'fc.weight': scale: expected float32, got int64");
  q = small_valid_quantized();
  q.zero_point = q.zero_point.to(DType::Int8);
  EXPECT_EQ(dequantize_error(q), "dequantize: 'fc.weight': zero_point: expected float32 (whole numbers) or int64, got int8");
  q = small_valid_quantized();
  q.bits = 9;
  EXPECT_EQ(dequantize_error(q), "dequantize: 'fc.weight': bits: expected 2..8 (8-bit storage), got 9");
  q = small_valid_quantized();
  q.qmin = 0;
  q.qmax = 255;
  EXPECT_EQ(dequantize_error(q),
            "dequantize: 'fc.weight': qmin/qmax: expected a grid within the range of int8 [-128, 127], got [0, 255]");
  q = small_valid_quantized();
  q.bits = 4;
  EXPECT_EQ(dequantize_error(q),
            "dequantize: 'fc.weight': qmin/qmax: expected at most 2^4 = 16 levels for bits = 4, got [-127, 127] (255 "
            "levels)");
  q = small_valid_quantized();
  q.qmin = 5;
  q.qmax = 5;
  EXPECT_EQ(dequantize_error(q), "dequantize: 'fc.weight': qmin/qmax: expected qmin < qmax, got [5, 5]");
}

TEST(QuantizedTensor, QuantizeRefusesBadInputs) {
  const QuantizedTensor v = small_valid_quantized();
  const Tensor x = zeros({3, 2});
  EXPECT_EQ(error_of<ValueError>([&] { quantize("w", x.to(DType::Int64), v.scale, v.zero_point, 0, 8, -127, 127, DType::Int8); }),
            "quantize: 'w': expected a float32 input, got int64");
  EXPECT_EQ(error_of<ValueError>([&] { quantize("w", x, v.scale, v.zero_point, 0, 8, -127, 127, DType::Int64); }),
            "quantize: 'w': expected the dtype int8 or uint8, got int64");
  EXPECT_EQ(error_of<ValueError>([&] { quantize("w", x, v.scale, v.zero_point, 0, 8, -128, 127, DType::UInt8); }),
            "quantize: 'w': qmin/qmax: expected a grid within the range of uint8 [0, 255], got [-128, 127]");
}

}  // namespace
}  // namespace shrink::io
