#include "nn/modules/linear.h"

#include <cmath>

#include "autograd/ops.h"
#include "nn/init.h"

namespace shrink::nn {

Linear::Linear(std::int64_t in_features, std::int64_t out_features, bool bias)
    : Cloneable("Linear"), in_features_(in_features), out_features_(out_features) {
  SHRINK_CHECK(in_features > 0 && out_features > 0, "Linear: expected positive in_features and out_features, got ",
               in_features, " and ", out_features);
  Tensor& w = register_parameter("weight", empty({out_features, in_features}));
  init::kaiming_uniform_(w, std::sqrt(5.0));
  if (bias) {
    Tensor& b = register_parameter("bias", empty({out_features}));
    const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
    init::uniform_(b, -bound, bound);
  }
}

Tensor Linear::forward(const Tensor& x) {
  SHRINK_CHECK_SHAPE(x.dim() >= 1 && x.size(-1) == in_features_, "Linear: expected input with last dim ",
                     in_features_, " (in_features), got shape ", shape_str(x.shape()),
                     x.dim() == 4 ? ". Hint: flatten conv features first (nn::Flatten)" : "");
  return linear(x, param_value("weight"), param_value("bias", /*optional=*/true));
}

std::string Linear::extra_repr() const {
  return "in_features=" + std::to_string(in_features_) + ", out_features=" + std::to_string(out_features_) +
         ", bias=" + (has_param("bias") ? "True" : "False");
}

}  // namespace shrink::nn
