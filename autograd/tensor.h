#pragma once
/// \file
/// Tensor: a cheap, shared handle to an n-dimensional, contiguous, row-major array with
/// autograd metadata (requires_grad, grad, grad_fn, gradient hooks).
///
/// Copies of a Tensor alias the same data; `clone()` deep-copies; `detach()` shares the data but
/// drops the graph. Every tensor is contiguous: shape ops that cannot be expressed on the same
/// buffer (transpose, permute, slices) copy.

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "autograd/dtype.h"
#include "autograd/error.h"
#include "autograd/hook_handle.h"
#include "autograd/storage.h"

namespace shrink {

class Node;
class Generator;
struct TensorImpl;
class Tensor;

/// Sizes of a tensor, outermost first.
using Shape = std::vector<std::int64_t>;
/// A list of tensors (op inputs, gradients).
using TensorList = std::vector<Tensor>;
/// A gradient hook: receives the gradient, returns it (possibly replaced) or an undefined tensor
/// to keep it unchanged.
using GradHook = std::function<Tensor(const Tensor&)>;

/// "[2, 3, 4]".
std::string shape_str(const Shape& shape);
/// Product of the sizes (1 for a scalar shape []). ShapeError when the product of non-negative
/// sizes does not fit in int64 (a hostile file's [2^62+1, 4] must not wrap around to 4).
std::int64_t shape_numel(const Shape& shape);
/// Normalises a possibly negative dim against `ndim`; throws IndexError naming `where`.
std::int64_t normalize_dim(std::int64_t dim, std::int64_t ndim, const char* where);

class Tensor {
 public:
  /// An undefined tensor (like an empty Optional): `defined()` is false.
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}
  Tensor(const Tensor&) = default;
  Tensor(Tensor&&) noexcept = default;
  /// Assignment rebinds the handle. It is allowed on named tensors only: assigning to a
  /// temporary (`layer->weight() = t`) would change nothing, so it does not compile. To change
  /// values in place use copy_() or fill_().
  Tensor& operator=(const Tensor&) & = default;
  Tensor& operator=(Tensor&&) & noexcept = default;
  ~Tensor() = default;
  /// A new uninitialised tensor of the given shape and dtype. ValueError on a negative size or
  /// when the element count or the byte size does not fit in int64.
  static Tensor empty(const Shape& shape, DType dtype = DType::Float32);
  /// As above, taking over `shape`'s buffer (`Tensor::empty({n, c})` allocates one vector, not two).
  static Tensor empty(Shape&& shape, DType dtype = DType::Float32);

  // The accessors are inline (defined below TensorImpl): kernels and ops call them many times
  // per op, and at batch 1 an out-of-line call each was a measurable share of a forward pass.
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  std::int64_t dim() const;
  /// Size of dimension `d` (negative counts from the end).
  std::int64_t size(std::int64_t d) const;
  std::int64_t numel() const;
  DType dtype() const;

  /// Typed pointer to the first element; throws ValueError if T does not match dtype().
  template <typename T> T* data();
  template <typename T> const T* data() const;
  void* raw_data();
  const void* raw_data() const;

  /// The value of a one-element tensor, converted to T.
  template <typename T = float> T item() const;
  /// Element at a full index (any dtype, converted to double); for tests and debugging.
  double at(std::initializer_list<std::int64_t> index) const;
  /// Sets the element at a full index (converted to the tensor's dtype); no graph.
  void set(std::initializer_list<std::int64_t> index, double value);
  /// All elements converted to float, row-major (for tests and small tensors).
  std::vector<float> to_vector() const;

  /// Deep copy of the data; the copy is a leaf that keeps requires_grad (like PyTorch's clone
  /// when used outside a graph) but records a "clone" node when the input has a graph.
  Tensor clone() const;
  /// Shares the data, drops the graph: no grad_fn, requires_grad false.
  Tensor detach() const;
  /// Converts the dtype (a copy; float -> int truncates toward zero like PyTorch).
  Tensor to(DType dtype) const;
  /// Same data viewed with another shape of equal numel (no copy, no graph; see reshape()).
  Tensor view_as_shape(const Shape& shape) const;

  // ---- autograd ----------------------------------------------------------------------------
  bool requires_grad() const;
  /// Marks a leaf as requiring grad; throws StateError on a non-leaf.
  Tensor& requires_grad_(bool enabled = true);
  /// True for tensors created by the user (no grad_fn).
  bool is_leaf() const;
  /// Accumulated gradient of a leaf (undefined until the first backward reaches it).
  Tensor grad() const;
  void set_grad(const Tensor& grad);
  /// Drops the accumulated gradient (set_to_none) or zeroes it in place.
  void zero_grad(bool set_to_none = true);
  /// The node that produced this tensor (null for leaves and tensors without graph).
  const std::shared_ptr<Node>& grad_fn() const;
  /// Backpropagates from this tensor. `grad` defaults to 1 for one-element tensors; the graph
  /// is freed afterwards unless `retain_graph`.
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const;
  /// Registers a hook that sees (and may replace) the gradient flowing into this tensor.
  HookHandle register_hook(GradHook hook);

