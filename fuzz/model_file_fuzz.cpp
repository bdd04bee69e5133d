// Fuzz target for model files: io::load_model (graph JSON, module options, datasets against the
// rebuilt modules), then the loaded model's state_dict read in full and, when the model is small
// enough to run cheaply, one forward pass on zeros of the graph's recorded input shape.
//
// Two kinds of input. An HDF5 file (seeds: model files written by io::save_model) is loaded as it
// is. Most byte edits of such a file break HDF5's metadata checksums, which cover the `graph`
// attribute, so mutations rarely reach the JSON checks; hence an input that starts with '{' is
// the text of a `graph` attribute (seeds: the graph JSON of the same models): the target writes a
// model file holding it, plus zero tensors for the datasets its modules expect (as far as they
// parse), and loads that.
#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "fuzz/fuzz_input.h"
#include "io/checkpoint_meta.h"
#include "io/file_format.h"
#include "io/shrink_file.h"
#include "nn/layers.h"
#include "speedup/model_file.h"
#include "speedup/module_factory.h"

namespace {

using namespace shrink;

constexpr std::size_t kMaxRunNodes = 64;
constexpr std::int64_t kMaxRunInput = 4096;
constexpr std::int64_t kMaxRunWindow = 8;
constexpr std::size_t kMaxRunCatInputs = 8;

bool small(const std::array<std::int64_t, 2>& v, std::int64_t limit) { return v[0] <= limit && v[1] <= limit; }

/// A cheap forward: a small recorded input, few nodes, and no option that can blow activations
/// up (large conv padding or dilation, large adaptive output sizes, wide cats). A model beyond
/// these bounds is valid, only too costly to run per fuzz input.
bool cheap_to_run(const speedup::GraphModule& model) {
  const speedup::Graph& graph = model.graph();
  if (graph.nodes.size() > kMaxRunNodes) return false;
  std::int64_t numel = 1;
  for (std::int64_t d : graph.nodes[0].shape) {
    if (d < 1 || d > kMaxRunInput) return false;
    numel *= d;
    if (numel > kMaxRunInput) return false;
  }
  for (const auto& [name, module] : model.named_modules()) {
    if (const auto* conv = dynamic_cast<const nn::Conv2d*>(module.get()))
      if (!small(conv->options().padding, kMaxRunWindow) || !small(conv->options().dilation, kMaxRunWindow)) return false;
    if (const auto* pool = dynamic_cast<const nn::AdaptiveAvgPool2d*>(module.get()))
      if (!small(pool->output_size(), kMaxRunWindow)) return false;
  }
  for (const speedup::GraphNode& n : graph.nodes) {
    if (n.target == "cat" && n.inputs.size() > kMaxRunCatInputs) return false;
    if (n.kind == speedup::NodeKind::Function && n.target != "cat" && n.inputs.size() > 2) return false;
    if (n.target == "adaptive_avg_pool2d" || n.target == "max_pool2d" || n.target == "avg_pool2d")
      for (const auto& [key, value] : n.attrs)
        if (const auto* v = std::get_if<std::vector<std::int64_t>>(&value))
          for (std::int64_t x : *v)
            if (x > kMaxRunWindow) return false;
  }
  return true;
}

/// Zero tensors for the datasets of the modules `text` describes (those that parse; small ones).
io::StateDict zero_weights(const std::string& text) {
  io::StateDict weights;
  if (io::json_nesting_depth(text, 32) > 32) return weights;
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("modules") || !j["modules"].is_array()) return weights;
  for (const nlohmann::json& m : j["modules"]) {
    if (!m.is_object() || !m.contains("name") || !m["name"].is_string()) continue;
    const std::string name = m["name"].get<std::string>();
    try {
      for (const io::EntrySpec& e : speedup::module_from_json(m, name).entries) {
        const std::string key = name + "." + e.key;
        std::int64_t numel = 1;
        for (std::int64_t d : e.shape) numel *= d;  // each factor <= 2^24, the product <= 2^40
        if (numel <= (1 << 16) && !weights.contains(key))
          weights.insert(key, zeros(e.shape, e.dtype == "int64" ? DType::Int64 : DType::Float32));
      }
    } catch (const Error&) {
      continue;  // load_model reports it
    }
  }
  return weights;
}

/// A model file whose `graph` attribute is `text`, with zero_weights(text) as datasets.
std::string model_file_from_graph_text(const std::string& text) {
  const std::string path = fuzz::input_path("graph.model.h5");
  std::filesystem::remove(path);
  io::H5File file = io::H5File::create(path, "model_file_fuzz");
  io::write_header(file, io::kModelFormat);
  file.set_string_attr("", "graph", text);
  for (const auto& [key, tensor] : zero_weights(text)) {
    if (key.find('/') != std::string::npos) continue;
    io::write_entry(file, key, tensor);
  }
  file.close();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string path = fuzz::write_input(data, size, "input.model.h5");
  if (size > 0 && data[0] == '{') {
    try {
      path = model_file_from_graph_text(std::string(reinterpret_cast<const char*>(data), size));
    } catch (const Error&) {
      return 0;  // text the writer cannot store (the harness, not the reader)
    }
  }
  fuzz::guard([&] {
    const std::shared_ptr<speedup::GraphModule> model = io::load_model(path);
    fuzz::require(!model->is_training(), "load_model: the model comes back in eval mode");
    fuzz::consume(fuzz::digest(model->state_dict()));
    if (!cheap_to_run(*model)) return;
    NoGradGuard no_grad;
    fuzz::consume(fuzz::digest((*model)(zeros(model->graph().nodes[0].shape))));
  });
  return 0;
}
