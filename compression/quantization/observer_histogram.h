#pragma once
/// \file
/// HistogramObserver: PyTorch's torch.ao.quantization.HistogramObserver (SEMANTICS §1,
/// "Observers"). A running histogram of every observed value (options.bins bins, 2048 by
/// default) over the running [min, max]; when a batch widens the range, the old histogram is
/// re-binned onto the wider one by upsampling it 128 times and summing it back down. qparams()
/// then narrows [min, max] bin by bin, moving whichever end drops more mass, and stops as soon
/// as the L2 quantisation error (of values spread uniformly within each bin) rises; the range it
/// stops at goes through calculate_qparams().
///
/// Same float32 operations as PyTorch's, with three differences, all documented where they act:
/// - PyTorch 1.13 builds the histograms over [int(min), int(max)] (a truncation PyTorch 2
///   dropped, which leaves values outside the truncated range uncounted while the histogram is
///   still read as spanning [min, max]); "histogram" uses the float range. Both agree when the
///   range has whole-number ends. HistogramRange::Truncated ("histogram_torch113") reproduces
///   PyTorch 1.13: each batch binned over [trunc(min), trunc(max)] of the running range, or over
///   the batch's own [min, max] when the two truncate to the same integer (histc's rule for
///   min == max).
/// - The error of a candidate range is summed in double then rounded to float32 (PyTorch sums in
///   float32, in its vectorised order); the search compares these sums, so a near tie between two
///   candidates could resolve differently. The fixtures match bit for bit.
/// - The destination grid has qmax − qmin + 1 levels (PyTorch takes 2^8 from the dtype even for
///   a narrower quant_min/quant_max); the same for 8-bit grids.
/// Per tensor only (options.axis −1), as in PyTorch.

#include <cstdint>

#include "compression/quantization/observers.h"

namespace shrink::compression {

/// Over which range each batch is binned (see above).
enum class HistogramRange {
  Float,      ///< [min, max] of the running range ("histogram"; PyTorch 2)
  Truncated,  ///< [trunc(min), trunc(max)] ("histogram_torch113"; PyTorch 1.13)
};

class HistogramObserver : public Observer {
 public:
  explicit HistogramObserver(ObserverOptions options = {}, HistogramRange range = HistogramRange::Float);
  void observe(const Tensor& x) override;
  QParams qparams() const override;
  std::string name() const override { return range_ == HistogramRange::Float ? "histogram" : "histogram_torch113"; }
  bool empty() const override;
  /// {"histogram": float32 [bins], "min_val", "max_val": float32 [1]} (±inf before any batch).
  io::StateDict state() const override;
  void load_state(const io::StateDict& state) override;

  const Tensor& histogram() const { return histogram_; }
  /// The running range ([1]; +inf / −inf before any batch).
  const Tensor& min_val() const { return min_; }
  const Tensor& max_val() const { return max_; }
  /// The range the L2 search keeps (what qparams() quantizes); ValueError before any batch.
  std::pair<float, float> search_range() const;

 private:
  static constexpr std::int64_t kUpsample = 128;
  HistogramRange range_;
  Tensor histogram_, min_, max_;
};

}  // namespace shrink::compression
