#include "autograd/kernels/conv_nhwc_common.h"

#include <algorithm>
#include <array>
#include <map>
#include <tuple>

namespace shrink::kernels::conv_detail {

void pack_padded(const float* src, i64 H, i64 W, const Layout& L, i64 top, i64 left, i64 Hp, i64 Wp, float* dst) {
  // Whole planes are transposed at once (rows of a few pixels would leave the packet transposes
  // idle). With side padding each pixel goes straight to its place in the padded image (no
  // staging copy); without, the rows are dense and the transpose needs no pixel table.
  const i64 row = Wp * L.ld, HW = H * W;
  const bool dense_rows = left == 0 && Wp == W;
  thread_local std::vector<i64> pix;
  if (!dense_rows) {
    pix.resize(static_cast<std::size_t>(HW));
    for (i64 h = 0; h < H; ++h)
      for (i64 w = 0; w < W; ++w) pix[h * W + w] = ((top + h) * Wp + left + w) * L.ld;
  }
  float* interior = dst + top * row;
  const auto pixel = [&](i64 p) { return dense_rows ? interior + p * L.ld : dst + pix[p]; };
  std::fill(dst, interior, 0.0f);
  std::fill(dst + (top + H) * row, dst + Hp * row, 0.0f);
  if (!dense_rows)
    for (i64 h = 0; h < H; ++h) {
      float* r = interior + h * row;
      std::fill(r, r + left * L.ld, 0.0f);
      std::fill(r + (left + W) * L.ld, r + row, 0.0f);
    }
  for (i64 g = 0; g < L.groups; ++g) {
    transpose(src + g * L.cpg * HW, L.cpg, HW, HW, (dense_rows ? interior : dst) + g * L.gstride, L.ld, nullptr,
              dense_rows ? nullptr : pix.data());
    if (L.gstride > L.cpg)
      for (i64 p = 0; p < HW; ++p) std::fill(pixel(p) + g * L.gstride + L.cpg, pixel(p) + (g + 1) * L.gstride, 0.0f);
  }
}

void unpack_dense(const float* src, i64 P, const Layout& L, float* dst, const i64* inverse) {
  for (i64 g = 0; g < L.groups; ++g) transpose(src + g * L.gstride, P, L.cpg, L.ld, dst + g * L.cpg * P, P, inverse);
}

void tap_offsets(i64 kh, i64 kw, i64 dh, i64 dw, i64 Wp, i64 ld, std::vector<i64>& off) {
  off.resize(static_cast<std::size_t>(kh * kw));
  for (i64 i = 0; i < kh; ++i)
    for (i64 j = 0; j < kw; ++j) off[i * kw + j] = (i * dh * Wp + j * dw) * ld;
}

std::vector<i64> tap_offsets(i64 kh, i64 kw, i64 dh, i64 dw, i64 Wp, i64 ld) {
  std::vector<i64> off;
  tap_offsets(kh, kw, dh, dw, Wp, ld, off);
  return off;
}

namespace {
// Taps [lo, hi) of a kernel dimension whose input o*s + k*d falls in [begin, begin+len).
void valid_taps(i64 o, i64 s, i64 k, i64 d, i64 begin, i64 len, i64& lo, i64& hi) {
  lo = 0;
  while (lo < k && o * s + lo * d < begin) ++lo;
  hi = k;
  while (hi > lo && o * s + (hi - 1) * d >= begin + len) --hi;
}

using TapRect = std::tuple<i64, i64, i64, i64>;  // taps [ilo, ihi) × [jlo, jhi)

i64 area(const TapRect& r) { return (std::get<1>(r) - std::get<0>(r)) * (std::get<3>(r) - std::get<2>(r)); }

bool encloses(const TapRect& outer, const TapRect& inner) {
  return std::get<0>(outer) <= std::get<0>(inner) && std::get<1>(outer) >= std::get<1>(inner) &&
         std::get<2>(outer) <= std::get<2>(inner) && std::get<3>(outer) >= std::get<3>(inner);
}

// Moves the pixels of each class of fewer than kMinRows rows (and at least one tap) into the
// class with the smallest enclosing tap rectangle, when its taps cost less than the small tile's
// latency-bound steps: a tile of r < kMinRows rows runs at about r / kMinRows of the FMA rate.
// Classes are visited from the smallest rectangle up, so a class that received pixels is judged
// with its new size. Emptied classes are dropped.
void merge_small_classes(std::vector<TapRect>& keys, std::vector<std::vector<i64>>& members) {
  constexpr i64 kMinRows = 4;
  std::vector<std::size_t> by_area(keys.size());
  for (std::size_t c = 0; c < keys.size(); ++c) by_area[c] = c;
  std::stable_sort(by_area.begin(), by_area.end(),
                   [&](std::size_t a, std::size_t b) { return area(keys[a]) < area(keys[b]); });
  for (std::size_t c : by_area) {
    const i64 rows = static_cast<i64>(members[c].size()), taps = area(keys[c]);
    if (rows == 0 || rows >= kMinRows || taps == 0) continue;
    std::size_t best = keys.size();
    for (std::size_t d = 0; d < keys.size(); ++d)
      if (d != c && !members[d].empty() && encloses(keys[d], keys[c]) &&
          (best == keys.size() || area(keys[d]) < area(keys[best])))
        best = d;
    if (best == keys.size() || area(keys[best]) * rows >= taps * kMinRows) continue;
    members[best].insert(members[best].end(), members[c].begin(), members[c].end());
    members[c].clear();
  }
  std::size_t kept = 0;
  for (std::size_t c = 0; c < keys.size(); ++c)
    if (!members[c].empty()) {
      if (kept != c) {
        keys[kept] = keys[c];
        members[kept] = std::move(members[c]);
      }
      ++kept;
    }
  keys.resize(kept);
  members.resize(kept);
}

}  // namespace

BorderPlan make_border_plan(i64 OH, i64 OW, i64 sh, i64 sw, i64 kh, i64 kw, i64 dh, i64 dw, i64 top, i64 left, i64 Hin,
                            i64 Win, i64 Wbuf, i64 ld) {
  // Classes keyed by their tap rectangle, in order of first appearance (row-major).
  std::map<std::tuple<i64, i64, i64, i64>, std::size_t> index;
  std::vector<std::vector<i64>> members;
  std::vector<TapRect> keys;
  for (i64 oh = 0; oh < OH; ++oh) {
    i64 ilo, ihi;
    valid_taps(oh, sh, kh, dh, top, Hin, ilo, ihi);
    for (i64 ow = 0; ow < OW; ++ow) {
      i64 jlo, jhi;
      valid_taps(ow, sw, kw, dw, left, Win, jlo, jhi);
      const auto key = std::make_tuple(ilo, ihi, jlo, jhi);
      auto it = index.find(key);
      if (it == index.end()) {
        it = index.emplace(key, members.size()).first;
        members.emplace_back();
        keys.push_back(key);
      }
      members[it->second].push_back(oh * OW + ow);
    }
  }
  merge_small_classes(keys, members);
  BorderPlan plan;
  plan.inverse.resize(static_cast<std::size_t>(OH * OW));
  for (std::size_t c = 0; c < members.size(); ++c) {
    BorderPlan::Class cls;
    cls.begin = static_cast<i64>(plan.order.size());
    for (i64 p : members[c]) {
      plan.inverse[p] = static_cast<i64>(plan.order.size());
      plan.order.push_back(p);
      plan.pixoff.push_back(((p / OW) * sh * Wbuf + (p % OW) * sw) * ld);
    }
    cls.end = static_cast<i64>(plan.order.size());
    const auto [ilo, ihi, jlo, jhi] = keys[c];
    for (i64 i = ilo; i < ihi; ++i)
      for (i64 j = jlo; j < jhi; ++j) cls.taps.push_back(i * kw + j);
    plan.classes.push_back(std::move(cls));
  }
  return plan;
}

std::shared_ptr<const BorderPlan> cached_border_plan(i64 OH, i64 OW, i64 sh, i64 sw, i64 kh, i64 kw, i64 dh, i64 dw,
                                                     i64 top, i64 left, i64 Hin, i64 Win, i64 Wbuf, i64 ld) {
  using Key = std::array<i64, 14>;
  // Bounded: a program that runs many geometries (a sweep) rebuilds plans instead of growing.
  constexpr std::size_t kMaxPlans = 64;
  thread_local std::map<Key, std::shared_ptr<const BorderPlan>> cache;
  const Key key{OH, OW, sh, sw, kh, kw, dh, dw, top, left, Hin, Win, Wbuf, ld};
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  auto plan = std::make_shared<const BorderPlan>(
      make_border_plan(OH, OW, sh, sw, kh, kw, dh, dw, top, left, Hin, Win, Wbuf, ld));
  if (cache.size() >= kMaxPlans) cache.clear();
  cache.emplace(key, plan);
  return plan;
}

const float* pack_conv_weights(ScratchBuffer& buf, const float* w, i64 G, i64 Cog, i64 Cg, i64 T) {
  const i64 K = T * Cg, cols_pad = pad_to_packet(Cog);
  float* out = buf.get(static_cast<std::size_t>(G * K * cols_pad));
  // Source column s = ci·T + t of a weight row goes to panel row t·Cg + ci.
  thread_local std::vector<i64> dst_rows;
  dst_rows.resize(static_cast<std::size_t>(K));
  for (i64 col0 = 0; col0 < cols_pad; col0 += kBlockCols) {
    const i64 width = block_nv(cols_pad, col0) * kPS, valid = std::min(width, Cog - col0);
    for (i64 ci = 0; ci < Cg; ++ci)
      for (i64 t = 0; t < T; ++t) dst_rows[ci * T + t] = (t * Cg + ci) * width;
    for (i64 g = 0; g < G; ++g) {
      float* block = out + g * K * cols_pad + K * col0;
      if (valid < width)  // the padding columns feed packet-wide loads: zero
        for (i64 r = 0; r < K; ++r) std::fill(block + r * width + valid, block + (r + 1) * width, 0.0f);
      transpose(w + (g * Cog + col0) * K, valid, K, K, block, width, nullptr, dst_rows.data());
    }
  }
  return out;
}

i64 valid_pairs(const BorderPlan& plan) {
  i64 n = 0;
  for (const auto& c : plan.classes) n += (c.end - c.begin) * static_cast<i64>(c.taps.size());
  return n;
}

void implicit_gemm(const float* img, const BorderPlan& plan, const std::vector<i64>& toff, i64 groups, i64 cin,
                   i64 cin_stride, const float* panels, i64 cols_pad, const float* bias, float* out, i64 ldo,
                   std::vector<Seg>& segs) {
  const i64 K = static_cast<i64>(toff.size()) * cin;
  for (i64 gi = 0; gi < groups; ++gi)
    for (i64 col0 = 0; col0 < cols_pad; col0 += kBlockCols) {
      const int nv = block_nv(cols_pad, col0);
      const i64 NB = nv * kPS;
      const float* panel = panels + gi * K * cols_pad + K * col0;
      const float* init = bias != nullptr ? bias + gi * cols_pad + col0 : nullptr;
      for (const auto& cls : plan.classes) {
        int nseg = 0;
        for (i64 t : cls.taps) segs[nseg++] = Seg{img + toff[t] + gi * cin_stride, panel + t * cin * NB};
        run_rows(cls.end - cls.begin, nv, segs.data(), nseg, Steps{cin, 1, NB}, plan.pixoff.data() + cls.begin, init, 0,
                 false, out + cls.begin * ldo + gi * cols_pad + col0, ldo);
      }
    }
}

}  // namespace shrink::kernels::conv_detail
