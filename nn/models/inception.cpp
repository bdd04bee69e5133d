#include "nn/models/inception.h"

#include "autograd/ops.h"

namespace shrink::models {

InceptionBlock::InceptionBlock(std::int64_t cin) : Cloneable("InceptionBlock") {
  register_module("b1", std::make_shared<nn::Conv2d>(cin, 16, 1), &InceptionBlock::b1);
  register_module("b3", std::make_shared<nn::Conv2d>(cin, 24, 3, 1, 1), &InceptionBlock::b3);
  register_module("b5", std::make_shared<nn::Conv2d>(cin, 8, 5, 1, 2), &InceptionBlock::b5);
  register_module("bn", std::make_shared<nn::BatchNorm2d>(48), &InceptionBlock::bn);
}

Tensor InceptionBlock::forward(const Tensor& x) { return relu((*bn)(cat({(*b1)(x), (*b3)(x), (*b5)(x)}, 1))); }

InceptionSmall::InceptionSmall() : Cloneable("InceptionSmall") {
  register_module("stem", std::make_shared<nn::Conv2d>(1, 32, 3, 1, 1), &InceptionSmall::stem);
  register_module("block1", std::make_shared<InceptionBlock>(32), &InceptionSmall::block1);
  register_module("block2", std::make_shared<InceptionBlock>(48), &InceptionSmall::block2);
  register_module("conv", std::make_shared<nn::Conv2d>(48, 64, 3, 1, 1), &InceptionSmall::conv);
  register_module("fc", std::make_shared<nn::Linear>(64 * 7 * 7, 10), &InceptionSmall::fc);
}

Tensor InceptionSmall::forward(const Tensor& x) {
  const Pool2dParams pool2{};
  Tensor h = max_pool2d(relu((*stem)(x)), pool2);
  h = (*block2)((*block1)(h));
  h = max_pool2d(relu((*conv)(h)), pool2);
  return (*fc)(flatten(h, 1));
}

}  // namespace shrink::models
