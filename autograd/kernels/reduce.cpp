#include "autograd/kernels/reduce.h"

#include <algorithm>
#include <cmath>

#include "autograd/kernels/copy.h"
#include "autograd/kernels/parallel.h"

namespace shrink::kernels {
namespace {

// Elements per parallel task (below twice this a reduction runs on one thread).
constexpr std::int64_t kGrain = 32768;
// Columns reduced together when the reduced dim is not innermost (one double accumulator each).
constexpr std::int64_t kBlock = 512;

// A contiguous reduction: out[o, i] = Σ_r x[o, r, i].
struct Geometry {
  std::int64_t outer = 1, reduced = 1, inner = 1;
};

// Runs of equal "reduced" flag over the dims of size > 1 (size-1 dims fit anywhere).
std::vector<std::pair<std::int64_t, bool>> runs(const Shape& shape, const std::vector<std::int64_t>& dims) {
  std::vector<std::pair<std::int64_t, bool>> r;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    const bool red = std::binary_search(dims.begin(), dims.end(), static_cast<std::int64_t>(d));
    if (!r.empty() && r.back().second == red) {
      r.back().first *= shape[d];
    } else {
      r.emplace_back(shape[d], red);
    }
  }
  return r;
}

// The outer x R x inner geometry when the reduced dims form one contiguous run (or none).
bool single_run(const Shape& shape, const std::vector<std::int64_t>& dims, Geometry& g) {
  const auto r = runs(shape, dims);
  std::size_t n_red = 0;
  for (const auto& [size, red] : r) n_red += red;
  if (n_red > 1) return false;
  g = Geometry{};
  bool after = false;
  for (const auto& [size, red] : r) {
    if (red) {
      g.reduced = size;
      after = true;
    } else {
      (after ? g.inner : g.outer) *= size;
    }
  }
  return true;
}

// Σ f(p[i], o) over one contiguous row with 8 fixed accumulator lanes (vectorisable, and the
// order depends only on n).
template <typename F>
double row_sum(const float* p, std::int64_t n, std::int64_t o, F& f) {
  double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) lane[j] += f(p[i + j], o);
  for (int j = 0; i < n; ++i, ++j) lane[j] += f(p[i], o);
  return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

// out[o, i] = scale · Σ_r f(x[o, r, i], o·inner + i), R ≥ 1. R is split into fixed chunks whose
// double partial sums are added in chunk order.
template <typename F>
void sum_kernel(const float* x, const Geometry& g, double scale, float* out, F f) {
  const std::int64_t outer = g.outer, R = g.reduced, inner = g.inner;
  if (inner == 1) {
    const std::int64_t nch = chunk_count(R);
    if (nch == 1) {
      parallel_for(outer, std::max<std::int64_t>(1, kGrain / R), [&](std::int64_t o0, std::int64_t o1) {
        for (std::int64_t o = o0; o < o1; ++o) out[o] = static_cast<float>(row_sum(x + o * R, R, o, f) * scale);
      });
      return;
    }
    std::vector<double> part(static_cast<std::size_t>(outer * nch));
    parallel_for(outer * nch, 1, [&](std::int64_t u0, std::int64_t u1) {
      for (std::int64_t u = u0; u < u1; ++u) {
        const std::int64_t o = u / nch, s = (u % nch) * kReduceChunk, e = std::min(R, s + kReduceChunk);
        part[u] = row_sum(x + o * R + s, e - s, o, f);
      }
    });
    for (std::int64_t o = 0; o < outer; ++o) {
      double acc = 0;
      for (std::int64_t c = 0; c < nch; ++c) acc += part[o * nch + c];
      out[o] = static_cast<float>(acc * scale);
    }
    return;
  }
  // Reduced dim not innermost: accumulate whole rows of a column block.
  const std::int64_t W = std::min(inner, kBlock), nib = (inner + W - 1) / W;
  const std::int64_t rpc = std::max<std::int64_t>(1, kReduceChunk / W), nrc = (R + rpc - 1) / rpc;
  std::vector<double> part(nrc > 1 ? static_cast<std::size_t>(outer * nrc * inner) : 0);
  parallel_for(outer * nib * nrc, std::max<std::int64_t>(1, kGrain / (std::min(R, rpc) * W)),
               [&](std::int64_t u0, std::int64_t u1) {
                 double acc[kBlock];
                 for (std::int64_t u = u0; u < u1; ++u) {
                   const std::int64_t c = u % nrc, ib = (u / nrc) % nib, o = u / (nrc * nib);
                   const std::int64_t i0 = ib * W, w = std::min(W, inner - i0);
                   const std::int64_t r0 = c * rpc, r1 = std::min(R, r0 + rpc), base = o * inner + i0;
                   std::fill(acc, acc + w, 0.0);
                   for (std::int64_t r = r0; r < r1; ++r) {
                     const float* row = x + (o * R + r) * inner + i0;
                     for (std::int64_t i = 0; i < w; ++i) acc[i] += f(row[i], base + i);
                   }
                   if (nrc == 1) {
                     for (std::int64_t i = 0; i < w; ++i) out[base + i] = static_cast<float>(acc[i] * scale);
                   } else {
                     double* p = part.data() + (o * nrc + c) * inner + i0;
                     std::copy(acc, acc + w, p);
                   }
                 }
               });
  if (nrc == 1) return;
  parallel_for(outer * inner, kGrain, [&](std::int64_t k0, std::int64_t k1) {
    for (std::int64_t k = k0; k < k1; ++k) {
      const std::int64_t o = k / inner, i = k % inner;
      double acc = 0;
      for (std::int64_t c = 0; c < nrc; ++c) acc += part[(o * nrc + c) * inner + i];
      out[k] = static_cast<float>(acc * scale);
    }
  });
}

struct Identity {
  double operator()(float v, std::int64_t) const { return v; }
};

// v is a better extreme than best: larger (smaller) or the first NaN.
template <bool Max>
inline bool better(float v, float best) {
  return (Max ? v > best : v < best) || (v != v && best == best);
}

template <bool Max>
void extreme_kernel(const float* x, const Geometry& g, float* val, std::int64_t* idx) {
  const std::int64_t outer = g.outer, R = g.reduced, inner = g.inner;
  if (inner == 1) {
    parallel_for(outer, std::max<std::int64_t>(1, kGrain / R), [&](std::int64_t o0, std::int64_t o1) {
      for (std::int64_t o = o0; o < o1; ++o) {
        const float* row = x + o * R;
        float best = row[0];
        std::int64_t bi = 0;
        for (std::int64_t r = 1; r < R; ++r)
          if (better<Max>(row[r], best)) {
            best = row[r];
            bi = r;
          }
        val[o] = best;
        idx[o] = bi;
      }
    });
    return;
  }
  const std::int64_t W = std::min(inner, kBlock), nib = (inner + W - 1) / W;
  parallel_for(outer * nib, std::max<std::int64_t>(1, kGrain / (R * W)), [&](std::int64_t u0, std::int64_t u1) {
    for (std::int64_t u = u0; u < u1; ++u) {
      const std::int64_t o = u / nib, i0 = (u % nib) * W, w = std::min(W, inner - i0), base = o * inner + i0;
      const float* first = x + o * R * inner + i0;
      std::copy(first, first + w, val + base);
      std::fill(idx + base, idx + base + w, std::int64_t{0});
      for (std::int64_t r = 1; r < R; ++r) {
        const float* row = first + r * inner;
        for (std::int64_t i = 0; i < w; ++i)
          if (better<Max>(row[i], val[base + i])) {
            val[base + i] = row[i];
            idx[base + i] = r;
          }
      }
    }
  });
}

template <bool Max>
std::pair<float, std::int64_t> extreme_all_kernel(const float* x, std::int64_t n) {
  const std::int64_t nch = chunk_count(n);
  std::vector<std::pair<float, std::int64_t>> part(static_cast<std::size_t>(nch));
  parallel_for(nch, 1, [&](std::int64_t c0, std::int64_t c1) {
    for (std::int64_t c = c0; c < c1; ++c) {
      const std::int64_t s = c * kReduceChunk, e = std::min(n, s + kReduceChunk);
      std::pair<float, std::int64_t> best{x[s], s};
      for (std::int64_t i = s + 1; i < e; ++i)
        if (better<Max>(x[i], best.first)) best = {x[i], i};
      part[c] = best;
    }
  });
  std::pair<float, std::int64_t> best = part[0];
  for (std::int64_t c = 1; c < nch; ++c)
    if (better<Max>(part[c].first, best.first)) best = part[c];
  return best;
}

Geometry dim_geometry(const Shape& shape, std::int64_t dim) {
  Geometry g;
  for (std::int64_t d = 0; d < static_cast<std::int64_t>(shape.size()); ++d)
    (d < dim ? g.outer : d == dim ? g.reduced : g.inner) *= shape[static_cast<std::size_t>(d)];
  return g;
}

}  // namespace

