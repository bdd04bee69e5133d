// JsonReader and the shared pieces of validating JSON readers (messages, bounded parsing).
#include "io/json_reader.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <sstream>

#include "autograd/error.h"
#include "io/checkpoint_meta.h"

namespace shrink::io {
namespace {

using nlohmann::json;

/// A number as messages write it: 0.5, 1, 1e-05.
std::string number_text(double x) {
  std::ostringstream os;
  os << x;
  return os.str();
}

/// A string value as one_of() shows it: `"l3norm"` (quoted JSON, cut to 60 characters).
std::string quoted(const json& v) {
  std::string text = v.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

/// "16 MiB" for whole mebibytes, "<n> bytes" otherwise.
std::string size_text(std::size_t bytes) {
  if (bytes >= (std::size_t{1} << 20) && bytes % (std::size_t{1} << 20) == 0)
    return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes) + " bytes";
}

std::string hint_for(const std::string& name, const std::vector<std::string>& allowed) {
  const std::string near = closest_name(name, allowed);
  return near.empty() ? "" : " (Hint: did you mean \"" + near + "\"?)";
}

}  // namespace

const char* json_kind(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number_integer() || v.is_number_unsigned()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "a list";
  return "an object";
}

std::string json_shown(const json& v) {
  std::string text = v.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  if (v.is_number() || v.is_boolean()) return text;
  return text + " (" + json_kind(v) + ")";
}

std::pair<std::size_t, std::size_t> json_line_column(const std::string& text, std::size_t offset) {
  offset = std::min(offset, text.size());
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

json parse_json_text(const std::string& text, const std::string& source, std::size_t max_depth) {
  if (json_nesting_depth(text, max_depth) > max_depth)
    throw ValueError(source + ": expected JSON nested at most " + std::to_string(max_depth) +
                     " levels deep, got more");
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    // nlohmann's byte is 1-based and points just past the offending character.
    const auto [line, column] = json_line_column(text, e.byte > 0 ? e.byte - 1 : 0);
    std::string what = e.what();
    if (const auto p = what.find("syntax error"); p != std::string::npos) what = what.substr(p);
    throw ValueError(source + ": malformed JSON at line " + std::to_string(line) + ", column " +
                     std::to_string(column) + ": " + what);
  } catch (const json::exception& e) {
    // out_of_range for numbers beyond double range such as 1e400.
    std::string what = e.what();
    if (const auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    throw ValueError(source + ": malformed JSON: " + what);
  }
}

std::string read_text_file(const std::string& path, const std::string& what, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IOError(path + ": cannot open the " + what + " for reading");
  std::string text;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_bytes)
      throw IOError(path + ": expected a " + what + " of at most " + size_text(max_bytes) + ", got more");
  }
  if (in.bad()) throw IOError(path + ": read error");
  return text;
}

bool NumberRange::contains(double x) const {
  return std::isfinite(x) && (lo_open ? x > lo : x >= lo) && (hi_open ? x < hi : x <= hi);
}

std::string NumberRange::describe() const {
  const bool has_lo = std::isfinite(lo), has_hi = std::isfinite(hi);
  if (has_lo && has_hi)
    return "a number in " + std::string(lo_open ? "(" : "[") + number_text(lo) + ", " + number_text(hi) +
           (hi_open ? ")" : "]");
  if (has_lo) return std::string("a number ") + (lo_open ? "> " : ">= ") + number_text(lo);
  if (has_hi) return std::string("a number ") + (hi_open ? "< " : "<= ") + number_text(hi);
  return "a finite number";
}

JsonReader::JsonReader(const nlohmann::json& value, std::string source, std::string path)
    : value_(&value), source_(std::move(source)), path_(std::move(path)) {}

std::string JsonReader::where() const { return path_.empty() ? source_ : source_ + ": " + path_; }

std::string JsonReader::path_of(const std::string& key) const {
  const bool identifier = !key.empty() && !std::isdigit(static_cast<unsigned char>(key[0])) &&
                          std::all_of(key.begin(), key.end(), [](char c) {
                            return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                          });
  if (!identifier) return path_ + "[" + nlohmann::json(key).dump() + "]";
  return path_.empty() ? key : path_ + "." + key;
}

void JsonReader::fail(const std::string& expected, const std::string& got) const {
  throw ValueError(where() + ": expected " + expected + ", got " + got);
}

void JsonReader::error(const std::string& message) const { throw ValueError(where() + ": " + message); }

void JsonReader::object(const std::vector<std::string>& allowed, const std::string& what) const {
  if (!value_->is_object()) fail(what, json_shown(*value_));
  for (const auto& [key, value] : value_->items()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    JsonReader(value, source_, path_of(key))
        .fail("a key among " + join_names(allowed), "an unknown key" + hint_for(key, allowed));
  }
}

