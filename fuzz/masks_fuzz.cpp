// Fuzz target for masks files: io::load_masks, and its promise that every mask it returns is a
// uint8 tensor of 0s and 1s.
#include <cstdint>
#include <string>

#include "fuzz/fuzz_input.h"
#include "io/state_dict_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace shrink;
  const std::string path = fuzz::write_input(data, size, "input.masks.h5");
  fuzz::guard([&] {
    const io::StateDict masks = io::load_masks(path);
    for (const auto& [name, mask] : masks) {
      fuzz::require(mask.dtype() == DType::UInt8, "load_masks: mask '" + name + "' is uint8");
      const auto* v = mask.data<std::uint8_t>();
      for (std::int64_t i = 0; i < mask.numel(); ++i)
        fuzz::require(v[i] <= 1, "load_masks: mask '" + name + "' holds only 0 and 1");
    }
    fuzz::consume(fuzz::digest(masks));
  });
  return 0;
}
