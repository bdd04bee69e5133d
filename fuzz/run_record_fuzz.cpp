// Fuzz target for run records (run.json, as a resumed run or `shrink inspect` reads it):
// RunRecord::load (size and nesting bounds, JSON syntax, every field's type and range). An
// accepted record must keep its promise: from_json(to_json()) gives the same record.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz/fuzz_input.h"
#include "pipeline/run_record.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace shrink;
  const std::string path = fuzz::write_input(data, size, "run.json");
  fuzz::guard([&] {
    const pipeline::RunRecord record = pipeline::RunRecord::load(path);
    const nlohmann::json first = record.to_json();
    fuzz::require(pipeline::RunRecord::from_json(first).to_json() == first,
                  "RunRecord::from_json(to_json()) gives the same record");
    fuzz::consume(first.dump().size());
  });
  return 0;
}