bool JsonReader::has(const std::string& key) const { return value_->is_object() && value_->contains(key); }

std::optional<JsonReader> JsonReader::find(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return JsonReader((*value_)[key], source_, path_of(key));
}

JsonReader JsonReader::required(const std::string& key, const std::string& what) const {
  if (!value_->is_object()) fail("an object", json_shown(*value_));
  if (!value_->contains(key)) fail("a key '" + key + "' (" + what + ")", "none");
  return JsonReader((*value_)[key], source_, path_of(key));
}

std::size_t JsonReader::list(std::size_t min_size, std::size_t max_size, const std::string& what) const {
  if (!value_->is_array()) fail(what, json_shown(*value_));
  const std::size_t n = value_->size();
  const auto entries = [](std::size_t k) { return std::to_string(k) + (k == 1 ? " entry" : " entries"); };
  if (min_size == max_size && n != min_size) fail(what + " with exactly " + entries(min_size), std::to_string(n));
  if (n < min_size) fail(what + " with at least " + entries(min_size), std::to_string(n));
  if (n > max_size) fail(what + " with at most " + entries(max_size), std::to_string(n));
  return n;
}

JsonReader JsonReader::at(std::size_t index) const {
  return JsonReader((*value_)[index], source_, path_ + "[" + std::to_string(index) + "]");
}

std::string JsonReader::string(bool allow_empty) const {
  const char* expected = allow_empty ? "a string" : "a non-empty string";
  if (!value_->is_string()) fail(expected, json_shown(*value_));
  const std::string& s = value_->get_ref<const std::string&>();
  if (s.empty() && !allow_empty) fail(expected, "\"\"");
  return s;
}

std::string JsonReader::one_of(const std::vector<std::string>& allowed) const {
  const std::string expected = "one of " + join_names(allowed);
  if (!value_->is_string()) fail(expected, json_shown(*value_));
  const std::string& s = value_->get_ref<const std::string&>();
  if (std::find(allowed.begin(), allowed.end(), s) == allowed.end()) fail(expected, quoted(*value_) + hint_for(s, allowed));
  return s;
}

double JsonReader::number(const NumberRange& range) const {
  if (!value_->is_number()) fail(range.describe(), json_shown(*value_));
  const double x = value_->get<double>();
  if (!range.contains(x)) fail(range.describe(), std::isfinite(x) ? value_->dump() : number_text(x));
  return x;
}

std::int64_t JsonReader::integer(std::int64_t lo, std::int64_t hi) const {
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  std::string expected;
  if (lo != kMin && hi != kMax) expected = "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  else if (lo != kMin) expected = "an integer >= " + std::to_string(lo);
  else if (hi != kMax) expected = "an integer <= " + std::to_string(hi);
  else expected = "an integer";
  if (!value_->is_number_integer()) fail(expected, json_shown(*value_));
  // Integers beyond int64 are parsed as unsigned.
  if (value_->is_number_unsigned() && value_->get<std::uint64_t>() > static_cast<std::uint64_t>(kMax))
    fail(expected, value_->dump());
  const std::int64_t v = value_->get<std::int64_t>();
  if (v < lo || v > hi) fail(expected, value_->dump());
  return v;
}

std::uint64_t JsonReader::unsigned_integer() const {
  if (!value_->is_number_integer() || (!value_->is_number_unsigned() && value_->get<std::int64_t>() < 0))
    fail("an integer >= 0", json_shown(*value_));
  return value_->get<std::uint64_t>();
}

bool JsonReader::boolean() const {
  if (!value_->is_boolean()) fail("true or false", json_shown(*value_));
  return value_->get<bool>();
}

std::vector<std::string> JsonReader::string_list(std::size_t min_size, std::size_t max_size,
                                                 const std::vector<std::string>& allowed) const {
  const std::size_t n = list(min_size, max_size, allowed.empty() ? "a list of strings" : "a list of names");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) {
    const JsonReader element = at(i);
    std::string s = allowed.empty() ? element.string() : element.one_of(allowed);
    if (std::find(out.begin(), out.end(), s) != out.end()) element.fail("each name once", "\"" + s + "\" again");
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<double> JsonReader::number_list(std::size_t min_size, std::size_t max_size, const NumberRange& range,
                                            const std::string& what) const {
  const std::size_t n = list(min_size, max_size, what);
  std::vector<double> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(at(i).number(range));
  return out;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string closest_name(const std::string& name, const std::vector<std::string>& names) {
  std::string best;
  std::size_t best_distance = 3;
  for (const auto& candidate : names) {
    const std::size_t d = edit_distance(name, candidate);
    if (d < best_distance && d < name.size() && d < candidate.size()) {
      best = candidate;
      best_distance = d;
    }
  }
  return best;
}

}  // namespace shrink::io
