#pragma once
/// \file
/// BatchNorm1d / BatchNorm2d: weight, bias, running_mean, running_var, num_batches_tracked
/// (PyTorch's names, layouts and update rule).

#include "nn/module.h"

namespace shrink::nn {

/// Settings of BatchNorm (PyTorch's constructor arguments).
struct BatchNormOptions {
  std::int64_t num_features = 1;
  float eps = 1e-5f;
  float momentum = 0.1f;
  bool affine = true;
  bool track_running_stats = true;
};

/// Shared implementation; `input_dims` lists the accepted input ranks.
class BatchNormBase : public Module {
 public:
  std::string extra_repr() const override;
  const BatchNormOptions& options() const { return options_; }
  std::int64_t num_features() const { return options_.num_features; }
  Tensor weight() const { return has_param("weight") ? param("weight") : Tensor(); }
  Tensor bias() const { return has_param("bias") ? param("bias") : Tensor(); }
  Tensor running_mean() const { return has_buffer("running_mean") ? buffer("running_mean") : Tensor(); }
  Tensor running_var() const { return has_buffer("running_var") ? buffer("running_var") : Tensor(); }

 protected:
  BatchNormBase(std::string type_name, const BatchNormOptions& options, std::vector<std::int64_t> input_dims);
  BatchNormBase(const BatchNormBase&) = default;

 private:
  BatchNormOptions options_;
  std::vector<std::int64_t> input_dims_;
 protected:
  Tensor forward(const Tensor& x) override;
};

/// Over [N, C] or [N, C, L].
class BatchNorm1d : public BatchNormBase {
 public:
  explicit BatchNorm1d(std::int64_t num_features) : BatchNorm1d(BatchNormOptions{num_features}) {}
  explicit BatchNorm1d(const BatchNormOptions& options) : BatchNormBase("BatchNorm1d", options, {2, 3}) {}

 protected:
  ModulePtr copy_shallow() const override { return std::shared_ptr<BatchNorm1d>(new BatchNorm1d(*this)); }
};

/// Over [N, C, H, W].
class BatchNorm2d : public BatchNormBase {
 public:
  explicit BatchNorm2d(std::int64_t num_features) : BatchNorm2d(BatchNormOptions{num_features}) {}
  explicit BatchNorm2d(const BatchNormOptions& options) : BatchNormBase("BatchNorm2d", options, {4}) {}

 protected:
  ModulePtr copy_shallow() const override { return std::shared_ptr<BatchNorm2d>(new BatchNorm2d(*this)); }
};

}  // namespace shrink::nn
