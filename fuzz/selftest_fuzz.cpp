// A target with a planted bug, for the test that the driver reports findings: an input holding
// "BUG" throws a non-shrink exception, "ERR" a shrink::Error (an expected rejection), "HID" leaves
// an HDF5 file open (a handle leak).
#include <hdf5.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "autograd/error.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  shrink::fuzz::guard([&] {
    if (input.find("ERR") != std::string::npos) throw shrink::IOError("selftest: a rejected input");
    if (input.find("BUG") != std::string::npos) throw std::logic_error("selftest: the planted bug");
    if (input.find("HID") != std::string::npos) 
      H5Fcreate(shrink::fuzz::input_path("leaked.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  });
  return 0;
}
