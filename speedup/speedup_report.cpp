// The text form of a SpeedupReport.
#include "speedup/speedup_report.h"

#include <cstdio>
#include <sstream>

namespace shrink::speedup {
namespace {

std::string ratio(std::int64_t before, std::int64_t after) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fx", after > 0 ? static_cast<double>(before) / static_cast<double>(after) : 0.0);
  return buf;
}

}  // namespace

std::string SpeedupReport::to_string() const {
  std::ostringstream os;
  char line[256];
  std::snprintf(line, sizeof line, "%-28s %-12s %15s %15s\n", "layer", "type", "in before->after", "out before->after");
  os << line;
  for (const LayerShrink& l : layers) {
    const std::string in = std::to_string(l.in_before) + "->" + std::to_string(l.in_after);
    const std::string out = std::to_string(l.out_before) + "->" + std::to_string(l.out_after);
    std::snprintf(line, sizeof line, "%-28s %-12s %15s %15s%s\n", l.name.c_str(), l.type.c_str(), in.c_str(),
                  out.c_str(), l.folded ? "  (constant folded into bias)" : "");
    os << line;
  }
  os << "params:  " << params_before << " -> " << params_after << " (" << ratio(params_before, params_after) << ")\n";
  os << "MACs:    " << macs_before << " -> " << macs_after << " per sample (" << ratio(macs_before, macs_after)
     << ")\n";
  if (latency_before_ms > 0 || latency_after_ms > 0) {
    std::snprintf(line, sizeof line, "latency: %.3f ms -> %.3f ms (median)\n", latency_before_ms, latency_after_ms);
    os << line;
  }
  std::snprintf(line, sizeof line, "verify:  max |masked - shrunk| = %.3g, bound %.3g x max |masked| (%.3g): %s\n",
                max_abs_diff, tolerance, max_abs_output, verified ? "ok" : "FAILED");
  os << line;
  for (const InexactFold& f : inexact) os << "inexact: " << f.layer << ": " << f.reason << "\n";
  for (const std::string& w : warnings) os << "warning: " << w << "\n";
  return os.str();
}

}  // namespace shrink::speedup
