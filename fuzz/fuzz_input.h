#pragma once
/// \file
/// What every fuzz target shares: the input written to a file (the readers take paths), the rule
/// that decides what is a finding, and a digest that makes the target read every loaded byte.
///
/// A target is `extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)`: it
/// writes the bytes with write_input() and calls public readers inside guard(). A shrink::Error
/// is the expected answer to a bad file; any other exception, a crash, a hang or a sanitizer
/// report is a finding. The same target links with libFuzzer (clang) or with driver.cpp.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "autograd/tensor.h"
#include "io/state_dict.h"

namespace shrink::fuzz {

/// Writes `size` bytes to `<process temp dir>/<name>` (subdirectories are created) and returns
/// the path. The directory is private to the process and removed at exit.
std::string write_input(const std::uint8_t* data, std::size_t size, const std::string& name);
/// `<process temp dir>/<name>` without writing anything (for companion files).
std::string input_path(const std::string& name);

/// Runs `body`. A shrink::Error is the expected outcome for a malformed file and is swallowed;
/// any other exception is a finding: its type and message go to stderr and the process aborts
/// (libFuzzer and driver.cpp both save the input that did it).
void guard(const std::function<void()>& body);

/// What the guard() calls made for one input: how many returned normally (the input was
/// accepted) and the first shrink::Error message; driver.cpp prints statistics from these.
struct Outcome {
  int accepted = 0;
  int rejected = 0;
  std::string first_error;
};
/// Clears the outcome (driver.cpp calls it before each input).
void begin_input();
const Outcome& outcome();

/// A sum over every byte of the tensor's buffer: reading it all makes a short buffer (a shape
/// that claims more elements than were allocated) an AddressSanitizer report.
std::uint64_t digest(const Tensor& tensor);
std::uint64_t digest(const io::StateDict& state_dict);

/// Keeps a value alive so the compiler cannot drop the reads that produced it.
void consume(std::uint64_t value);

/// Throws std::logic_error (a finding) when `cond` is false: for promises a reader documents
/// (e.g. "every mask is a uint8 tensor of 0/1").
void require(bool cond, const std::string& promise);

}  // namespace shrink::fuzz
