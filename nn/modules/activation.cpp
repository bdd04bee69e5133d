#include "nn/modules/activation.h"

#include <sstream>

#include "autograd/ops.h"

namespace shrink::nn {

Tensor ReLU::forward(const Tensor& x) { return relu(x); }
Tensor ReLU6::forward(const Tensor& x) { return relu6(x); }
Tensor LeakyReLU::forward(const Tensor& x) { return leaky_relu(x, negative_slope_); }
std::string LeakyReLU::extra_repr() const {
  std::ostringstream os;
  os << "negative_slope=" << negative_slope_;
  return os.str();
}

GELU::GELU(const std::string& approximate) : Cloneable("GELU"), tanh_(approximate == "tanh") {
  SHRINK_CHECK(approximate == "none" || approximate == "tanh", "GELU: expected approximate to be 'none' or 'tanh', got '",
               approximate, "'");
}
Tensor GELU::forward(const Tensor& x) { return gelu(x, tanh_); }
std::string GELU::extra_repr() const { return tanh_ ? "approximate='tanh'" : "approximate='none'"; }

Tensor Sigmoid::forward(const Tensor& x) { return sigmoid(x); }
Tensor Tanh::forward(const Tensor& x) { return tanh(x); }

}  // namespace shrink::nn
