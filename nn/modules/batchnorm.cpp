#include "nn/modules/batchnorm.h"

#include <algorithm>
#include <sstream>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"

namespace shrink::nn {

BatchNormBase::BatchNormBase(std::string type_name, const BatchNormOptions& o, std::vector<std::int64_t> input_dims)
    : Module(std::move(type_name)), options_(o), input_dims_(std::move(input_dims)) {
  SHRINK_CHECK(o.num_features > 0, this->type_name(), ": expected positive num_features, got ", o.num_features);
  if (o.affine) {
    register_parameter("weight", ones({o.num_features}));
    register_parameter("bias", zeros({o.num_features}));
  }
  if (o.track_running_stats) {
    register_buffer("running_mean", zeros({o.num_features}));
    register_buffer("running_var", ones({o.num_features}));
    register_buffer("num_batches_tracked", zeros({}, DType::Int64));
  }
}

Tensor BatchNormBase::forward(const Tensor& x) {
  const bool is_2d = input_dims_.front() == 4;
  const bool rank_ok = std::find(input_dims_.begin(), input_dims_.end(), x.dim()) != input_dims_.end();
  // The other BatchNorm is the usual fix for a wrong rank (e.g. BatchNorm1d after a conv).
  const char* hint = rank_ok ? ""
                     : is_2d ? (x.dim() == 2 || x.dim() == 3 ? ". Hint: use BatchNorm1d for [N, C] or [N, C, L]" : "")
                             : (x.dim() == 4 ? ". Hint: use BatchNorm2d for [N, C, H, W]" : "");
  SHRINK_CHECK_SHAPE(rank_ok && x.size(1) == options_.num_features, type_name(), ": expected input of shape ",
                     is_2d ? "[N, C, H, W]" : "[N, C] or [N, C, L]", " with C = ", options_.num_features, ", got ",
                     shape_str(x.shape()), hint);
  const bool use_batch_stats = is_training() || !options_.track_running_stats;
  // Without running statistics, eval mode also normalises with the batch's (like PyTorch).
  Tensor out = batch_norm(x, param_value("weight", true), param_value("bias", true), running_mean(), running_var(), use_batch_stats, options_.momentum,
                          options_.eps);
  // Counted after a successful call, so that a rejected batch leaves the state unchanged.
  if (is_training() && options_.track_running_stats) {
    Tensor& tracked = buffer("num_batches_tracked");
    tracked.set({}, tracked.at({}) + 1);
  }
  return out;
}

std::string BatchNormBase::extra_repr() const {
  std::ostringstream os;
  os << options_.num_features << ", eps=" << options_.eps << ", momentum=" << options_.momentum
     << ", affine=" << (options_.affine ? "True" : "False")
     << ", track_running_stats=" << (options_.track_running_stats ? "True" : "False");
  return os.str();
}

}  // namespace shrink::nn
