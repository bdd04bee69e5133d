#include "io/metrics.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>

namespace shrink::io {
namespace {

void check_inputs(const Tensor& logits, const Tensor& targets, const char* where) {
  SHRINK_CHECK(logits.defined() && targets.defined(), where, ": expected defined logits and targets, got an undefined Tensor");
  SHRINK_CHECK_SHAPE(logits.dim() == 2 && targets.dim() == 1 && logits.size(0) == targets.size(0), where,
                     ": expected logits [N, C] and targets [N], got ", shape_str(logits.shape()), " and ",
                     shape_str(targets.shape()));
  SHRINK_CHECK(logits.dtype() == DType::Float32, where, ": expected float32 logits, got ", dtype_name(logits.dtype()));
  SHRINK_CHECK(targets.dtype() == DType::Int64, where, ": expected int64 targets, got ", dtype_name(targets.dtype()),
               " (Hint: class indices, e.g. targets.to(DType::Int64))");
}

/// Whether logit a (class i) ranks before logit b (class j): larger first, NaN largest, ties to
/// the lower class index.
bool ranks_before(float a, std::int64_t i, float b, std::int64_t j) {
  const bool an = std::isnan(a), bn = std::isnan(b);
  if (an || bn) return an && (!bn || i < j);
  return a > b || (a == b && i < j);
}

/// Per k, the number of rows whose target ranks below k.
std::vector<std::int64_t> count_correct(const Tensor& logits, const Tensor& targets, const std::vector<std::int64_t>& ks,
                                        const char* where) {
  check_inputs(logits, targets, where);
  const std::int64_t n = logits.size(0), c = logits.size(1);
  for (std::int64_t k : ks) SHRINK_CHECK(k >= 1 && k <= c, where, ": expected k in [1, ", c, "], got ", k);
  const float* x = logits.data<float>();
  const std::int64_t* t = targets.data<std::int64_t>();
  std::vector<std::int64_t> correct(ks.size(), 0);
  for (std::int64_t r = 0; r < n; ++r) {
    const std::int64_t target = t[r];
    SHRINK_CHECK_INDEX(target >= 0 && target < c, where, ": expected targets in [0, ", c, "), got ", target,
                       " at index ", r);
    const float* row = x + r * c;
    std::int64_t rank = 0;  // classes ranked before the target
    for (std::int64_t j = 0; j < c; ++j) rank += ranks_before(row[j], j, row[target], target);
    for (std::size_t q = 0; q < ks.size(); ++q) correct[q] += rank < ks[q];
  }
  return correct;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

}  // namespace

std::int64_t correct_topk(const Tensor& logits, const Tensor& targets, std::int64_t k) {
  return count_correct(logits, targets, {k}, "correct_topk")[0];
}

double accuracy(const Tensor& logits, const Tensor& targets, std::int64_t k) {
  const std::int64_t correct = count_correct(logits, targets, {k}, "accuracy")[0];
  return logits.size(0) == 0 ? 0.0 : static_cast<double>(correct) / static_cast<double>(logits.size(0));
}

std::vector<double> topk_accuracy(const Tensor& logits, const Tensor& targets, const std::vector<std::int64_t>& ks) {
  const std::vector<std::int64_t> correct = count_correct(logits, targets, ks, "topk_accuracy");
  std::vector<double> out(ks.size(), 0.0);
  if (logits.size(0) > 0)
    for (std::size_t q = 0; q < ks.size(); ++q) out[q] = static_cast<double>(correct[q]) / static_cast<double>(logits.size(0));
  return out;
}

void RunningMean::update(double value, double weight) {
  SHRINK_CHECK(weight >= 0.0, "RunningMean::update: expected a weight >= 0, got ", weight);
  sum_ += value * weight;
  weight_ += weight;
}

double RunningMean::mean() const { return weight_ > 0.0 ? sum_ / weight_ : std::numeric_limits<double>::quiet_NaN(); }

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto total = static_cast<std::int64_t>(seconds + 0.5);
  const std::int64_t h = total / 3600, m = (total / 60) % 60, s = total % 60;
  char buf[32];
  if (h > 0)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(h), static_cast<long long>(m),
                  static_cast<long long>(s));
  else
    std::snprintf(buf, sizeof buf, "%02lld:%02lld", static_cast<long long>(m), static_cast<long long>(s));
  return buf;
}

