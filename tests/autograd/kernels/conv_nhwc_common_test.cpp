// Pieces of the channel-last conv kernels (autograd/kernels/conv_nhwc_common.h, conv_util.h):
// the border plan's pixel classes and the transpose into scattered destination rows, checked
// against what they promise directly (the conv results themselves are covered by conv_test).
#include "autograd/kernels/conv_nhwc_common.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

namespace shrink::kernels::conv_detail {
namespace {

struct PlanCase {
  i64 OH, OW, s, k, d, pad, H, W;
};

std::string str(const PlanCase& c) {
  return std::to_string(c.OH) + "x" + std::to_string(c.OW) + " s" + std::to_string(c.s) + " k" + std::to_string(c.k) +
         " d" + std::to_string(c.d) + " pad" + std::to_string(c.pad);
}

// Taps of a kernel dimension whose input o*s + t*d lies in [pad, pad + len).
std::vector<i64> valid(i64 o, i64 s, i64 k, i64 d, i64 pad, i64 len) {
  std::vector<i64> taps;
  for (i64 t = 0; t < k; ++t)
    if (o * s + t * d >= pad && o * s + t * d < pad + len) taps.push_back(t);
  return taps;
}

TEST(BorderPlan, EveryPixelOnceWithEveryTapThatReadsTheImageAndNoTinyCornerTiles) {
  const std::vector<PlanCase> cases = {
      {7, 7, 1, 3, 1, 1, 7, 7},      // 3x3 pad 1 on a 7x7 map: the corners join an edge class
      {28, 28, 1, 3, 1, 1, 28, 28},  // the resnet20 first stage
      {3, 3, 1, 3, 1, 1, 3, 3},      // every class tiny: all end up in the full-kernel class
      {5, 4, 2, 3, 1, 1, 9, 7},      // strided
      {4, 4, 1, 3, 2, 2, 4, 4},      // dilated
      {6, 6, 1, 3, 1, 3, 2, 2},      // padding beyond the kernel's reach: pixels with no tap
  };
  for (const PlanCase& c : cases) {
    const i64 Wbuf = c.W + 2 * c.pad, ld = 3;
    const BorderPlan plan =
        make_border_plan(c.OH, c.OW, c.s, c.s, c.k, c.k, c.d, c.d, c.pad, c.pad, c.H, c.W, Wbuf, ld);
    const i64 P = c.OH * c.OW;
    ASSERT_EQ(static_cast<i64>(plan.order.size()), P) << str(c);
    std::vector<int> seen(static_cast<std::size_t>(P), 0);
    i64 rows = 0;
    for (const auto& cls : plan.classes) {
      EXPECT_EQ(cls.begin, rows) << str(c);
      rows = cls.end;
      for (i64 r = cls.begin; r < cls.end; ++r) {
        const i64 p = plan.order[r], oh = p / c.OW, ow = p % c.OW;
        ++seen[p];
        EXPECT_EQ(plan.inverse[p], r) << str(c);
        EXPECT_EQ(plan.pixoff[r], (oh * c.s * Wbuf + ow * c.s) * ld) << str(c);
        // The class reads every tap of the pixel that lies inside the image (more are allowed:
        // they read zero padding).
        for (i64 i : valid(oh, c.s, c.k, c.d, c.pad, c.H))
          for (i64 j : valid(ow, c.s, c.k, c.d, c.pad, c.W))
            EXPECT_NE(std::find(cls.taps.begin(), cls.taps.end(), i * c.k + j), cls.taps.end())
                << str(c) << " pixel " << p << " misses tap " << i * c.k + j;
        // Every tap stays inside the padded image.
        for (i64 t : cls.taps) {
          EXPECT_LT(oh * c.s + (t / c.k) * c.d, c.H + 2 * c.pad) << str(c);
          EXPECT_LT(ow * c.s + (t % c.k) * c.d, c.W + 2 * c.pad) << str(c);
        }
      }
      // A one-row class with taps (a lone corner pixel: a latency-bound one-row tile) remains
      // only when no class encloses its taps for less than 4 times as many; on these maps the
      // full kernel's class always does.
      if (!cls.taps.empty()) EXPECT_GE(cls.end - cls.begin, 2) << str(c) << " class of " << cls.taps.size() << " taps";
    }
    EXPECT_EQ(rows, P) << str(c);
    for (i64 p = 0; p < P; ++p) EXPECT_EQ(seen[p], 1) << str(c) << " pixel " << p;
  }
}

TEST(BorderPlan, KeepsTheBorderClassesThatAreLargeEnough) {
  // On 28x28 the edges (26 pixels) skip the padded taps: fewer computed pairs than the full
  // kernel everywhere, and exactly the valid pairs plus the corners' extra taps.
  const BorderPlan plan = make_border_plan(28, 28, 1, 1, 3, 3, 1, 1, 1, 1, 28, 28, 30, 16);
  const i64 valid_total = 26 * 26 * 9 + 4 * 26 * 6 + 4 * 4;
  EXPECT_EQ(valid_pairs(plan), valid_total + 4 * (6 - 4));
  EXPECT_LT(valid_pairs(plan), 28 * 28 * 9);
}

bool same_plan(const BorderPlan& a, const BorderPlan& b) {
  if (a.order != b.order || a.inverse != b.inverse || a.pixoff != b.pixoff || a.classes.size() != b.classes.size())
    return false;
  for (std::size_t c = 0; c < a.classes.size(); ++c)
    if (a.classes[c].begin != b.classes[c].begin || a.classes[c].end != b.classes[c].end ||
        a.classes[c].taps != b.classes[c].taps)
      return false;
  return true;
}

TEST(BorderPlan, TheCacheGivesTheSamePlanAndStaysCorrectPastItsBound) {
  // 80 geometries (more than the cache holds), twice over: every answer equals a fresh plan, and
  // a repeated geometry within the bound is the cached object itself.
  for (int round = 0; round < 2; ++round)
    for (i64 size = 3; size < 83; ++size) {
      const auto cached = cached_border_plan(size, size, 1, 1, 3, 3, 1, 1, 1, 1, size, size, size + 2, 8);
      EXPECT_TRUE(same_plan(*cached, make_border_plan(size, size, 1, 1, 3, 3, 1, 1, 1, 1, size, size, size + 2, 8)))
          << size;
    }
  const auto a = cached_border_plan(7, 7, 2, 2, 3, 3, 1, 1, 1, 1, 14, 14, 16, 32);
  EXPECT_EQ(a, cached_border_plan(7, 7, 2, 2, 3, 3, 1, 1, 1, 1, 14, 14, 16, 32));
  // Any argument that differs is another plan (here only the pixel stride).
  EXPECT_NE(a, cached_border_plan(7, 7, 2, 2, 3, 3, 1, 1, 1, 1, 14, 14, 16, 16));
}

TEST(PackConvWeights, PanelRowsAreTapMajorAndPaddingColumnsZero) {
  // Groups of 2, output channels per group from one lane to past one column block, 3 taps.
  for (i64 Cog : {i64{1}, i64{8}, i64{12}, 2 * kBlockCols + 3}) {
    const i64 G = 2, Cg = 5, T = 3, K = T * Cg, cols_pad = pad_to_packet(Cog);
    std::vector<float> w(static_cast<std::size_t>(G * Cog * Cg * T));
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = 1.0f + static_cast<float>(i);
    ScratchBuffer buf;
    float* stale = buf.get(static_cast<std::size_t>(G * K * cols_pad));  // what a reused buffer holds
    std::fill(stale, stale + G * K * cols_pad, -1.0f);
    const float* p = pack_conv_weights(buf, w.data(), G, Cog, Cg, T);
    for (i64 g = 0; g < G; ++g)
      for (i64 col0 = 0; col0 < cols_pad; col0 += kBlockCols) {
        const i64 width = block_nv(cols_pad, col0) * kPS;
        for (i64 t = 0; t < T; ++t)
          for (i64 ci = 0; ci < Cg; ++ci)
            for (i64 j = 0; j < width; ++j) {
              const i64 co = col0 + j;
              const float want = co < Cog ? w[static_cast<std::size_t>(((g * Cog + co) * Cg + ci) * T + t)] : 0.0f;
              ASSERT_EQ(p[g * K * cols_pad + K * col0 + (t * Cg + ci) * width + j], want)
                  << "Cog " << Cog << " group " << g << " tap " << t << " cin " << ci << " cout " << co;
            }
      }
  }
}

TEST(Transpose, WritesEachDestinationRowWhereTheTableSays) {
  for (i64 rows : {1, 7, 8, 16, 19})
    for (i64 cols : {1, 9, 16, 30}) {
      const i64 lds = cols + 2, stride = rows + 3;
      std::vector<float> src(static_cast<std::size_t>(rows * lds));
      for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<float>(i);
      // Destination rows in reverse order with gaps of 3 floats between them.
      std::vector<i64> dst_rows(static_cast<std::size_t>(cols));
      for (i64 j = 0; j < cols; ++j) dst_rows[j] = (cols - 1 - j) * stride;
      std::vector<float> dst(static_cast<std::size_t>(cols * stride), -1.0f);
      transpose(src.data(), rows, cols, lds, dst.data(), 0, nullptr, dst_rows.data());
      for (i64 j = 0; j < cols; ++j) {
        for (i64 i = 0; i < rows; ++i) ASSERT_EQ(dst[dst_rows[j] + i], src[i * lds + j]) << rows << "x" << cols;
        for (i64 i = rows; i < stride; ++i) ASSERT_EQ(dst[dst_rows[j] + i], -1.0f) << "wrote outside row " << j;
      }
    }
}

TEST(PackPadded, ZeroBorderAndChannelLastInterior) {
  // Two groups of 3 channels in columns of 4 (one zero column each), a 1-pixel top and 2-pixel
  // left border; and the dense case (no side padding) with a bottom border only.
  for (const auto& [top, left, Hp, Wp] : std::vector<std::array<i64, 4>>{{1, 2, 7, 9}, {0, 0, 6, 5}}) {
    const i64 H = 5, W = 5;
    const Layout L{2, 3, 4, 8};
    std::vector<float> src(static_cast<std::size_t>(6 * H * W));
    for (std::size_t i = 0; i < src.size(); ++i) src[i] = 1.0f + static_cast<float>(i);
    std::vector<float> dst(static_cast<std::size_t>(Hp * Wp * L.ld), -1.0f);
    pack_padded(src.data(), H, W, L, top, left, Hp, Wp, dst.data());
    for (i64 y = 0; y < Hp; ++y)
      for (i64 x = 0; x < Wp; ++x)
        for (i64 col = 0; col < L.ld; ++col) {
          const i64 h = y - top, w = x - left, g = col / L.gstride, c = col % L.gstride;
          const bool inside = h >= 0 && h < H && w >= 0 && w < W && c < L.cpg;
          const float want = inside ? src[((g * L.cpg + c) * H + h) * W + w] : 0.0f;
          ASSERT_EQ(dst[(y * Wp + x) * L.ld + col], want) << "pixel " << y << "," << x << " column " << col;
        }
  }
}

}  // namespace
}  // namespace shrink::kernels::conv_detail