std::vector<std::int64_t> reduce_dims(const std::vector<std::int64_t>& dims, std::int64_t ndim, const char* op) {
  std::vector<std::int64_t> out;
  for (auto d : dims) out.push_back(normalize_dim(d, ndim, op));
  std::vector<std::int64_t> sorted = out;
  std::sort(sorted.begin(), sorted.end());
  const auto dup = std::adjacent_find(sorted.begin(), sorted.end());
  if (dup != sorted.end()) {
    std::string list;
    for (std::size_t i = 0; i < dims.size(); ++i) list += (i ? ", " : "") + std::to_string(dims[i]);
    SHRINK_CHECK(false, op, ": expected distinct dims, got [", list, "] (dim ", *dup, " appears more than once)");
  }
  if (ndim == 0) return {};
  if (sorted.empty())
    for (std::int64_t d = 0; d < ndim; ++d) sorted.push_back(d);
  return sorted;
}

Shape reduced_shape(const Shape& shape, const std::vector<std::int64_t>& dims, bool keepdim) {
  Shape out;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    const bool red = std::binary_search(dims.begin(), dims.end(), static_cast<std::int64_t>(d));
    if (!red) {
      out.push_back(shape[d]);
    } else if (keepdim) {
      out.push_back(1);
    }
  }
  return out;
}

