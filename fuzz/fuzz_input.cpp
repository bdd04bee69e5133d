#include "fuzz/fuzz_input.h"

#include <hdf5.h>

#include <cxxabi.h>
#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <typeinfo>

#include "autograd/error.h"

namespace shrink::fuzz {
namespace {

namespace fs = std::filesystem;

/// The process's private directory, created on first use and removed at exit.
const fs::path& process_dir() {
  static const fs::path dir = [] {
    std::string pattern = (fs::temp_directory_path() / "shrink-fuzz-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::perror("shrink fuzz: mkdtemp");
      std::abort();
    }
    static std::string to_remove;
    to_remove = pattern;
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(to_remove, ec);
    });
    return fs::path(pattern);
  }();
  return dir;
}

Outcome current;

std::string demangled(const char* name) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(name, nullptr, nullptr, &status), std::free);
  return status == 0 && out ? std::string(out.get()) : std::string(name);
}

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "\nshrink fuzz: FINDING: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace

std::string input_path(const std::string& name) { return (process_dir() / name).string(); }

std::string write_input(const std::uint8_t* data, std::size_t size, const std::string& name) {
  const fs::path path = process_dir() / name;
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) finding("cannot write the input file " + path.string());
  return path.string();
}

void guard(const std::function<void()>& body) {
  try {
    body();
    ++current.accepted;
  } catch (const Error& e) {
    if (current.rejected++ == 0) current.first_error = e.what();
  } catch (const std::exception& e) {
    finding("non-shrink exception " + demangled(typeid(e).name()) + ": " + e.what());
  } catch (...) {
    finding("an exception that is not a std::exception");
  }
  // Every reader closes what it opened, on the error paths too: an id still open here is a leak
  // of ours (memory libhdf5 itself loses while rejecting a corrupted file is not; see
  // docs/testing.md, "Fuzzing and sanitizers").
  // (Files, groups, datasets, datatypes and attributes: what a reader opens.)
  const ssize_t open_ids = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
  if (open_ids != 0) finding(std::to_string(open_ids) + " HDF5 object(s) still open after the reader returned");
}

void begin_input() { current = Outcome{}; }
const Outcome& outcome() { return current; }

std::uint64_t digest(const Tensor& tensor) {
  if (!tensor.defined()) return 0;
  const auto* bytes = static_cast<const unsigned char*>(tensor.raw_data());
  const std::size_t n = static_cast<std::size_t>(tensor.numel()) * element_size(tensor.dtype());
  std::uint64_t sum = static_cast<std::uint64_t>(tensor.dim());
  for (std::size_t i = 0; i < n; ++i) sum = sum * 31 + bytes[i];
  return sum;
}

std::uint64_t digest(const io::StateDict& state_dict) {
  std::uint64_t sum = state_dict.size();
  for (const auto& [name, tensor] : state_dict) sum += name.size() + digest(tensor);
  return sum;
}

void consume(std::uint64_t value) {
  static volatile std::uint64_t sink;
  sink = sink + value;
}

void require(bool cond, const std::string& promise) {
  if (!cond) throw std::logic_error("broken promise: " + promise);
}

}  // namespace shrink::fuzz
