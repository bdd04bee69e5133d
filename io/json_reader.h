#pragma once
/// \file
/// Reading JSON that a user wrote (a pipeline file, a run record, a config_list) with every value
/// type- and range-checked and every error naming where it is, as
/// `<source>: <path>: expected <x>, got <y>` with the path in JSON-path form:
///
/// \code
///   const json doc = io::parse_json_text(text, "demo.json");   // syntax errors give line and column
///   io::JsonReader root(doc, "demo.json");
///   root.object({"model", "stages"});                 // unknown keys list the allowed ones
///   const io::JsonReader stages = root.required("stages");
///   for (std::size_t i = 0; i < stages.list(1, 1000, "a list of stages"); ++i) {
///     const io::JsonReader stage = stages.at(i);
///     if (auto lr = stage.find("lr")) spec.lr = lr->number(io::NumberRange::above(0));
///   }
///   // demo.json: stages[1].lr: expected a number > 0, got -1
/// \endcode
///
/// Also the pieces such readers share: how a value is shown in a message (json_shown), the line
/// and column of a syntax error, bounded reading and parsing of text (size and nesting depth, for
/// hostile input).

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace shrink::io {

/// "null", "a boolean", "an integer", "a number", "a string", "a list" or "an object".
const char* json_kind(const nlohmann::json& value);

/// A value as messages show it: numbers and booleans as themselves, anything else as its JSON
/// text (cut to 60 characters) followed by its kind, e.g. `"0.5" (a string)`.
std::string json_shown(const nlohmann::json& value);

/// 1-based line and column of byte `offset` of `text` (offsets past the end count as the end).
std::pair<std::size_t, std::size_t> json_line_column(const std::string& text, std::size_t offset);

/// Parses JSON `text`. ValueError "<source>: expected JSON nested at most <max_depth> levels
/// deep, got more" (checked before parsing, see json_nesting_depth), "<source>: malformed JSON at
/// line <l>, column <c>: syntax error ..." (where the offending token ends, as nlohmann reads) and "<source>: malformed JSON: number overflow ..."
/// (a number beyond double range).
nlohmann::json parse_json_text(const std::string& text, const std::string& source, std::size_t max_depth = 64);

/// The whole content of file `path`. IOError "<path>: cannot open the <what> for reading" and
/// "<path>: expected a <what> of at most <max_bytes> (\"16 MiB\" or \"<n> bytes\"), got more".
std::string read_text_file(const std::string& path, const std::string& what, std::size_t max_bytes);

/// The values a number may take, for JsonReader::number and its messages ("in [0, 1)", "> 0").
struct NumberRange {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool lo_open = false;  ///< lo itself excluded
  bool hi_open = false;  ///< hi itself excluded

  /// Any finite number.
  static NumberRange any() { return {}; }
  /// [lo, hi].
  static NumberRange closed(double lo, double hi) { return {lo, hi, false, false}; }
  /// [lo, hi).
  static NumberRange half_open(double lo, double hi) { return {lo, hi, false, true}; }
  /// (lo, hi).
  static NumberRange open(double lo, double hi) { return {lo, hi, true, true}; }
  /// > lo.
  static NumberRange above(double lo) { return {lo, std::numeric_limits<double>::infinity(), true, false}; }
  /// >= lo.
  static NumberRange at_least(double lo) { return {lo, std::numeric_limits<double>::infinity(), false, false}; }

  bool contains(double x) const;
  /// "a number in [0, 1)", "a number > 0", "a number >= 0" or "a finite number".
  std::string describe() const;
};

/// One value of a JSON document and where it is: its source (a file name) and its JSON path from
/// the root ("" at the root, then "stages", "stages[1]", "stages[1].training.lr"). Every getter
/// checks the value and throws ValueError "<source>: <path>: expected <x>, got <y>" (at the root:
/// "<source>: expected ..."). A reader refers to the document, which must outlive it.
class JsonReader {
 public:
  JsonReader(const nlohmann::json& value, std::string source, std::string path = "");

  const nlohmann::json& json() const { return *value_; }
  const std::string& source() const { return source_; }
  const std::string& path() const { return path_; }
  /// "<source>: <path>", or "<source>" at the root: what messages start with.
  std::string where() const;
  /// The path of `key` below this value: "stages[1]" + "lr" -> "stages[1].lr"; a key that is not
  /// an identifier is quoted: "accuracy" + "features.0" -> "accuracy[\"features.0\"]".
  std::string path_of(const std::string& key) const;

  /// Throws ValueError "<where>: expected <expected>, got <got>".
  [[noreturn]] void fail(const std::string& expected, const std::string& got) const;
  /// Throws ValueError "<where>: <message>".
  [[noreturn]] void error(const std::string& message) const;

  /// Checks that this is an object whose keys are all in `allowed`; `what` describes it in the
  /// type error ("an object {\"zoo\": ...}"). An unknown key fails at its own path:
  /// "<where>.<key>: expected a key among a, b, c, got an unknown key" (+ a hint naming the
  /// closest allowed key when one is close).
  void object(const std::vector<std::string>& allowed, const std::string& what = "an object") const;
  /// True when this is an object holding `key`.
  bool has(const std::string& key) const;
  /// The value at `key`, or none when absent (this must be an object: call object() first).
  std::optional<JsonReader> find(const std::string& key) const;
  /// The value at `key`; "<where>: expected a key '<key>' (<what>), got none" when absent.
  JsonReader required(const std::string& key, const std::string& what) const;

  /// Checks that this is a list of [min_size, max_size] elements and returns its size: "expected
  /// <what>, got ..." for another type, "expected <what> with at least 2 entries, got 1" (at most,
  /// exactly) for another size.
  std::size_t list(std::size_t min_size, std::size_t max_size, const std::string& what) const;
  /// Element `index` of a list (path "<path>[<index>]").
  JsonReader at(std::size_t index) const;

  /// A string; an empty one is an error unless `allow_empty`.
  std::string string(bool allow_empty = false) const;
  /// A string that is one of `allowed`: "expected one of a, b, c, got "x"" (+ a closest-name hint).
  std::string one_of(const std::vector<std::string>& allowed) const;
  /// A finite number in `range`.
  double number(const NumberRange& range = NumberRange::any()) const;
  /// An integer in [lo, hi] (a number with a fraction or exponent, such as 2.0, is not one).
  std::int64_t integer(std::int64_t lo = std::numeric_limits<std::int64_t>::min(),
                       std::int64_t hi = std::numeric_limits<std::int64_t>::max()) const;
  /// An integer in [0, 2^64).
  std::uint64_t unsigned_integer() const;
  /// true or false.
  bool boolean() const;
  /// A list of at most max_size strings, each one of `allowed` (any non-empty string when
  /// `allowed` is empty), none twice.
  std::vector<std::string> string_list(std::size_t min_size, std::size_t max_size,
                                       const std::vector<std::string>& allowed = {}) const;
  /// A list of [min_size, max_size] numbers, each in `range`; `what` describes it in messages.
  std::vector<double> number_list(std::size_t min_size, std::size_t max_size, const NumberRange& range,
                                  const std::string& what = "a list of numbers") const;

 private:
  const nlohmann::json* value_;
  std::string source_;
  std::string path_;
};

/// Levenshtein distance between `a` and `b` (what "did you mean" hints are ranked by).
std::size_t edit_distance(const std::string& a, const std::string& b);
/// "a, b, c".
std::string join_names(const std::vector<std::string>& names);
/// The entry of `names` closest to `name` (edit distance at most 2, and less than its length),
/// or "" when none is that close: what "did you mean" hints name.
std::string closest_name(const std::string& name, const std::vector<std::string>& names);

}  // namespace shrink::io
