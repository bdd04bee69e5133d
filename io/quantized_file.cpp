// The quantized export: int8/uint8 datasets with their scale and zero point companions and
// grid attributes, plus the unquantized tensors of the model in the state_dict layout.
#include "io/quantized_file.h"

#include <array>
#include <map>
#include <set>

#include "io/atomic_write.h"
#include "io/shrink_file.h"

namespace shrink::io {
namespace {

constexpr const char* kScaleSuffix = ".scale";
constexpr const char* kZeroPointSuffix = ".zero_point";
/// The integer attributes of a quantized dataset, all required.
constexpr std::array<const char*, 4> kGridAttrs{"axis", "bits", "qmin", "qmax"};
constexpr const char* kGridAttrList = "axis, bits, qmin, qmax";

std::string file_prefix(const std::string& where, const std::string& path) { return where + ": '" + path + "': "; }

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// The tensor `name` is a companion of (`w` for `w.scale` / `w.zero_point`), or "".
std::string companion_base(const std::string& name) {
  for (const std::string suffix : {kScaleSuffix, kZeroPointSuffix})
    if (ends_with(name, suffix)) return name.substr(0, name.size() - suffix.size());
  return "";
}

/// Every dataset the writer will create, with what it holds; refuses bad names and duplicates.
class NameTable {
 public:
  explicit NameTable(std::string prefix) : prefix_(std::move(prefix)) {}

  void claim(const std::string& name, const std::string& what) {
    SHRINK_CHECK(!name.empty() && name != "." && name.find('/') == std::string::npos, prefix_,
                 "expected names that are non-empty, not '.' and without '/', got '", name, "' (", what, ")");
    const auto [it, fresh] = owners_.emplace(name, what);
    SHRINK_CHECK(fresh, prefix_, "expected unique dataset names, got '", name, "' for both ", it->second, " and ",
                 what);
  }
  bool contains(const std::string& name) const { return owners_.count(name) != 0; }

 private:
  std::string prefix_;
  std::map<std::string, std::string> owners_;
};

void write_quantized(H5File& file, const QuantizedTensor& q) {
  write_entry(file, q.name, q.data);
  for (const char* attr : kGridAttrs) {
    const std::string a = attr;
    file.set_int_attr(q.name, a, a == "axis" ? q.axis : a == "bits" ? q.bits : a == "qmin" ? q.qmin : q.qmax);
  }
  write_entry(file, q.name + kScaleSuffix, q.scale);
  write_entry(file, q.name + kZeroPointSuffix, q.zero_point);
}

/// Whether `name` carries any grid attribute (it is then a quantized tensor).
bool has_grid_attr(const H5File& file, const std::string& name) {
  for (const char* attr : kGridAttrs)
    if (file.has_attr(name, attr)) return true;
  return false;
}

QuantizedTensor read_quantized(const H5File& file, const std::string& name, const std::set<std::string>& present) {
  const std::string pre = file.prefix() + "quantized tensor '" + name + "': ";
  const std::string dtype = entry_spec(file, name, name).dtype;
  if (dtype != "int8" && dtype != "uint8") throw IOError(pre + "data: expected int8 or uint8, got " + dtype);
  QuantizedTensor q;
  q.name = name;
  std::array<std::int64_t*, 4> fields{&q.axis, &q.bits, &q.qmin, &q.qmax};
  for (std::size_t i = 0; i < kGridAttrs.size(); ++i) {
    const std::optional<std::int64_t> v = file.int_attr(name, kGridAttrs[i]);
    if (!v)
      throw IOError(pre + "expected the attributes " + kGridAttrList + ", got no '" + kGridAttrs[i] + "'");
    *fields[i] = *v;
  }
  for (const auto& [suffix, what] : {std::pair<const char*, const char*>{kScaleSuffix, "scale"},
                                     {kZeroPointSuffix, "zero point"}})
    if (!present.count(name + suffix))
      throw IOError(pre + "expected a dataset '" + name + suffix + "' (its " + what + "), got none");
  q.data = read_entry(file, name);
  q.scale = read_entry(file, name + kScaleSuffix);
  q.zero_point = read_entry(file, name + kZeroPointSuffix);
  if (const std::string problem = quantized_tensor_problem(q); !problem.empty()) throw IOError(pre + problem);
  return q;
}

}  // namespace

void save_quantized(const std::string& path, const QuantizedFile& file) {
  const char* where = "save_quantized";
  const std::string prefix = file_prefix(where, path);
  NameTable names(prefix);
  for (const QuantizedTensor& q : file.quantized) {
    names.claim(q.name, "quantized tensor '" + q.name + "'");
    const std::string problem = quantized_tensor_problem(q);
    SHRINK_CHECK(problem.empty(), prefix, "quantized tensor '", q.name, "': ", problem);
    names.claim(q.name + kScaleSuffix, "the scale of '" + q.name + "'");
    names.claim(q.name + kZeroPointSuffix, "the zero point of '" + q.name + "'");
  }
  for (const auto& [key, tensor] : file.unquantized) {
    names.claim(key, "unquantized tensor '" + key + "'");
    SHRINK_CHECK(tensor.defined(), prefix, "unquantized tensor '", key, "': expected a tensor, got an undefined Tensor");
  }
  // The reader takes `<k>.scale` for a companion of `<k>`: refuse one next to an unquantized `<k>`.
  for (const auto& [key, tensor] : file.unquantized) {
    const std::string base = companion_base(key);
    SHRINK_CHECK(base.empty() || !file.unquantized.contains(base), prefix, "unquantized tensor '", key,
                 "': expected no tensor named like a companion of the unquantized tensor '", base,
                 "' (Hint: quantize '", base, "' or rename one of them)");
  }
  write_atomically(path, where, [&](const std::string& tmp) {
    H5File out = H5File::create(tmp, where, path);
    write_header(out, kQuantizedFormat);
    for (const QuantizedTensor& q : file.quantized) write_quantized(out, q);
    for (const auto& [key, tensor] : file.unquantized) write_entry(out, key, tensor);
    out.close();
  });
}

QuantizedFile load_quantized_file(const std::string& path) {
  const H5File file = open_shrink_file(path, "load_quantized_file", {kQuantizedFormat}, false);
  const std::vector<std::string> names = file.names();
  const std::set<std::string> present(names.begin(), names.end());
  std::set<std::string> quantized;
  for (const std::string& name : names)
    if (has_grid_attr(file, name)) quantized.insert(name);
  QuantizedFile out;
  for (const std::string& name : names) {
    if (quantized.count(name)) {
      out.quantized.push_back(read_quantized(file, name, present));
      continue;
    }
    const std::string base = companion_base(name);
    if (quantized.count(base)) continue;  // read with its tensor
    if (present.count(base))
      throw IOError(file.prefix() + "dataset '" + name + "': expected '" + base +
                    "' to be a quantized tensor (it is named like its companion), got '" + base +
                    "' without the attributes " + kGridAttrList);
    out.unquantized.insert(name, read_entry(file, name));
  }
  return out;
}

StateDict load_quantized(const std::string& path) {
  const QuantizedFile file = load_quantized_file(path);
  StateDict out;
  for (const QuantizedTensor& q : file.quantized) out.insert(q.name, dequantize(q));
  for (const auto& [name, tensor] : file.unquantized) out.insert(name, tensor);
  return out;
}

}  // namespace shrink::io