  // ---- in-place, outside the graph (optimizers, initialisers) -------------------------------
  // These never record. On a tensor that requires grad they are refused while grad mode is on
  // (like PyTorch): wrap them in NoGradGuard.
  Tensor& zero_();
  Tensor& fill_(double value);
  /// Copies `src` (same numel; converts dtype) into this tensor's buffer.
  Tensor& copy_(const Tensor& src);
  /// this += alpha * other (other broadcast to this shape).
  Tensor& add_(const Tensor& other, float alpha = 1.0f);
  Tensor& add_(float value);
  Tensor& mul_(const Tensor& other);
  Tensor& mul_(float value);
  Tensor& div_(float value);
  Tensor& clamp_(float lo, float hi);
  /// Fills with uniform [lo, hi) / normal(mean, std) values from `gen` (default generator).
  Tensor& uniform_(float lo, float hi, Generator* gen = nullptr);
  Tensor& normal_(float mean, float std, Generator* gen = nullptr);

  // ---- shortcuts to ops (see ops.h) ---------------------------------------------------------
  Tensor reshape(const Shape& shape) const;
  Tensor sum() const;
  Tensor mean() const;

  /// PyTorch-like text: "tensor([[1.0000, 2.0000]], requires_grad=True)".
  std::string to_string() const;

  /// True when both handles refer to the same tensor.
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  void check_defined(const char* where) const {
    if (impl_ == nullptr) [[unlikely]]
      throw_undefined(where);
  }
  [[noreturn]] static void throw_undefined(const char* where);
  [[noreturn]] static void throw_dtype_mismatch(const char* where, DType expected, DType got);
  void check_inplace_allowed(const char* where) const;
  std::shared_ptr<TensorImpl> impl_;
};

/// The shared state behind Tensor handles.
struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  std::int64_t numel = 0;
  DType dtype = DType::Float32;
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;
  /// The AccumulateGrad node of a leaf, created on first use (weak: the graph owns it).
  std::weak_ptr<Node> grad_accumulator;
  /// Gradient hooks of a leaf (hooks of non-leaves live on their grad_fn).
  std::vector<std::pair<int, GradHook>> hooks;
  int next_hook_id = 0;
};

inline const Shape& Tensor::shape() const {
  check_defined("Tensor::shape");
  return impl_->shape;
}
inline std::int64_t Tensor::dim() const { return static_cast<std::int64_t>(shape().size()); }
inline std::int64_t Tensor::size(std::int64_t d) const {
  const Shape& s = shape();
  const auto n = static_cast<std::int64_t>(s.size());
  if (d >= 0 && d < n) [[likely]]
    return s[static_cast<std::size_t>(d)];
  SHRINK_CHECK_INDEX(n > 0, "Tensor::size: a 0-dim tensor has no dim ", d);
  return s[static_cast<std::size_t>(normalize_dim(d, n, "Tensor::size"))];
}
inline bool Tensor::requires_grad() const { return impl_ && impl_->requires_grad; }
inline std::int64_t Tensor::numel() const {
  check_defined("Tensor::numel");
  return impl_->numel;
}
inline DType Tensor::dtype() const {
  check_defined("Tensor::dtype");
  return impl_->dtype;
}
inline void* Tensor::raw_data() {
  check_defined("Tensor::raw_data");
  return impl_->storage->data();
}
inline const void* Tensor::raw_data() const { return const_cast<Tensor*>(this)->raw_data(); }

template <typename T> T* Tensor::data() {
  check_defined("Tensor::data");
  if (impl_->dtype != dtype_of<T>()) [[unlikely]]
    throw_dtype_mismatch("Tensor::data", dtype_of<T>(), impl_->dtype);
  return static_cast<T*>(impl_->storage->data());
}
template <typename T> const T* Tensor::data() const { return const_cast<Tensor*>(this)->data<T>(); }

// ---- factories ----------------------------------------------------------------------------------
Tensor empty(const Shape& shape, DType dtype = DType::Float32);
Tensor zeros(const Shape& shape, DType dtype = DType::Float32);
Tensor ones(const Shape& shape, DType dtype = DType::Float32);
Tensor full(const Shape& shape, double value, DType dtype = DType::Float32);
/// 0, 1, ..., n-1.
Tensor arange(std::int64_t n, DType dtype = DType::Float32);
/// start, start+step, ... (< end for positive step).
Tensor arange(double start, double end, double step, DType dtype = DType::Float32);
/// Uniform [0, 1).
Tensor rand(const Shape& shape, Generator* gen = nullptr);
/// Standard normal.
Tensor randn(const Shape& shape, Generator* gen = nullptr);
/// Integers uniform in [low, high), dtype Int64.
Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape, Generator* gen = nullptr);
/// A one-element tensor of shape [].
Tensor scalar_tensor(double value, DType dtype = DType::Float32);
/// Copies `values` into a new tensor of `shape` (numel must match).
Tensor from_vector(const std::vector<float>& values, const Shape& shape);
Tensor from_vector(const std::vector<std::int64_t>& values, const Shape& shape);
Tensor from_vector(const std::vector<std::uint8_t>& values, const Shape& shape);
Tensor from_vector(const std::vector<std::int8_t>& values, const Shape& shape);
Tensor empty_like(const Tensor& t);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);
Tensor rand_like(const Tensor& t, Generator* gen = nullptr);
Tensor randn_like(const Tensor& t, Generator* gen = nullptr);

// ---- operators (recorded; see ops.h for the free functions) -------------------------------------
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, float b);
Tensor operator-(const Tensor& a, float b);
Tensor operator*(const Tensor& a, float b);
Tensor operator/(const Tensor& a, float b);
Tensor operator+(float a, const Tensor& b);
Tensor operator-(float a, const Tensor& b);
Tensor operator*(float a, const Tensor& b);
Tensor operator/(float a, const Tensor& b);
Tensor operator-(const Tensor& a);

std::ostream& operator<<(std::ostream& os, const Tensor& t);

}  // namespace shrink
