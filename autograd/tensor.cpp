#include "autograd/tensor.h"

#include <cmath>
#include <cstring>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/kernels/broadcast.h"
#include "autograd/node.h"
#include "autograd/ops.h"

namespace shrink {

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

std::int64_t shape_numel(const Shape& shape) {
  std::int64_t n = 1;
  bool overflow = false;
  for (auto d : shape) overflow = __builtin_mul_overflow(n, d, &n) || overflow;
  if (n == 0) return 0;  // a zero size makes any product exact, whatever came before it
  // Shapes with a -1 placeholder (reshape) may pass through here; only real sizes can overflow.
  SHRINK_CHECK_SHAPE(!overflow, "shape_numel: expected a shape whose element count fits in int64, got ",
                     shape_str(shape));
  return n;
}

std::int64_t normalize_dim(std::int64_t dim, std::int64_t ndim, const char* where) {
  const std::int64_t lo = ndim == 0 ? -1 : -ndim, hi = ndim == 0 ? 0 : ndim - 1;
  SHRINK_CHECK_INDEX(dim >= lo && dim <= hi, where, ": expected dim in range [", lo, ", ", hi, "], got ", dim);
  return dim < 0 ? dim + std::max<std::int64_t>(ndim, 1) : dim;
}

namespace {

// Reads element i of any dtype as double / writes it from double.
double load(const TensorImpl& t, std::int64_t i) {
  const void* p = t.storage->data();
  switch (t.dtype) {
    case DType::Float32: return static_cast<const float*>(p)[i];
    case DType::Int64: return static_cast<double>(static_cast<const std::int64_t*>(p)[i]);
    case DType::Int8: return static_cast<const std::int8_t*>(p)[i];
    case DType::UInt8: return static_cast<const std::uint8_t*>(p)[i];
  }
  return 0;
}

void store(TensorImpl& t, std::int64_t i, double v) {
  void* p = t.storage->data();
  switch (t.dtype) {
    case DType::Float32: static_cast<float*>(p)[i] = static_cast<float>(v); break;
    case DType::Int64: static_cast<std::int64_t*>(p)[i] = static_cast<std::int64_t>(v); break;
    case DType::Int8: static_cast<std::int8_t*>(p)[i] = static_cast<std::int8_t>(v); break;
    case DType::UInt8: static_cast<std::uint8_t*>(p)[i] = static_cast<std::uint8_t>(v); break;
  }
}

std::int64_t flat_index(const Shape& shape, std::initializer_list<std::int64_t> index, const char* where) {
  SHRINK_CHECK_INDEX(index.size() == shape.size(), where, ": expected ", shape.size(), " indices for shape ",
                     shape_str(shape), ", got ", index.size());
  std::int64_t flat = 0, d = 0;
  for (std::int64_t i : index) {
    const std::int64_t n = shape[d];
    SHRINK_CHECK_INDEX(i >= -n && i < n, where, ": index ", i, " is out of range for dim ", d, " of size ", n,
                       " (shape ", shape_str(shape), ")");
    flat = flat * n + (i < 0 ? i + n : i);
    ++d;
  }
  return flat;
}

template <typename T>
Tensor from_values(const std::vector<T>& values, const Shape& shape) {
  SHRINK_CHECK_SHAPE(static_cast<std::int64_t>(values.size()) == shape_numel(shape), "from_vector: expected ",
                     shape_numel(shape), " values for shape ", shape_str(shape), ", got ", values.size());
  Tensor t = Tensor::empty(shape, dtype_of<T>());
  if (!values.empty()) std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(T));
  return t;
}

}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype) { return empty(Shape(shape), dtype); }

