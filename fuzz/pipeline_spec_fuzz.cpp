// Fuzz target for pipeline files: PipelineSpec::from_file (size and nesting bounds, JSON syntax,
// every key of the model, data, training and each stage type, config_list and distill_config
// through their own parsers, stage names, the epoch timeline). An accepted file must keep its
// promise: its to_json() parses back to the same spec.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz/fuzz_input.h"
#include "pipeline/pipeline_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace shrink;
  const std::string path = fuzz::write_input(data, size, "pipeline.json");
  fuzz::guard([&] {
    const pipeline::PipelineSpec spec = pipeline::PipelineSpec::from_file(path);
    const nlohmann::json first = spec.to_json();
    const pipeline::PipelineSpec again = pipeline::PipelineSpec::parse(first, "round trip");
    fuzz::require(again.to_json() == first && again.total_epochs == spec.total_epochs,
                  "PipelineSpec::parse(to_json()) gives the same spec");
    fuzz::consume(first.dump().size());
  });
  return 0;
}
