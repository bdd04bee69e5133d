#include "autograd/kernels/conv_micro.h"

#include <array>
#include <utility>

#include "autograd/error.h"

namespace shrink::kernels::conv_detail {
namespace {

// Tables of every (mr, nv) instantiation: kTable[nv][mr], general and packed strides. Heights
// above max_mr(nv) stay null.
template <bool PACKED, int NV, int... I>
constexpr std::array<MicroFn, kMaxMR + 1> make_row(std::integer_sequence<int, I...>) {
  return {{nullptr, (I + 1 <= max_mr(NV) ? &micro<I + 1, NV, PACKED> : nullptr)...}};
}

template <bool PACKED, int... NV>
constexpr std::array<std::array<MicroFn, kMaxMR + 1>, kMaxNV + 1> make_table(std::integer_sequence<int, NV...>) {
  return {{std::array<MicroFn, kMaxMR + 1>{}, make_row<PACKED, NV + 1>(std::make_integer_sequence<int, kMaxMR>{})...}};
}

constexpr auto kTable = make_table<false>(std::make_integer_sequence<int, kMaxNV>{});
constexpr auto kPackedTable = make_table<true>(std::make_integer_sequence<int, kMaxNV>{});

}  // namespace

MicroFn micro_fn(int mr, int nv, bool packed) {
  SHRINK_ASSERT(nv >= 1 && nv <= kMaxNV && mr >= 1 && mr <= max_mr(nv), "conv micro-kernel ", mr, "x", nv,
                " does not exist");
  return packed ? kPackedTable[nv][mr] : kTable[nv][mr];
}

}  // namespace shrink::kernels::conv_detail