Tensor Tensor::empty(Shape&& shape, DType dtype) {
  std::int64_t numel = 1, bytes = 0;
  bool overflow = false;
  for (auto d : shape) {
    SHRINK_CHECK(d >= 0, "empty: expected non-negative sizes, got shape ", shape_str(shape));
    overflow = __builtin_mul_overflow(numel, d, &numel) || overflow;
  }
  if (numel == 0) overflow = false;  // [2^62, 4, 0] holds nothing
  overflow = __builtin_mul_overflow(numel, static_cast<std::int64_t>(element_size(dtype)), &bytes) || overflow;
  SHRINK_CHECK(!overflow, "empty: expected a shape whose size in bytes fits in int64, got ", shape_str(shape), " of ",
               dtype_name(dtype));
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = std::move(shape);
  impl->numel = numel;
  impl->dtype = dtype;
  impl->storage = std::make_shared<Storage>(static_cast<std::size_t>(bytes));
  return Tensor(std::move(impl));
}

void Tensor::throw_dtype_mismatch(const char* where, DType expected, DType got) {
  throw ValueError(detail::concat(where, ": expected dtype ", dtype_name(expected), ", got ", dtype_name(got)));
}

void Tensor::throw_undefined(const char* where) {
  throw StateError(detail::concat(where, ": expected a defined tensor, got an undefined (default-constructed) one"));
}

template <typename T> T Tensor::item() const {
  SHRINK_CHECK(numel() == 1, "Tensor::item: expected a tensor with one element, got shape ", shape_str(shape()));
  return static_cast<T>(load(*impl_, 0));
}
template float Tensor::item<float>() const;
template double Tensor::item<double>() const;
template std::int64_t Tensor::item<std::int64_t>() const;
template int Tensor::item<int>() const;

double Tensor::at(std::initializer_list<std::int64_t> index) const {
  return load(*impl_, flat_index(shape(), index, "Tensor::at"));
}
void Tensor::set(std::initializer_list<std::int64_t> index, double value) {
  check_inplace_allowed("Tensor::set");
  store(*impl_, flat_index(shape(), index, "Tensor::set"), value);
}

std::vector<float> Tensor::to_vector() const {
  std::vector<float> v(static_cast<std::size_t>(numel()));
  for (std::int64_t i = 0; i < numel(); ++i) v[i] = static_cast<float>(load(*impl_, i));
  return v;
}

Tensor Tensor::clone() const {
  check_defined("Tensor::clone");
  Tensor out = Tensor::empty(shape(), dtype());
  std::memcpy(out.raw_data(), raw_data(), static_cast<std::size_t>(numel()) * element_size(dtype()));
  if (impl_->grad_fn || (impl_->requires_grad && GradMode::is_enabled()))
    return record("clone", out, {*this}, [](const Tensor& g) { return TensorList{g}; });
  return out;
}

