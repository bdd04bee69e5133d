#include "compression/analysis/report.h"

#include "compression/analysis/error_context.h"
#include "io/text_table.h"

namespace shrink::compression {
namespace {

using detail::percent;
using io::grouped;

}  // namespace

std::string report_table(const std::vector<LayerCount>& layers) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"layer", "type", "weight shape", "sparsity", "params left", "params", "MACs", "eff. MACs"});
  for (const auto& c : layers) {
    const bool macs = c.has_macs;
    rows.push_back({c.name, c.type, c.weight_shape.empty() ? "-" : shape_str(c.weight_shape), percent(c.sparsity()),
                    grouped(c.nonzero_params), grouped(c.params), macs ? grouped(c.macs) : "-",
                    macs ? grouped(c.effective_macs) : "-"});
  }
  const CountTotals t = count_totals(layers);
  rows.push_back({"total", "", "", percent(t.sparsity()), grouped(t.nonzero_params), grouped(t.params), grouped(t.macs),
                  grouped(t.effective_macs)});
  using io::Align;
  std::string out = io::text_table(rows, {Align::Left, Align::Left, Align::Left, Align::Right, Align::Right,
                                          Align::Right, Align::Right, Align::Right});
  out += "per sample: MACs " + grouped(t.macs) + " dense, " + grouped(t.effective_macs) +
         " effective; FLOPs = 2 x MACs: " + grouped(t.flops()) + " dense, " + grouped(t.effective_flops()) +
         " effective\n";
  return out;
}

nlohmann::json report_json(const std::vector<LayerCount>& layers) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& c : layers) {
    list.push_back({{"name", c.name},
                    {"type", c.type},
                    {"weight_shape", c.weight_shape},
                    {"input_shape", c.input_shape},
                    {"output_shape", c.output_shape},
                    {"has_macs", c.has_macs},
                    {"calls", c.calls},
                    {"params", c.params},
                    {"nonzero_params", c.nonzero_params},
                    {"sparsity", c.sparsity()},
                    {"macs", c.macs},
                    {"effective_macs", c.effective_macs},
                    {"flops", c.flops()},
                    {"effective_flops", c.effective_flops()}});
  }
  const CountTotals t = count_totals(layers);
  return {{"unit", "per sample; flops = 2 * macs"},
          {"layers", std::move(list)},
          {"totals",
           {{"params", t.params},
            {"nonzero_params", t.nonzero_params},
            {"sparsity", t.sparsity()},
            {"macs", t.macs},
            {"effective_macs", t.effective_macs},
            {"flops", t.flops()},
            {"effective_flops", t.effective_flops()}}}};
}

}  // namespace shrink::compression