std::int64_t reduced_count(const Shape& shape, const std::vector<std::int64_t>& dims) {
  std::int64_t n = 1;
  for (auto d : dims) n *= shape[static_cast<std::size_t>(d)];
  return n;
}

Tensor sum_dims(const Tensor& x, const std::vector<std::int64_t>& dims, double scale) {
  const Shape out_shape = reduced_shape(x.shape(), dims, true);
  if (x.numel() == 0) return full(out_shape, 0.0 * scale);  // empty sum: 0 (mean: 0·inf = nan)
  // Reduce the runs innermost first: each pass is a contiguous outer x R x inner reduction of
  // the previous result (x itself is never copied); the scale is applied by the last pass.
  auto r = runs(x.shape(), dims);
  const float* src = x.data<float>();
  Tensor cur;
  std::int64_t last = -1;
  for (std::size_t j = 0; j < r.size(); ++j)
    if (r[j].second) last = static_cast<std::int64_t>(j);
  if (last < 0) {  // nothing of size > 1 is reduced
    Tensor out = Tensor::empty(out_shape);
    const float* p = x.data<float>();
    float* o = out.data<float>();
    for (std::int64_t i = 0; i < x.numel(); ++i) o[i] = static_cast<float>(p[i] * scale);
    return out;
  }
  std::int64_t first = -1;
  for (std::size_t j = 0; j < r.size(); ++j)
    if (r[j].second && first < 0) first = static_cast<std::int64_t>(j);
  for (std::int64_t j = last; j >= 0; --j) {
    if (!r[j].second) continue;
    Geometry g;
    g.reduced = r[j].first;
    for (std::int64_t k = 0; k < j; ++k) g.outer *= r[k].first;
    for (std::size_t k = j + 1; k < r.size(); ++k) g.inner *= r[k].first;
    Tensor next = Tensor::empty({g.outer * g.inner});
    sum_kernel(src, g, j == first ? scale : 1.0, next.data<float>(), Identity{});
    r[j].first = 1;
    cur = next;
    src = cur.data<float>();
  }
  return cur.view_as_shape(out_shape);
}

