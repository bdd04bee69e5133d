#include "nn/modules/functional.h"

namespace shrink::nn {

Functional::Functional(Function fn, std::string name)
    : Cloneable("Functional"), fn_(std::move(fn)), name_(std::move(name)) {
  SHRINK_CHECK(static_cast<bool>(fn_), "Functional: expected a callable, got an empty function");
}

Tensor Functional::forward(const Tensor& x) { return fn_(x); }

}  // namespace shrink::nn
