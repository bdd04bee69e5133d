#include "autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"

namespace shrink {
namespace {

// sum(out * r) in double, so that the finite differences lose no precision in the reduction.
double project(const Tensor& out, const std::vector<float>& r) {
  const float* p = out.data<float>();
  double s = 0;
  for (std::int64_t i = 0; i < out.numel(); ++i) s += static_cast<double>(p[i]) * r[i];
  return s;
}

}  // namespace

GradcheckResult gradcheck(const std::function<Tensor(const TensorList&)>& f, const TensorList& inputs,
                          const GradcheckOptions& options) {
  // Analytic gradients.
  for (const auto& t : inputs)
    if (t.defined() && t.requires_grad()) t.impl()->grad = Tensor();
  Tensor out = f(inputs);
  Generator gen(options.seed);
  std::vector<float> r(static_cast<std::size_t>(out.numel()));
  for (auto& v : r) v = gen.uniform() * 2.0f - 1.0f;
  Tensor weights = from_vector(r, out.shape());
  SHRINK_CHECK_STATE(out.requires_grad(), "gradcheck: expected the function's output to require grad, got one "
                     "that does not (no input requires grad, or the op did not record)");
  out.backward(weights);

  GradcheckResult result;
  std::ostringstream report;
  NoGradGuard no_grad;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    Tensor x = inputs[k];
    if (!x.defined() || !x.requires_grad()) continue;
    Tensor analytic = x.grad();
    float* px = static_cast<float*>(x.raw_data());  // perturbed in place, restored below
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      const float orig = px[i];
      px[i] = static_cast<float>(orig + options.eps);
      const double plus = project(f(inputs), r);
      px[i] = static_cast<float>(orig - options.eps);
      const double minus = project(f(inputs), r);
      px[i] = orig;
      const double numeric = (plus - minus) / (2 * options.eps);
      const double a = analytic.defined() ? analytic.data<float>()[i] : 0.0;
      if (std::abs(a - numeric) > options.atol + options.rtol * std::abs(numeric)) {
        if (result.ok)
          report << "gradcheck: input " << k << " (shape " << shape_str(x.shape()) << ") element " << i
                 << ": analytic " << a << " vs numeric " << numeric;
        result.ok = false;
      }
    }
  }
  result.message = report.str();
  return result;
}

}  // namespace shrink
