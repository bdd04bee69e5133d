// config_list parsing and syntax checks (selection against a model: config_select.cpp).
#include "compression/config_list.h"

#include <algorithm>
#include <limits>
#include <regex>

#include "autograd/error.h"
#include "io/json_reader.h"

namespace shrink::compression {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxConfigFileBytes = std::size_t{16} << 20;

std::string at(std::size_t index, const std::string& key = "") {
  std::string s = "config_list[" + std::to_string(index) + "]";
  if (!key.empty()) s += "['" + key + "']";
  return s;
}

std::vector<std::string> string_list(const json& v, const std::string& where) {
  const char* hint = "";
  if (v.is_string()) hint = " (Hint: write a list even for one name, e.g. [\"Conv2d\"])";
  SHRINK_CHECK(v.is_array() && !v.empty(), where, ": expected a non-empty list of strings, got ", io::json_shown(v), hint);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    SHRINK_CHECK(v[i].is_string() && !v[i].get_ref<const std::string&>().empty(), where, "[", i,
                 "]: expected a non-empty string, got ", io::json_shown(v[i]));
    out.push_back(v[i].get<std::string>());
  }
  return out;
}

double number_in(const json& v, const std::string& where, double lo, bool lo_open, double hi, bool hi_open) {
  const std::string range = std::string(lo_open ? "(" : "[") + (lo == 0 ? "0" : std::to_string(lo)) + ", " +
                            (hi == 1 ? "1" : std::to_string(hi)) + (hi_open ? ")" : "]");
  SHRINK_CHECK(v.is_number(), where, ": expected a number in ", range, ", got ", io::json_shown(v));
  const double x = v.get<double>();
  const bool ok = (lo_open ? x > lo : x >= lo) && (hi_open ? x < hi : x <= hi);
  SHRINK_CHECK(ok, where, ": expected a number in ", range, ", got ", v.dump());
  return x;
}

std::int64_t int_in(const json& v, const std::string& where, std::int64_t lo, std::int64_t hi) {
  SHRINK_CHECK(v.is_number_integer() || v.is_number_unsigned(), where, ": expected an integer in [", lo, ", ", hi,
               "], got ", io::json_shown(v));
  const bool fits = v.is_number_unsigned() ? v.get<std::uint64_t>() <= static_cast<std::uint64_t>(hi)
                                           : (v.get<std::int64_t>() >= lo && v.get<std::int64_t>() <= hi);
  SHRINK_CHECK(fits, where, ": expected an integer in [", lo, ", ", hi, "], got ", v.dump());
  return v.get<std::int64_t>();
}

std::string one_of(const json& v, const std::string& where, const std::vector<std::string>& allowed) {
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "'" : ", '") + a + "'";
  SHRINK_CHECK(v.is_string() && std::find(allowed.begin(), allowed.end(), v.get<std::string>()) != allowed.end(),
               where, ": expected one of ", list, ", got ", io::json_shown(v));
  return v.get<std::string>();
}

const std::vector<std::string> kQuantTypes = {"weight", "input", "output"};
const std::vector<std::string> kQuantSchemes = {"per_tensor_affine", "per_tensor_symmetric", "per_channel_affine",
                                                "per_channel_symmetric"};
const std::vector<std::string> kQuantDtypes = {"int", "uint", "int_full"};

/// A quantization setting given once for every quant type or as an object {type: value}
/// (NNI's `quant_bits: {"weight": 8, "input": 8}`); `check` validates each value.
template <typename Check>
void per_type(const json& v, const std::string& where, Check check, const char* what) {
  if (!v.is_object()) {
    check(v, where);
    return;
  }
  SHRINK_CHECK(!v.empty(), where, ": expected ", what, " or an object {type: value}, got {}");
  for (const auto& [type, value] : v.items()) {
    one_of(json(type), where, kQuantTypes);
    check(value, where + "['" + type + "']");
  }
}

/// Type and range checks of the setting keys Shrink knows; other keys are kept for
/// select_layers() to report against the compressor's own list.
void check_setting(const std::string& key, const json& v, std::size_t index) {
  const std::string where = at(index, key);
  if (key == "sparsity" || key == "sparsity_per_layer" || key == "total_sparsity") {
    number_in(v, where, 0, false, 1, true);
  } else if (key == "max_sparsity_per_layer") {
    number_in(v, where, 0, true, 1, false);
  } else if (key == "quant_types") {
    for (const auto& t : string_list(v, where)) one_of(json(t), where, kQuantTypes);
  } else if (key == "quant_bits") {
    per_type(v, where, [](const json& bits, const std::string& at) { int_in(bits, at, 1, 32); }, "an integer");
  } else if (key == "quant_start_step") {
    int_in(v, where, 0, std::numeric_limits<std::int64_t>::max());
  } else if (key == "quant_scheme") {
    per_type(v, where, [](const json& x, const std::string& at) { one_of(x, at, kQuantSchemes); }, "a scheme name");
  } else if (key == "quant_dtype") {
    per_type(v, where, [](const json& x, const std::string& at) { one_of(x, at, kQuantDtypes); }, "a dtype name");
  } else if (key == "observer") {
    per_type(v, where, [](const json& x, const std::string& at) {
      SHRINK_CHECK(x.is_string() && !x.get<std::string>().empty(), at, ": expected an observer name, got ", io::json_shown(x));
    }, "an observer name");
  }
}

