#include "nn/modules/basic.h"

#include <sstream>

#include "autograd/ops.h"

namespace shrink::nn {

Tensor Flatten::forward(const Tensor& x) { return flatten(x, start_dim_, end_dim_); }
std::string Flatten::extra_repr() const {
  return "start_dim=" + std::to_string(start_dim_) + ", end_dim=" + std::to_string(end_dim_);
}

Dropout::Dropout(float p, Generator* generator) : Cloneable("Dropout"), p_(p), generator_(generator) {
  SHRINK_CHECK(p >= 0.0f && p <= 1.0f, "Dropout: expected a probability p in [0, 1], got ", p);
}
Tensor Dropout::forward(const Tensor& x) { return dropout(x, p_, is_training(), generator_); }
std::string Dropout::extra_repr() const {
  std::ostringstream os;
  os << "p=" << p_ << ", inplace=False";
  return os.str();
}

}  // namespace shrink::nn