Progress::Progress(std::int64_t total, ProgressOptions options) : total_(total), options_(std::move(options)) {
  SHRINK_CHECK(total_ >= 0, "Progress: expected a total >= 0 (0 = unknown), got ", total_);
  SHRINK_CHECK(options_.bar_width >= 1, "Progress: expected bar_width >= 1, got ", options_.bar_width);
  out_ = options_.out != nullptr ? options_.out : &std::cout;
  interactive_ = options_.interactive.value_or(out_ == &std::cout && ::isatty(STDOUT_FILENO) == 1);
  start_ = now();
}

Progress::~Progress() {
  try {
    finish();
  } catch (...) {  // printing must not throw out of a destructor
  }
}

double Progress::now() const {
  if (options_.clock) return options_.clock();
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void Progress::step(std::int64_t samples, double loss) {
  ++done_;
  samples_ += samples;
  if (!std::isnan(loss)) loss_.update(loss, static_cast<double>(samples > 0 ? samples : 1));
  if (!interactive_) return;
  const double t = now();
  if (t - last_draw_ >= options_.redraw_interval || done_ == total_) {
    last_draw_ = t;
    draw({});
  }
}

std::string Progress::line(const std::vector<std::pair<std::string, double>>& extra) const {
  const double elapsed = now() - start_;
  const std::string rate = elapsed > 0 ? fixed(static_cast<double>(samples_) / elapsed, 1) + " img/s" : "? img/s";
  std::string s = options_.description.empty() ? "" : options_.description + ": ";
  if (interactive_) {
    if (total_ > 0) {
      const std::int64_t shown = std::min(done_, total_);
      const auto filled = static_cast<std::size_t>(shown * options_.bar_width / total_);
      const double eta = done_ > 0 ? elapsed / static_cast<double>(done_) * static_cast<double>(total_ - shown) : -1.0;
      char pct[8];
      std::snprintf(pct, sizeof pct, "%3d%%", static_cast<int>(shown * 100 / total_));
      s += std::string(pct) + "|" + std::string(filled, '#') + std::string(options_.bar_width - filled, ' ') + "| " +
           std::to_string(done_) + "/" + std::to_string(total_) + " [" + format_duration(elapsed) + "<" +
           format_duration(eta) + ", " + rate;
    } else {
      s += std::to_string(done_) + " steps [" + format_duration(elapsed) + ", " + rate;
    }
    if (!std::isnan(loss_.mean())) s += ", loss=" + fixed(loss_.mean(), 4);
    for (const auto& [key, value] : extra) s += ", " + key + "=" + fixed(value, 4);
    return s + "]";
  }
  s += std::to_string(done_);
  if (total_ > 0) s.append("/").append(std::to_string(total_));
  s.append(" steps, ").append(std::to_string(samples_)).append(" images in ").append(fixed(elapsed, 1));
  s.append(" s (").append(rate).append(")");
  if (!std::isnan(loss_.mean())) s += ", loss " + fixed(loss_.mean(), 4);
  for (const auto& [key, value] : extra) s += ", " + key + " " + fixed(value, 4);
  return s;
}

void Progress::draw(const std::vector<std::pair<std::string, double>>& extra) {
  const std::string s = line(extra);
  // Blank out what is left of a longer previous line.
  *out_ << '\r' << s << std::string(last_width_ > s.size() ? last_width_ - s.size() : 0, ' ') << std::flush;
  last_width_ = s.size();
}

void Progress::finish(const std::vector<std::pair<std::string, double>>& extra) {
  if (finished_) return;
  finished_ = true;
  if (interactive_) {
    draw(extra);
    *out_ << '\n' << std::flush;
  } else {
    *out_ << line(extra) << '\n' << std::flush;
  }
}

}  // namespace shrink::io
