#include "autograd/generator.h"

#include <cmath>
#include <numbers>
#include <sstream>

#include "autograd/error.h"

namespace shrink {

std::string Generator::state() const {
  std::ostringstream os;
  os << seed_ << ' ' << engine_;
  return os.str();
}

void Generator::set_state(const std::string& state) {
  std::istringstream is(state);
  std::uint64_t seed = 0;
  std::mt19937_64 engine;
  is >> seed >> engine;
  SHRINK_CHECK(!is.fail(), "Generator::set_state: expected a state string from Generator::state(), got ",
               state.size(), " characters that do not parse");
  seed_ = seed;
  engine_ = engine;
}

float Generator::uniform() {
  // 24 random mantissa bits: exactly representable floats in [0, 1).
  return static_cast<float>(engine_() >> 40) * (1.0f / 16777216.0f);
}

float Generator::normal() {
  // Box-Muller; u1 is kept away from 0 so log() stays finite.
  const double u1 = (static_cast<double>(engine_() >> 11) + 1.0) * (1.0 / 9007199254740993.0);
  const double u2 = static_cast<double>(engine_() >> 11) * (1.0 / 9007199254740992.0);
  return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2));
}

std::int64_t Generator::randint(std::int64_t low, std::int64_t high) {
  SHRINK_CHECK(high > low, "randint: expected low < high, got low=", low, " high=", high);
  std::uniform_int_distribution<std::int64_t> dist(low, high - 1);
  return dist(engine_);
}

Generator& default_generator() {
  static Generator gen;
  return gen;
}

void manual_seed(std::uint64_t seed) { default_generator().manual_seed(seed); }

}  // namespace shrink