ConfigDict parse_dict(const json& d, std::size_t index) {
  SHRINK_CHECK(d.is_object(), at(index), ": expected an object {\"op_types\": [...], \"sparsity\": ...}, got ",
               io::json_shown(d));
  ConfigDict out;
  out.index = index;
  for (const auto& [key, value] : d.items()) {
    if (key == "op_types") {
      out.op_types = string_list(value, at(index, key));
    } else if (key == "op_names") {
      out.op_names = string_list(value, at(index, key));
    } else if (key == "op_partial_names") {
      out.op_partial_names = string_list(value, at(index, key));
    } else if (key == "op_names_re") {
      out.op_names_re = string_list(value, at(index, key));
      for (std::size_t i = 0; i < out.op_names_re->size(); ++i) {
        try {
          std::regex check((*out.op_names_re)[i], std::regex::ECMAScript);
        } catch (const std::regex_error& e) {
          throw ValueError(at(index, key) + "[" + std::to_string(i) + "]: expected an ECMAScript regular expression, got '" +
                           (*out.op_names_re)[i] + "' (" + e.what() + ")");
        }
      }
    } else if (key == "exclude") {
      SHRINK_CHECK(value.is_boolean(), at(index, key), ": expected true or false, got ", io::json_shown(value));
      out.exclude = value.get<bool>();
    } else {
      check_setting(key, value, index);
      out.settings[key] = value;
    }
  }
  SHRINK_CHECK(out.op_types || out.op_names || out.op_partial_names || out.op_names_re, at(index),
               ": Either op_types or op_names must be specified. (Hint: op_partial_names and op_names_re select "
               "by name too.)");
  SHRINK_CHECK(!(out.has("sparsity") && out.has("sparsity_per_layer")), at(index),
               ": 'sparsity' and 'sparsity_per_layer' have the same semantics, can not set both in one config.");
  SHRINK_CHECK(!(out.sparsity_per_layer() && out.has("total_sparsity")), at(index),
               ": expected either a per-layer sparsity or 'total_sparsity', got both (Hint: put them in two dicts "
               "selecting different layers)");
  SHRINK_CHECK(!out.has("max_sparsity_per_layer") || out.has("total_sparsity"), at(index),
               ": 'max_sparsity_per_layer' caps the layers of a 'total_sparsity' budget; expected 'total_sparsity' "
               "in the same dict, got none");
  return out;
}

}  // namespace

std::optional<double> ConfigDict::sparsity_per_layer() const {
  if (settings.contains("sparsity_per_layer")) return settings["sparsity_per_layer"].get<double>();
  if (settings.contains("sparsity")) return settings["sparsity"].get<double>();
  return std::nullopt;
}

std::optional<double> ConfigDict::total_sparsity() const {
  if (settings.contains("total_sparsity")) return settings["total_sparsity"].get<double>();
  return std::nullopt;
}

double ConfigDict::max_sparsity_per_layer() const {
  return settings.contains("max_sparsity_per_layer") ? settings["max_sparsity_per_layer"].get<double>() : 0.99;
}

ConfigList ConfigList::parse(const std::string& json_text, const std::string& source) {
  return from_json(io::parse_json_text(json_text, source), source);
}

ConfigList ConfigList::from_json(const json& value, const std::string& source) {
  ConfigList out;
  out.source_ = source;
  try {
    SHRINK_CHECK(value.is_array(), "config_list: expected a list of dicts [{...}, ...], got ", io::json_shown(value));
    for (std::size_t i = 0; i < value.size(); ++i) out.dicts_.push_back(parse_dict(value[i], i));
  } catch (const ValueError& e) {
    if (source == "config_list") throw;
    throw ValueError(source + ": " + e.what());
  }
  return out;
}

ConfigList ConfigList::from_file(const std::string& path) {
  return parse(io::read_text_file(path, "config_list file", kMaxConfigFileBytes), path);
}

json ConfigList::to_json() const {
  json out = json::array();
  for (const auto& d : dicts_) {
    json o = d.settings;
    if (d.op_types) o["op_types"] = *d.op_types;
    if (d.op_names) o["op_names"] = *d.op_names;
    if (d.op_partial_names) o["op_partial_names"] = *d.op_partial_names;
    if (d.op_names_re) o["op_names_re"] = *d.op_names_re;
    if (d.exclude) o["exclude"] = true;
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace shrink::compression
