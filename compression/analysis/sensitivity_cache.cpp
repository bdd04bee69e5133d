#include "compression/analysis/sensitivity_cache.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "compression/analysis/error_context.h"
#include "io/atomic_write.h"

namespace shrink::compression::detail {
namespace {

constexpr const char* kFormat = "shrink.sensitivity";
constexpr int kVersion = 1;

void fnv1a(std::uint64_t& h, const void* data, std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ULL;
  }
}

std::string hex16(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string where(const std::string& path) { return "analyze_sensitivity: the cache '" + path + "'"; }
const char* kHint = ". Delete it to start a new analysis, or pass another cache_path";

std::string ratios_str(const std::vector<double>& ratios) {
  std::string out = "[";
  for (std::size_t i = 0; i < ratios.size(); ++i) out += (i == 0 ? "" : ", ") + ratio_str(ratios[i]);
  return out + "]";
}

/// "" when equal, else the first difference between two model fingerprints.
std::string model_difference(const ModelFingerprint& cached, const ModelFingerprint& now) {
  std::map<std::string, Shape> a(cached.state.begin(), cached.state.end());
  std::map<std::string, Shape> b(now.state.begin(), now.state.end());
  std::vector<std::string> only_cache, only_model;
  for (const auto& [name, shape] : a)
    if (!b.count(name)) only_cache.push_back(name);
  for (const auto& [name, shape] : b)
    if (!a.count(name)) only_model.push_back(name);
  if (!only_cache.empty() || !only_model.empty())
    return "was made for another model (state only in the cache: " + join_names(only_cache, 5) +
           "; only in this model: " + join_names(only_model, 5) + ")";
  for (const auto& [name, shape] : now.state)
    if (a.at(name) != shape)
      return "was made for another model ('" + name + "' has shape " + shape_str(a.at(name)) + " in the cache, " +
             shape_str(shape) + " in this model)";
  if (cached.checksum != now.checksum)
    return "was made for other weights of this model (checksum " + cached.checksum + " in the cache, " + now.checksum +
           " now: the model was trained, pruned or loaded differently since)";
  return "";
}

std::string layer_difference(const std::vector<std::string>& cached, const std::vector<std::string>& now) {
  const std::set<std::string> a(cached.begin(), cached.end()), b(now.begin(), now.end());
  if (a == b) return "";
  std::vector<std::string> only_cache, only_now;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(only_cache));
  std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(only_now));
  return "was made for other layers (only in the cache: " + join_names(only_cache, 5) +
         "; only in this run: " + join_names(only_now, 5) + ")";
}

SensitivityCache parse_cache(const nlohmann::json& j, const std::string& path) {
  SHRINK_CHECK_T(IOError, j.is_object() && j.value("format", "") == kFormat && j.value("version", 0) == kVersion,
                 where(path), " is not a sensitivity cache (expected \"format\": \"", kFormat,
                 "\", \"version\": ", kVersion, ")", kHint);
  SensitivityCache c;
  for (const auto& entry : j.at("model").at("state"))
    c.model.state.emplace_back(entry.at(0).get<std::string>(), entry.at(1).get<Shape>());
  c.model.checksum = j.at("model").at("checksum").get<std::string>();
  c.layers = j.at("layers").get<std::vector<std::string>>();
  c.ratios = j.at("ratios").get<std::vector<double>>();
  if (!j.at("baseline").is_null()) c.baseline = j.at("baseline").get<double>();
  for (const auto& layer : c.layers) {
    const auto& list = j.at("metrics").at(layer);
    SHRINK_CHECK_T(IOError, list.is_array() && list.size() == c.ratios.size(), where(path), " is malformed: layer '",
                   layer, "' has ", list.size(), " metrics for ", c.ratios.size(), " ratios", kHint);
    auto& metrics = c.metrics[layer];
    for (const auto& m : list) metrics.push_back(m.is_null() ? std::nullopt : std::optional<double>(m.get<double>()));
  }
  return c;
}

}  // namespace

