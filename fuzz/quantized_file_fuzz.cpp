// Fuzz target for quantized exports: io::load_quantized_file, its promise that every quantized
// tensor it returns is valid (quantized_tensor_problem is empty: dtypes, shapes, axis, grid,
// scales, zero points, values), and io::dequantize of each.
#include <cstdint>
#include <string>

#include "fuzz/fuzz_input.h"
#include "io/quantized_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace shrink;
  const std::string path = fuzz::write_input(data, size, "input.quantized.h5");
  fuzz::guard([&] {
    const io::QuantizedFile file = io::load_quantized_file(path);
    std::uint64_t sum = fuzz::digest(file.unquantized);
    for (const io::QuantizedTensor& q : file.quantized) {
      fuzz::require(io::quantized_tensor_problem(q).empty(),
                    "load_quantized_file: '" + q.name + "' is valid (" + io::quantized_tensor_problem(q) + ")");
      sum += fuzz::digest(q.data) + fuzz::digest(q.scale) + fuzz::digest(q.zero_point) +
             fuzz::digest(io::dequantize(q));
    }
    fuzz::consume(sum);
  });
  return 0;
}
