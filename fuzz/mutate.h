#pragma once
/// \file
/// Deterministic mutations of fuzz inputs for driver.cpp (the libFuzzer build has its own).
///
/// Each mutated input is a corpus entry with 1 to 4 stacked edits drawn from a fixed-seed
/// generator: bit flips, interesting bytes and words (0, -1, 2^31, 2^62+1, ... in both byte
/// orders), truncation, deletion, insertion and duplication of ranges, splices of two entries at
/// the same offset, dictionary tokens. Two edits aim at the binary formats: "size field" finds an
/// aligned little-endian integer with a small value (an HDF5 dimension, length or offset) and
/// replaces it with a huge, zero or neighbouring value; "token swap" overwrites a dictionary token
/// found in the input with another one of the same length, so an HDF5 attribute keeps its size
/// while its content changes (e.g. `"epoch": 1` -> `"epoch":1e400`).

#include <cstdint>
#include <string>
#include <vector>

namespace shrink::fuzz {

/// splitmix64: tiny, portable, and the same sequence everywhere (unlike std distributions).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  /// Uniform in [0, n) (n > 0).
  std::uint64_t below(std::uint64_t n) { return next() % n; }

 private:
  std::uint64_t state_;
};

class Mutator {
 public:
  /// `dictionary`: tokens of the format (attribute names, JSON snippets); `max_len` bounds inputs.
  Mutator(std::uint64_t seed, std::vector<std::string> dictionary, std::size_t max_len);

  /// A mutation of a random entry of `corpus` (non-empty); `description` receives the edits.
  std::string mutate(const std::vector<std::string>& corpus, std::string* description = nullptr);

 private:
  void edit(std::string& s, const std::vector<std::string>& corpus, std::string& what);
  bool size_field(std::string& s, std::string& what);
  bool token_swap(std::string& s, std::string& what);

  Rng rng_;
  std::vector<std::string> dictionary_;
  std::size_t max_len_;
};

}  // namespace shrink::fuzz