ModelFingerprint fingerprint(const nn::Module& model) {
  ModelFingerprint f;
  std::uint64_t h = 14695981039346656037ULL;
  for (const auto& [name, t] : model.state_dict()) {
    f.state.emplace_back(name, t.shape());
    fnv1a(h, name.data(), name.size() + 1);
    const auto dtype = static_cast<int>(t.dtype());
    fnv1a(h, &dtype, sizeof dtype);
    fnv1a(h, t.shape().data(), t.shape().size() * sizeof(std::int64_t));
    fnv1a(h, t.raw_data(), static_cast<std::size_t>(t.numel()) * element_size(t.dtype()));
  }
  f.checksum = hex16(h);
  return f;
}

SensitivityCache empty_cache(ModelFingerprint model, const std::vector<std::string>& layers,
                             const std::vector<double>& ratios) {
  SensitivityCache c;
  c.model = std::move(model);
  c.layers = layers;
  c.ratios = ratios;
  for (const auto& layer : layers) c.metrics[layer].assign(ratios.size(), std::nullopt);
  return c;
}

SensitivityCache load_cache(const std::string& path, const SensitivityCache& expected) {
  std::string text;
  {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    SHRINK_CHECK_T(IOError, f != nullptr, "analyze_sensitivity: cannot read the cache '", path,
                   "': ", std::strerror(errno));
    char buf[1 << 16];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
    const int err = std::ferror(f) ? errno : 0;
    std::fclose(f);
    SHRINK_CHECK_T(IOError, err == 0, "analyze_sensitivity: cannot read the cache '", path, "': ", std::strerror(err));
  }
  SensitivityCache cached;
  try {
    cached = parse_cache(nlohmann::json::parse(text), path);
  } catch (const nlohmann::json::exception& e) {
    throw IOError(where(path) + " is malformed (" + e.what() + ")" + kHint);
  }
  std::string difference = model_difference(cached.model, expected.model);
  if (difference.empty()) difference = layer_difference(cached.layers, expected.layers);
  if (difference.empty() && cached.ratios != expected.ratios)
    difference = "was made for other ratios (" + ratios_str(cached.ratios) + " in the cache, " +
                 ratios_str(expected.ratios) + " in this run)";
  SHRINK_CHECK(difference.empty(), where(path), " ", difference, kHint);
  // Same set of layers: keep this run's order.
  cached.layers = expected.layers;
  return cached;
}

void save_cache(const std::string& path, const SensitivityCache& c) {
  nlohmann::json state = nlohmann::json::array();
  for (const auto& [name, shape] : c.model.state) state.push_back({name, shape});
  nlohmann::json metrics = nlohmann::json::object(), losses = nlohmann::json::object();
  for (const auto& layer : c.layers) {
    nlohmann::json m = nlohmann::json::array(), l = nlohmann::json::array();
    for (const auto& v : c.metrics.at(layer)) {
      m.push_back(v ? nlohmann::json(*v) : nlohmann::json());
      l.push_back(v && c.baseline ? nlohmann::json((*c.baseline - *v) / *c.baseline) : nlohmann::json());
    }
    metrics[layer] = std::move(m);
    losses[layer] = std::move(l);
  }
  nlohmann::json j = {{"format", kFormat},
                      {"version", kVersion},
                      {"model", {{"state", std::move(state)}, {"checksum", c.model.checksum}}},
                      {"layers", c.layers},
                      {"ratios", c.ratios},
                      {"baseline", c.baseline ? nlohmann::json(*c.baseline) : nlohmann::json()},
                      {"metrics", std::move(metrics)},
                      {"losses", std::move(losses)}};
  const std::string text = j.dump(2) + "\n";
  io::write_text_atomically(path, "analyze_sensitivity: writing the cache", text);
}

}  // namespace shrink::compression::detail
