#include "tests/support/fixtures.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>

namespace shrink::testing {

const nlohmann::json& fixture_file(const std::string& family) {
  static std::mutex mu;
  static std::map<std::string, nlohmann::json> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(family);
  if (it != cache.end()) return it->second;
  const std::string path = std::string(SHRINK_FIXTURES_DIR) + "/" + family + ".json";
  std::ifstream in(path);
  if (!in) throw IOError("fixture file " + path + " is missing; regenerate it with tests/fixtures/generate.sh");
  return cache.emplace(family, nlohmann::json::parse(in)).first->second;
}

const nlohmann::json& fixture_case(const std::string& family, const std::string& name) {
  const auto& file = fixture_file(family);
  if (!file.contains(name)) throw IOError("fixture " + family + ".json has no case '" + name + "'");
  return file.at(name);
}

Tensor fixture_tensor(const nlohmann::json& j) {
  const Shape shape = j.at("shape").get<Shape>();
  const std::string dtype = j.at("dtype").get<std::string>();
  if (dtype == "int64") return from_vector(j.at("data").get<std::vector<std::int64_t>>(), shape);
  if (dtype == "uint8") return from_vector(j.at("data").get<std::vector<std::uint8_t>>(), shape);
  if (dtype == "int8") return from_vector(j.at("data").get<std::vector<std::int8_t>>(), shape);
  return from_vector(j.at("data").get<std::vector<float>>(), shape);
}

::testing::AssertionResult tensors_close(const Tensor& actual, const Tensor& expected, double atol, double rtol) {
  if (actual.shape() != expected.shape())
    return ::testing::AssertionFailure() << "shape " << shape_str(actual.shape()) << " vs expected "
                                         << shape_str(expected.shape());
  const auto a = actual.to_vector(), e = expected.to_vector();
  double worst = 0;
  std::size_t worst_i = 0;
  bool ok = true;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double diff = std::abs(double(a[i]) - double(e[i]));
    const bool bad = !(diff <= atol + rtol * std::abs(double(e[i]))) || std::isnan(a[i]) != std::isnan(e[i]);
    if (bad && (ok || diff > worst)) {
      worst = diff;
      worst_i = i;
    }
    ok = ok && !bad;
  }
  if (ok) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "element " << worst_i << ": " << a[worst_i] << " vs expected "
                                       << e[worst_i] << " (|diff| " << worst << ", atol " << atol << ", rtol "
                                       << rtol << ", shape " << shape_str(actual.shape()) << ")";
}

::testing::AssertionResult tensors_identical(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape())
    return ::testing::AssertionFailure() << "shape " << shape_str(a.shape()) << " vs " << shape_str(b.shape());
  const auto va = a.to_vector(), vb = b.to_vector();
  for (std::size_t i = 0; i < va.size(); ++i)
    if (std::memcmp(&va[i], &vb[i], sizeof(float)) != 0)
      return ::testing::AssertionFailure() << "element " << i << ": " << va[i] << " vs " << vb[i];
  return ::testing::AssertionSuccess();
}

}  // namespace shrink::testing
