// Helpers shared by the observers: input checks, per-channel gathering, state validation.
#include "compression/quantization/observer_support.h"

#include <algorithm>
#include <cmath>

#include "autograd/error.h"

namespace shrink::compression::detail {

void check_observed(const Tensor& x, std::int64_t axis, const std::string& who) {
  SHRINK_CHECK(x.defined() && x.dtype() == DType::Float32 && x.numel() > 0, who,
               ": expected a non-empty float32 tensor, got ",
               x.defined() ? std::string(dtype_name(x.dtype())) + " " + shape_str(x.shape()) : "an undefined tensor");
  SHRINK_CHECK_INDEX(axis < x.dim(), who, ": expected a tensor with a dim ", axis, " (the channel axis), got shape ",
                     shape_str(x.shape()));
}

std::vector<std::vector<float>> channel_values(const Tensor& x, std::int64_t axis) {
  const float* p = x.data<float>();
  if (axis < 0) return {std::vector<float>(p, p + x.numel())};
  const std::int64_t channels = x.size(axis);
  std::int64_t outer = 1, inner = 1;
  for (std::int64_t d = 0; d < axis; ++d) outer *= x.size(d);
  for (std::int64_t d = axis + 1; d < x.dim(); ++d) inner *= x.size(d);
  std::vector<std::vector<float>> out(static_cast<std::size_t>(channels));
  for (auto& v : out) v.reserve(static_cast<std::size_t>(outer * inner));
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t c = 0; c < channels; ++c) {
      const float* row = p + (o * channels + c) * inner;
      out[static_cast<std::size_t>(c)].insert(out[static_cast<std::size_t>(c)].end(), row, row + inner);
    }
  return out;
}

float abs_max(const std::vector<float>& values) {
  float m = 0.0f;
  for (float v : values) m = std::max(m, std::fabs(v));
  return m;
}

namespace {

std::string joined(std::vector<std::string> names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string describe(const Tensor& t) {
  return t.defined() ? std::string(dtype_name(t.dtype())) + " " + shape_str(t.shape()) : "an undefined tensor";
}

}  // namespace

void check_state_keys(const io::StateDict& state, const std::vector<std::string>& keys, const std::string& who) {
  std::vector<std::string> want = keys, got = state.keys();
  std::sort(want.begin(), want.end());
  std::sort(got.begin(), got.end());
  SHRINK_CHECK(want == got, who, ".load_state: expected the entries (", joined(want), "), got (", joined(got),
               ") (Hint: the state was saved by another observer)");
}

Tensor state_floats(const io::StateDict& state, const std::string& key, std::int64_t size, const std::string& who) {
  const Tensor& t = state.at(key);
  const bool ok = t.defined() && t.dtype() == DType::Float32 && t.dim() == 1 && (size < 0 || t.numel() == size);
  SHRINK_CHECK(ok, who, ".load_state: expected '", key, "' to be a float32 tensor of shape ",
               size < 0 ? std::string("[n]") : "[" + std::to_string(size) + "]", ", got ", describe(t));
  return t.clone();
}

std::int64_t state_count(const io::StateDict& state, const std::string& key, std::int64_t min, const std::string& who) {
  const Tensor& t = state.at(key);
  SHRINK_CHECK(t.defined() && t.dtype() == DType::Int64 && t.numel() == 1, who, ".load_state: expected '", key,
               "' to be one int64 value, got ", describe(t));
  const std::int64_t v = t.item<std::int64_t>();
  SHRINK_CHECK(v >= min, who, ".load_state: expected '", key, "' >= ", min, ", got ", v);
  return v;
}

void running_mean(Tensor& mean, const std::vector<float>& value, std::int64_t n) {
  float* m = mean.data<float>();
  for (std::size_t c = 0; c < value.size(); ++c)
    m[c] = n == 1 ? value[c] : m[c] + (value[c] - m[c]) / static_cast<float>(n);
}

}  // namespace shrink::compression::detail