VarResult var_dims(const Tensor& x, const std::vector<std::int64_t>& dims, std::int64_t correction) {
  const Shape out_shape = reduced_shape(x.shape(), dims, true);
  const std::int64_t n = reduced_count(x.shape(), dims);
  const double divisor = static_cast<double>(std::max<std::int64_t>(0, n - correction));
  if (x.numel() == 0) {
    const double nan = std::nan("");
    return {full(out_shape, nan), full(out_shape, nan)};
  }
  Geometry g;
  Tensor src = x;
  if (!single_run(x.shape(), dims, g)) {
    // Several separate runs: move the reduced dims last (one copy), so that each output is one
    // contiguous row.
    std::vector<std::int64_t> perm;
    for (std::int64_t d = 0; d < x.dim(); ++d)
      if (!std::binary_search(dims.begin(), dims.end(), d)) perm.push_back(d);
    perm.insert(perm.end(), dims.begin(), dims.end());
    src = permute_copy(x, perm);
    g = Geometry{x.numel() / n, n, 1};
  }
  const float* p = src.data<float>();
  Tensor mean = Tensor::empty(out_shape), var = Tensor::empty(out_shape);
  sum_kernel(p, g, 1.0 / static_cast<double>(n), mean.data<float>(), Identity{});
  const float* m = mean.data<float>();
  // Second pass: squared deviations from the (float) mean; k is the output index.
  sum_kernel(p, g, 1.0 / divisor, var.data<float>(), [m](float v, std::int64_t k) {
    const double d = static_cast<double>(v) - static_cast<double>(m[k]);
    return d * d;
  });
  return {var, mean};
}

ExtremeResult extreme_dim(const Tensor& x, std::int64_t dim, bool is_max) {
  const Geometry g = dim_geometry(x.shape(), dim);
  Shape shape = x.shape();
  if (!shape.empty()) shape[static_cast<std::size_t>(dim)] = 1;
  ExtremeResult r{Tensor::empty(shape), Tensor::empty(shape, DType::Int64)};
  if (r.values.numel() == 0) return r;
  SHRINK_ASSERT(g.reduced > 0, "extreme_dim on an empty dim");
  if (is_max) {
    extreme_kernel<true>(x.data<float>(), g, r.values.data<float>(), r.indices.data<std::int64_t>());
  } else {
    extreme_kernel<false>(x.data<float>(), g, r.values.data<float>(), r.indices.data<std::int64_t>());
  }
  return r;
}

std::pair<float, std::int64_t> extreme_all(const Tensor& x, bool is_max) {
  SHRINK_ASSERT(x.numel() > 0, "extreme_all on an empty tensor");
  return is_max ? extreme_all_kernel<true>(x.data<float>(), x.numel())
                : extreme_all_kernel<false>(x.data<float>(), x.numel());
}

Tensor scatter_dim(const Tensor& g, const Tensor& indices, const Shape& shape, std::int64_t dim) {
  Tensor out = zeros(shape);
  const Geometry geo = dim_geometry(shape, dim);
  const float* pg = g.data<float>();
  const std::int64_t* pi = indices.data<std::int64_t>();
  float* po = out.data<float>();
  const std::int64_t inner = geo.inner, R = geo.reduced;
  // Each (o, i) writes its own element: disjoint, any thread count.
  parallel_for(geo.outer * inner, kGrain, [&](std::int64_t k0, std::int64_t k1) {
    for (std::int64_t k = k0; k < k1; ++k) {
      const std::int64_t o = k / inner, i = k % inner;
      po[(o * R + pi[k]) * inner + i] = pg[k];
    }
  });
  return out;
}

}  // namespace shrink::kernels
