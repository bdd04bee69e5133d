#pragma once
/// \file
/// Generator: the seedable random source behind rand/randn/dropout/shuffles.

#include <cstdint>
#include <random>
#include <string>

namespace shrink {

/// A seedable pseudo-random generator (64-bit Mersenne Twister). Its full state can be saved
/// and restored as a string, which is what checkpoints store for exact resume.
class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0x5eed) { manual_seed(seed); }

  void manual_seed(std::uint64_t seed) {
    seed_ = seed;
    engine_.seed(seed);
  }
  std::uint64_t initial_seed() const { return seed_; }

  /// Serialised engine state (text); `set_state(state())` restores the exact stream position.
  std::string state() const;
  void set_state(const std::string& state);

  /// Uniform in [0, 1) as float32.
  float uniform();
  /// Standard normal (Box-Muller on two uniforms, so the stream is reproducible everywhere).
  float normal();
  /// Uniform integer in [low, high).
  std::int64_t randint(std::int64_t low, std::int64_t high);
  /// The underlying engine, for std:: distributions and std::shuffle.
  std::mt19937_64& engine() { return engine_; }

 private:
  std::uint64_t seed_ = 0;
  std::mt19937_64 engine_;
};

/// The process-wide generator used when an op is given none.
Generator& default_generator();
/// Seeds the default generator (like torch.manual_seed).
void manual_seed(std::uint64_t seed);

}  // namespace shrink
