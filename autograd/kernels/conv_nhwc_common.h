#pragma once
/// \file
/// Pieces shared by the channel-last conv kernels (conv_nhwc.cpp, conv_nhwc_backward.cpp):
/// packing NCHW samples into padded channel-last images and back, weight panels, and the
/// implicit GEMM over an image that skips kernel taps reading only padding. Internal.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "autograd/kernels/conv_micro.h"
#include "autograd/kernels/conv_util.h"
#include "autograd/kernels/parallel.h"

namespace shrink::kernels::conv_detail {

using i64 = std::int64_t;

/// Channel placement in a channel-last buffer: channel c of group c/cpg sits in column
/// (c/cpg)*gstride + c%cpg; pixels are `ld` floats apart. Columns cpg..gstride of each group are
/// kept zero (they feed packet-wide loads).
struct Layout {
  i64 groups, cpg, gstride, ld;
};

/// Copies one NCHW sample src [groups*cpg, H, W] into the channel-last image dst [Hp][Wp][ld]
/// with its top-left interior pixel at (top, left); every other pixel is zero.
void pack_padded(const float* src, i64 H, i64 W, const Layout& L, i64 top, i64 left, i64 Hp, i64 Wp, float* dst);

/// Copies the dense channel-last buffer src (row r = pixel order[r], or pixel r without an
/// order; `inverse` maps a pixel to its row) back to NCHW dst [groups*cpg, P].
void unpack_dense(const float* src, i64 P, const Layout& L, float* dst, const i64* inverse = nullptr);

/// Offsets of each kernel tap (i, j) -> (i*dh*Wp + j*dw)*ld, tap t = i*kw + j.
std::vector<i64> tap_offsets(i64 kh, i64 kw, i64 dh, i64 dw, i64 Wp, i64 ld);
/// tap_offsets into `off` (resized; its storage reused).
void tap_offsets(i64 kh, i64 kw, i64 dh, i64 dw, i64 Wp, i64 ld, std::vector<i64>& off);

/// Packs per group a [rows][pad(cols)] panel, column-blocked as the micro-kernel reads it:
/// the block at col0 (see block_nv) of group g starts at g*rows*pad(cols) + rows*col0 and holds
/// rows of nv*PS floats; value(g, row, col) fills columns < cols, the rest is zero. `buf` is
/// reused across calls (a fresh allocation would page-fault on every call).
template <typename F>
const float* pack_panels(ScratchBuffer& buf, i64 groups, i64 rows, i64 cols, F value) {
  const i64 cols_pad = pad_to_packet(cols);
  float* out = buf.get(static_cast<std::size_t>(groups * rows * cols_pad));
  // In parallel over (group, row): the panels of a 128×128 3×3 layer are 147k values.
  parallel_for(groups * rows, 64, [&](i64 q0, i64 q1) {
    for (i64 q = q0; q < q1; ++q) {
      const i64 g = q / rows, r = q % rows;
      for (i64 col0 = 0; col0 < cols_pad; col0 += kBlockCols) {
        const i64 width = block_nv(cols_pad, col0) * kPS;
        float* dst = out + g * rows * cols_pad + rows * col0 + r * width;
        for (i64 j = 0; j < width; ++j) dst[j] = col0 + j < cols ? value(g, r, col0 + j) : 0.0f;
      }
    }
  });
  return out;
}

/// pack_panels for rows that are strided runs of the source: row(g, r) returns {p, stride}
/// with value(g, r, col) = p[col*stride] (no index arithmetic per element).
template <typename F>
const float* pack_panels_strided(ScratchBuffer& buf, i64 groups, i64 rows, i64 cols, F row) {
  const i64 cols_pad = pad_to_packet(cols);
  float* out = buf.get(static_cast<std::size_t>(groups * rows * cols_pad));
  parallel_for(groups * rows, 64, [&](i64 q0, i64 q1) {
    for (i64 q = q0; q < q1; ++q) {
      const i64 g = q / rows, r = q % rows;
      const auto [src, stride] = row(g, r);
      for (i64 col0 = 0; col0 < cols_pad; col0 += kBlockCols) {
        const i64 width = block_nv(cols_pad, col0) * kPS, valid = std::min(width, cols - col0);
        float* dst = out + g * rows * cols_pad + rows * col0 + r * width;
        for (i64 j = 0; j < valid; ++j) dst[j] = src[(col0 + j) * stride];
        for (i64 j = std::max<i64>(valid, 0); j < width; ++j) dst[j] = 0.0f;
      }
    }
  });
  return out;
}

/// The output pixels of a convolution over a padded image, grouped by the rectangle of kernel
/// taps that read inside the unpadded region. Border pixels skip the taps that would only
/// multiply zero padding (on a 7×7 map with a 3×3 kernel that is 18% of the work) — except the
/// pixels of classes too small to fill a tile (the corners): a tile of one to three rows has too
/// few accumulators to hide the FMA latency, so they join the class with the smallest enclosing
/// rectangle of taps when that costs less, and read a few taps of zero padding (every tap of
/// every pixel lies inside the padded image, so any enclosing rectangle is safe).
struct BorderPlan {
  /// Work-buffer row r holds output pixel order[r], whose top-left tap reads the image at
  /// pixoff[r]; inverse[p] is the row of pixel p.
  std::vector<i64> order, inverse, pixoff;
  /// Rows [begin, end) of the ordering share the kernel taps `taps`.
  struct Class {
    i64 begin, end;
    std::vector<i64> taps;
  };
  std::vector<Class> classes;
};

/// Plan for an OH×OW output with strides (sh, sw), kernel kh×kw with dilation (dh, dw), over an
/// image of `Wbuf` pixels per row and `ld` floats per pixel whose unpadded region is rows
/// [top, top+Hin) and columns [left, left+Win).
BorderPlan make_border_plan(i64 OH, i64 OW, i64 sh, i64 sw, i64 kh, i64 kw, i64 dh, i64 dw, i64 top, i64 left, i64 Hin,
                            i64 Win, i64 Wbuf, i64 ld);

/// make_border_plan's result for the same arguments, from a small per-thread cache: building a
/// plan costs as much as a small layer's whole convolution at batch 1 (a map lookup per pixel),
/// and a model calls its layers with the same few geometries over and over.
std::shared_ptr<const BorderPlan> cached_border_plan(i64 OH, i64 OW, i64 sh, i64 sw, i64 kh, i64 kw, i64 dh, i64 dw,
                                                     i64 top, i64 left, i64 Hin, i64 Win, i64 Wbuf, i64 ld);

/// Packs conv weights w [G·Cog][Cg][T] (T = kernel taps) as the forward pass's panels: per
/// group a [T·Cg][pad(Cog)] panel, row t·Cg + ci, column co, column-blocked as pack_panels
/// lays them out. Packet transposes of whole weight rows, not one strided read per value.
const float* pack_conv_weights(ScratchBuffer& buf, const float* w, i64 G, i64 Cog, i64 Cg, i64 T);

/// Number of (output pixel, tap) pairs that read inside the image (the work of a BorderPlan).
i64 valid_pairs(const BorderPlan& plan);

/// One implicit-GEMM pass over an image: for every group and column block, the rows of `plan`
/// (pixels) × packed columns, reducing over the valid taps × `cin` channels of the image
/// (channel c of group gi at gi*cin_stride + c). Panels as laid out by pack_panels with
/// rows = taps*cin and `cols_pad` columns per group; `bias` (per padded column, may be null)
/// initialises the accumulators. Row r of the result goes to out + r*ldo + gi*cols_pad + col.
void implicit_gemm(const float* img, const BorderPlan& plan, const std::vector<i64>& toff, i64 groups, i64 cin,
                   i64 cin_stride, const float* panels, i64 cols_pad, const float* bias, float* out, i64 ldo,
                   std::vector<Seg>& segs);

}  // namespace shrink::kernels::conv_detail
