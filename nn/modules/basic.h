#pragma once
/// \file
/// Flatten, Dropout, Identity.

#include "nn/module.h"

namespace shrink {
class Generator;
}

namespace shrink::nn {

/// Flattens dims start_dim..end_dim (PyTorch's default 1..-1: keeps the batch dim).
class Flatten : public Cloneable<Flatten> {
 public:
  explicit Flatten(std::int64_t start_dim = 1, std::int64_t end_dim = -1)
      : Cloneable("Flatten"), start_dim_(start_dim), end_dim_(end_dim) {}
  std::string extra_repr() const override;
  std::int64_t start_dim() const { return start_dim_; }
  std::int64_t end_dim() const { return end_dim_; }

 private:
  std::int64_t start_dim_, end_dim_;
 protected:
  Tensor forward(const Tensor& x) override;
};

/// Zeroes elements with probability p in training (scaling the rest by 1/(1-p)); identity in
/// eval. Draws from `generator` (null = the default generator).
class Dropout : public Cloneable<Dropout> {
 public:
  explicit Dropout(float p = 0.5f, Generator* generator = nullptr);
  std::string extra_repr() const override;
  float p() const { return p_; }

 private:
  float p_;
  Generator* generator_;
 protected:
  Tensor forward(const Tensor& x) override;
};

class Identity : public Cloneable<Identity> {
 public:
  Identity() : Cloneable("Identity") {}
 protected:
  Tensor forward(const Tensor& x) override { return x; }
};

}  // namespace shrink::nn
