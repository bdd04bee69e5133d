#pragma once
/// \file
/// The float arithmetic of PyTorch's CPU kernels that the optimizers replay, so that a Shrink
/// trajectory stays within a few ulps of PyTorch's over many steps (tests/nn/optim/
/// update_rules_test.cpp compares 50 steps).
///
/// PyTorch 1.13 computes `a.add_(b, alpha=s)` and `a.addcmul_(b, c, value=s)` with a fused
/// multiply-add (`fma(b, s, a)`, `fma(s*b, c, a)`), rounds every Python scalar (lr, betas,
/// 1 - beta, ...) to float only after computing it in double, and computes bias corrections and
/// the step size in double. The fused steps are written here explicitly rather than left to the
/// compiler: GCC 12 with -march=native contracts a·b + c into an FMA wherever it likes, even in
/// ISO C++ mode (see the -ffp-contract note in CMakeLists.txt), so an unfused PyTorch step may come
/// out fused here; update_rules_test's few-ulp bound over 50 steps covers that.

#include <cmath>

namespace shrink::optim::detail {

/// a·b + c rounded once, as PyTorch's vectorised add/addcmul kernels do. Without hardware FMA the
/// exact product a·b (48 bits) plus c is rounded to double and then to float; that equals the
/// fused result except when the double lands exactly halfway between two floats (about 1 in 2^29).
inline float fused_multiply_add(float a, float b, float c) {
#ifdef __FMA__
  return std::fma(a, b, c);
#else
  return static_cast<float>(static_cast<double>(a) * static_cast<double>(b) + static_cast<double>(c));
#endif
}

}  // namespace shrink::optim::detail