Tensor Tensor::detach() const {
  check_defined("Tensor::detach");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->shape = impl_->shape;
  impl->numel = impl_->numel;
  impl->dtype = impl_->dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::to(DType dtype) const {
  check_defined("Tensor::to");
  if (dtype == impl_->dtype) return *this;
  Tensor out = Tensor::empty(shape(), dtype);
  for (std::int64_t i = 0; i < numel(); ++i) store(*out.impl_, i, load(*impl_, i));
  return out;
}

Tensor Tensor::view_as_shape(const Shape& shape) const {
  Tensor v = detach();
  SHRINK_CHECK_SHAPE(shape_numel(shape) == numel(), "view: expected a shape with ", numel(), " elements for ",
                     shape_str(this->shape()), ", got ", shape_str(shape));
  v.impl_->shape = shape;
  return v;
}

Tensor& Tensor::requires_grad_(bool enabled) {
  check_defined("Tensor::requires_grad_");
  SHRINK_CHECK_STATE(impl_->grad_fn == nullptr, "Tensor::requires_grad_: expected a leaf tensor, got the result of '",
                     impl_->grad_fn->op, "'. Hint: call detach() first to make a new leaf");
  SHRINK_CHECK(!enabled || impl_->dtype == DType::Float32,
               "Tensor::requires_grad_: expected a float32 tensor (only floating tensors have gradients), got ",
               dtype_name(impl_->dtype));
  impl_->requires_grad = enabled;
  return *this;
}

bool Tensor::is_leaf() const { return impl_ && impl_->grad_fn == nullptr; }
Tensor Tensor::grad() const {
  check_defined("Tensor::grad");
  return impl_->grad;
}
void Tensor::set_grad(const Tensor& grad) {
  check_defined("Tensor::set_grad");
  SHRINK_CHECK_SHAPE(!grad.defined() || grad.shape() == shape(), "Tensor::set_grad: expected a gradient of shape ",
                     shape_str(shape()), ", got ", shape_str(grad.shape()));
  impl_->grad = grad;
}
void Tensor::zero_grad(bool set_to_none) {
  check_defined("Tensor::zero_grad");
  if (set_to_none || !impl_->grad.defined()) {
    impl_->grad = Tensor();
  } else {
    impl_->grad.zero_();
  }
}
const std::shared_ptr<Node>& Tensor::grad_fn() const {
  check_defined("Tensor::grad_fn");
  return impl_->grad_fn;
}

void Tensor::backward(const Tensor& grad, bool retain_graph) const {
  check_defined("Tensor::backward");
  SHRINK_CHECK_STATE(impl_->requires_grad,
                     "backward: expected a tensor that requires grad, got one that does not require grad and has "
                     "no grad_fn. Hint: set requires_grad_() on the inputs, and do not run the forward under "
                     "NoGradGuard");
  Tensor g = grad;
  if (!g.defined()) {
    SHRINK_CHECK_SHAPE(numel() == 1, "backward: expected a one-element output when no gradient is given, got shape ",
                       shape_str(shape()), ". Hint: reduce with sum()/mean() or pass a gradient of that shape");
    g = ones(shape());
  }
  SHRINK_CHECK_SHAPE(g.shape() == shape(), "backward: expected a gradient of shape ", shape_str(shape()), ", got ",
                     shape_str(g.shape()));
  SHRINK_CHECK(g.dtype() == DType::Float32, "backward: expected a float32 gradient, got ", dtype_name(g.dtype()));
  run_backward({*this}, {g}, retain_graph);
}

HookHandle Tensor::register_hook(GradHook hook) {
  check_defined("Tensor::register_hook");
  SHRINK_CHECK_STATE(impl_->requires_grad,
                     "register_hook: expected a tensor that requires grad, got one that does not; it will never "
                     "receive a gradient");
  if (impl_->grad_fn) return add_node_hook(impl_->grad_fn, std::move(hook));
  const int id = impl_->next_hook_id++;
  impl_->hooks.emplace_back(id, std::move(hook));
  std::weak_ptr<TensorImpl> weak = impl_;
  return HookHandle([weak, id] {
    if (auto impl = weak.lock()) std::erase_if(impl->hooks, [id](const auto& h) { return h.first == id; });
  });
}

void Tensor::check_inplace_allowed(const char* where) const {
  check_defined(where);
  SHRINK_CHECK_STATE(!(impl_->requires_grad && GradMode::is_enabled()), where,
                     ": expected a tensor that does not require grad, got one that does (an in-place change "
                     "would corrupt the gradient). Hint: wrap parameter updates in NoGradGuard");
}

Tensor& Tensor::zero_() { return fill_(0.0); }

Tensor& Tensor::fill_(double value) {
  check_inplace_allowed("Tensor::fill_");
  if (impl_->dtype == DType::Float32) {
    float* p = data<float>();
    const float v = static_cast<float>(value);
    kernels::parallel_for(numel(), 65536, [&](std::int64_t s, std::int64_t e) { std::fill(p + s, p + e, v); });
  } else {
    for (std::int64_t i = 0; i < numel(); ++i) store(*impl_, i, value);
  }
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  check_inplace_allowed("Tensor::copy_");
  SHRINK_CHECK_SHAPE(src.numel() == numel(), "Tensor::copy_: expected a source with ", numel(),
                     " elements (shape ", shape_str(shape()), "), got shape ", shape_str(src.shape()));
  if (src.dtype() == dtype()) {
    std::memmove(raw_data(), src.raw_data(), static_cast<std::size_t>(numel()) * element_size(dtype()));
  } else {
    for (std::int64_t i = 0; i < numel(); ++i) store(*impl_, i, load(*src.impl_, i));
  }
  return *this;
}

Tensor& Tensor::add_(const Tensor& other, float alpha) {
  check_inplace_allowed("Tensor::add_");
  SHRINK_CHECK(dtype() == DType::Float32 && other.dtype() == DType::Float32,
               "Tensor::add_: expected float32 tensors, got ", dtype_name(dtype()), " and ", dtype_name(other.dtype()));
  SHRINK_CHECK_SHAPE(kernels::broadcastable_to(other.shape(), shape()), "Tensor::add_: expected an operand that "
                     "broadcasts to ", shape_str(shape()), ", got ", shape_str(other.shape()));
  float* p = data<float>();
  if (other.shape() == shape()) {
    const float* q = other.data<float>();
    kernels::parallel_for(numel(), 32768, [&](std::int64_t s, std::int64_t e) {
      for (std::int64_t i = s; i < e; ++i) p[i] += alpha * q[i];
    });
  } else {
    Tensor sum = kernels::binary_map(*this, other, "add_", [alpha](float x, float y) { return x + alpha * y; });
    std::memcpy(p, sum.raw_data(), static_cast<std::size_t>(numel()) * sizeof(float));
  }
  return *this;
}

Tensor& Tensor::add_(float value) {
  check_inplace_allowed("Tensor::add_");
  float* p = data<float>();
  for (std::int64_t i = 0; i < numel(); ++i) p[i] += value;
  return *this;
}

Tensor& Tensor::mul_(const Tensor& other) {
  check_inplace_allowed("Tensor::mul_");
  SHRINK_CHECK_SHAPE(kernels::broadcastable_to(other.shape(), shape()), "Tensor::mul_: expected an operand that "
                     "broadcasts to ", shape_str(shape()), ", got ", shape_str(other.shape()));
  Tensor prod = kernels::binary_map(*this, other, "mul_", [](float x, float y) { return x * y; });
  std::memcpy(data<float>(), prod.raw_data(), static_cast<std::size_t>(numel()) * sizeof(float));
  return *this;
}

Tensor& Tensor::mul_(float value) {
  check_inplace_allowed("Tensor::mul_");
  float* p = data<float>();
  kernels::parallel_for(numel(), 32768, [&](std::int64_t s, std::int64_t e) {
    for (std::int64_t i = s; i < e; ++i) p[i] *= value;
  });
  return *this;
}

Tensor& Tensor::div_(float value) { return mul_(1.0f / value); }

Tensor& Tensor::clamp_(float lo, float hi) {
  check_inplace_allowed("Tensor::clamp_");
  float* p = data<float>();
  for (std::int64_t i = 0; i < numel(); ++i) p[i] = std::min(std::max(p[i], lo), hi);
  return *this;
}

Tensor& Tensor::uniform_(float lo, float hi, Generator* gen) {
  check_inplace_allowed("Tensor::uniform_");
  Generator& g = gen ? *gen : default_generator();
  float* p = data<float>();
  for (std::int64_t i = 0; i < numel(); ++i) p[i] = lo + (hi - lo) * g.uniform();
  return *this;
}

Tensor& Tensor::normal_(float mean, float std, Generator* gen) {
  check_inplace_allowed("Tensor::normal_");
  Generator& g = gen ? *gen : default_generator();
  float* p = data<float>();
  for (std::int64_t i = 0; i < numel(); ++i) p[i] = mean + std * g.normal();
  return *this;
}

Tensor Tensor::reshape(const Shape& shape) const { return shrink::reshape(*this, shape); }
Tensor Tensor::sum() const { return shrink::sum(*this); }
Tensor Tensor::mean() const { return shrink::mean(*this); }

std::string Tensor::to_string() const {
  std::ostringstream os;
  os << *this;
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "tensor(undefined)";
  const Shape& shape = t.shape();
  const bool is_float = t.dtype() == DType::Float32;
  std::int64_t flat = 0;
  // Prints nested brackets like PyTorch; rows after the first are indented to align.
  std::function<void(std::size_t)> print = [&](std::size_t d) {
    if (d == shape.size()) {
      const double v = load(*t.impl(), flat++);
      if (is_float) os << std::fixed << std::setprecision(4) << v;
      else os << static_cast<std::int64_t>(v);
      return;
    }
    os << '[';
    for (std::int64_t i = 0; i < shape[d]; ++i) {
      if (i) {
        os << ',';
        if (d + 1 == shape.size()) os << ' ';
        else os << std::string(shape.size() - d - 1, '\n') << std::string(7 + d + 1, ' ');
      }
      print(d + 1);
    }
    os << ']';
  };
  os << "tensor(";
  print(0);
  if (!is_float) os << ", dtype=" << dtype_name(t.dtype());
  if (t.grad_fn()) os << ", grad_fn=<" << t.grad_fn()->op << ">";
  else if (t.requires_grad()) os << ", requires_grad=True";
  return os << ')';
}

// ---- factories ---------------------------------------------------------------------------------
Tensor empty(const Shape& shape, DType dtype) { return Tensor::empty(shape, dtype); }
Tensor zeros(const Shape& shape, DType dtype) { return full(shape, 0.0, dtype); }
Tensor ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }
Tensor full(const Shape& shape, double value, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  t.fill_(value);
  return t;
}
Tensor arange(std::int64_t n, DType dtype) { return arange(0.0, static_cast<double>(n), 1.0, dtype); }
Tensor arange(double start, double end, double step, DType dtype) {
  SHRINK_CHECK(step != 0, "arange: expected a non-zero step, got 0");
  SHRINK_CHECK((end - start) * step >= 0, "arange: expected the step to move from start=", start, " towards end=",
               end, ", got step=", step);
  const auto n = static_cast<std::int64_t>(std::ceil((end - start) / step));
  Tensor t = Tensor::empty({n}, dtype);
  for (std::int64_t i = 0; i < n; ++i) store(*t.impl(), i, start + static_cast<double>(i) * step);
  return t;
}
Tensor rand(const Shape& shape, Generator* gen) { return Tensor::empty(shape).uniform_(0.0f, 1.0f, gen); }
Tensor randn(const Shape& shape, Generator* gen) { return Tensor::empty(shape).normal_(0.0f, 1.0f, gen); }
Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape, Generator* gen) {
  Generator& g = gen ? *gen : default_generator();
  Tensor t = Tensor::empty(shape, DType::Int64);
  auto* p = t.data<std::int64_t>();
  for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = g.randint(low, high);
  return t;
}
Tensor scalar_tensor(double value, DType dtype) { return full({}, value, dtype); }
Tensor from_vector(const std::vector<float>& v, const Shape& s) { return from_values(v, s); }
Tensor from_vector(const std::vector<std::int64_t>& v, const Shape& s) { return from_values(v, s); }
Tensor from_vector(const std::vector<std::uint8_t>& v, const Shape& s) { return from_values(v, s); }
Tensor from_vector(const std::vector<std::int8_t>& v, const Shape& s) { return from_values(v, s); }
Tensor empty_like(const Tensor& t) { return Tensor::empty(t.shape(), t.dtype()); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype()); }
Tensor full_like(const Tensor& t, double value) { return full(t.shape(), value, t.dtype()); }
Tensor rand_like(const Tensor& t, Generator* gen) { return rand(t.shape(), gen); }
Tensor randn_like(const Tensor& t, Generator* gen) { return randn(t.shape(), gen); }

// ---- operators ---------------------------------------------------------------------------------
Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& a, float b) { return add(a, b); }
Tensor operator-(const Tensor& a, float b) { return sub(a, b); }
Tensor operator*(const Tensor& a, float b) { return mul(a, b); }
Tensor operator/(const Tensor& a, float b) { return div(a, b); }
Tensor operator+(float a, const Tensor& b) { return add(b, a); }
Tensor operator-(float a, const Tensor& b) { return add(neg(b), a); }
Tensor operator*(float a, const Tensor& b) { return mul(b, a); }
Tensor operator/(float a, const Tensor& b) { return mul(reciprocal(b), a); }
Tensor operator-(const Tensor& a) { return neg(a); }

}  // namespace shrink
