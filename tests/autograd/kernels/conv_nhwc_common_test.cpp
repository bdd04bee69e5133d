// Pieces of the channel-last conv kernels (autograd/kernels/conv_nhwc_common.h, conv_util.h):
// the transpose into scattered destination rows and the padded channel-last packing, checked
// against what they promise directly (the conv results themselves are covered by conv_test).
#include "autograd/kernels/conv_nhwc_common.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <vector>

namespace shrink::kernels::conv_detail {
namespace {

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
