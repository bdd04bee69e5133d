// The layer table of model files: per layer type, its options as JSON and back (validated).
#include "speedup/module_factory.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <typeinfo>

#include <nlohmann/json.hpp>

#include "autograd/error.h"
#include "nn/layers.h"

namespace shrink::speedup {
namespace {

using nlohmann::json;
using i64 = std::int64_t;

constexpr i64 kMaxFeatures = i64{1} << 24;
constexpr i64 kMaxWindow = i64{1} << 16;
constexpr i64 kMaxElements = i64{1} << 40;
constexpr i64 kMaxFlattenDim = 64;

/// The module itself when its dynamic type is exactly T (not a subclass), else null.
template <typename T>
const T* exactly(const nn::Module& m) {
  return typeid(m) == typeid(T) ? static_cast<const T*>(&m) : nullptr;
}

/// A float as the JSON number with the shortest decimal form that reads back as the same float
/// (1e-05, not 9.99999974737875e-06).
double shortest(float v) {
  char buf[64];
  const auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  double d = 0.0;
  std::from_chars(buf, end, d);
  return d;
}

json pair_json(const std::array<i64, 2>& v) { return json::array({v[0], v[1]}); }

std::string describe(const json& j) {
  std::string s = j.dump();
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

/// Reads the options of one module, naming the module and field in every error.
class OptionReader {
 public:
  OptionReader(const json& options, std::string where, const std::vector<std::string>& fields)
      : options_(options), where_(std::move(where)) {
    SHRINK_CHECK(options.is_object(), where_, ": field \"options\": expected an object, got ", describe(options));
    for (const auto& [key, value] : options.items()) {
      if (std::find(fields.begin(), fields.end(), key) != fields.end()) continue;
      std::string allowed;
      for (const std::string& f : fields) allowed += (allowed.empty() ? "" : ", ") + f;
      SHRINK_CHECK(false, where_, ": expected ", fields.empty() ? "no options" : "only the options " + allowed,
                   ", got \"", key, "\"");
    }
  }

  const std::string& where() const { return where_; }

  i64 integer(const char* field, i64 lo, i64 hi) const {
    const json& v = get(field);
    if (!v.is_number_integer()) fail(field, range("an integer", lo, hi), describe(v));
    const i64 x = v.is_number_unsigned() && v.get<std::uint64_t>() > std::uint64_t(hi) ? hi + 1 : v.get<i64>();
    if (x < lo || x > hi) fail(field, range("an integer", lo, hi), describe(v));
    return x;
  }

  std::array<i64, 2> pair(const char* field, i64 lo, i64 hi) const {
    const json& v = get(field);
    const std::string expected = "a list of 2 integers in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    if (!v.is_array() || v.size() != 2) fail(field, expected, describe(v));
    std::array<i64, 2> out{};
    for (std::size_t i = 0; i < 2; ++i) {
      if (!v[i].is_number_integer()) fail(field, expected, describe(v));
      const bool too_big = v[i].is_number_unsigned() && v[i].get<std::uint64_t>() > std::uint64_t(hi);
      out[i] = too_big ? hi + 1 : v[i].get<i64>();
      if (out[i] < lo || out[i] > hi) fail(field, expected, describe(v));
    }
    return out;
  }

  bool boolean(const char* field) const {
    const json& v = get(field);
    if (!v.is_boolean()) fail(field, "true or false", describe(v));
    return v.get<bool>();
  }

  /// A finite number in [lo, hi] (or (lo, hi] with `open_low`), as a float.
  float number(const char* field, double lo, double hi, bool open_low = false) const {
    const json& v = get(field);
    std::ostringstream expected;
    expected << "a number in " << (open_low ? "(" : "[") << lo << ", " << hi << "]";
    if (!v.is_number()) fail(field, expected.str(), describe(v));
    const double x = v.get<double>();
    if (!std::isfinite(x) || x < lo || x > hi || (open_low && x == lo)) fail(field, expected.str(), describe(v));
    return static_cast<float>(x);
  }

  std::string choice(const char* field, const std::vector<std::string>& allowed) const {
    const json& v = get(field);
    std::string list;
    for (const std::string& a : allowed) list += (list.empty() ? "\"" : " or \"") + a + "\"";
    if (!v.is_string() || std::find(allowed.begin(), allowed.end(), v.get<std::string>()) == allowed.end())
      fail(field, list, describe(v));
    return v.get<std::string>();
  }

  [[noreturn]] void fail(const char* field, const std::string& expected, const std::string& got) const {
    throw ValueError(where_ + ": field \"" + field + "\": expected " + expected + ", got " + got);
  }

 private:
  static std::string range(const char* what, i64 lo, i64 hi) {
    return std::string(what) + " in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  }
  const json& get(const char* field) const {
    if (!options_.contains(field)) fail(field, "the option", "nothing");
    return options_[field];
  }

  const json& options_;
  std::string where_;
};

/// The product of `shape`, checked against kMaxElements (which also rules out overflow).
void check_elements(const OptionReader& r, const Shape& shape, const char* tensor) {
  i64 n = 1;
  for (i64 d : shape) {
    if (d != 0 && n > kMaxElements / d) n = kMaxElements + 1;
    else n *= d;
  }
  SHRINK_CHECK(n <= kMaxElements, r.where(), ": expected a ", tensor, " of at most 2^40 elements, got shape ",
               shape_str(shape));
}

io::EntrySpec f32(const char* key, Shape shape) { return {key, std::move(shape), "float32"}; }

/// One layer type: its options as JSON (null when `m` is not exactly this type) and back.
struct Layer {
  std::vector<std::string> fields;
  std::function<std::optional<json>(const nn::Module& m)> save;
  std::function<ModuleSpec(const OptionReader& r)> load;
};

template <typename T>
Layer stateless() {
  return {{},
          [](const nn::Module& m) -> std::optional<json> {
            if (!exactly<T>(m)) return std::nullopt;
            return json::object();
          },
          [](const OptionReader&) { return ModuleSpec{"", {}, [] { return nn::ModulePtr(std::make_shared<T>()); }}; }};
}

Layer conv2d() {
  return {{"in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias"},
          [](const nn::Module& m) -> std::optional<json> {
            const auto* c = exactly<nn::Conv2d>(m);
            if (!c) return std::nullopt;
            const nn::Conv2dOptions& o = c->options();
            return json{{"in_channels", o.in_channels},       {"out_channels", o.out_channels},
                        {"kernel_size", pair_json(o.kernel_size)}, {"stride", pair_json(o.stride)},
                        {"padding", pair_json(o.padding)},    {"dilation", pair_json(o.dilation)},
                        {"groups", o.groups},                 {"bias", o.bias}};
          },
          [](const OptionReader& r) {
            nn::Conv2dOptions o;
            o.in_channels = r.integer("in_channels", 1, kMaxFeatures);
            o.out_channels = r.integer("out_channels", 1, kMaxFeatures);
            o.kernel_size = r.pair("kernel_size", 1, kMaxWindow);
            o.stride = r.pair("stride", 1, kMaxWindow);
            o.padding = r.pair("padding", 0, kMaxWindow);
            o.dilation = r.pair("dilation", 1, kMaxWindow);
            o.groups = r.integer("groups", 1, kMaxFeatures);
            if (o.in_channels % o.groups != 0 || o.out_channels % o.groups != 0)
              r.fail("groups", "a divisor of in_channels (" + std::to_string(o.in_channels) + ") and out_channels (" +
                                   std::to_string(o.out_channels) + ")",
                     std::to_string(o.groups));
            o.bias = r.boolean("bias");
            const Shape weight{o.out_channels, o.in_channels / o.groups, o.kernel_size[0], o.kernel_size[1]};
            check_elements(r, weight, "weight");
            std::vector<io::EntrySpec> entries{f32("weight", weight)};
            if (o.bias) entries.push_back(f32("bias", {o.out_channels}));
            return ModuleSpec{"", entries, [o] { return nn::ModulePtr(std::make_shared<nn::Conv2d>(o)); }};
          }};
}

Layer linear() {
  return {{"in_features", "out_features", "bias"},
          [](const nn::Module& m) -> std::optional<json> {
            const auto* l = exactly<nn::Linear>(m);
            if (!l) return std::nullopt;
            return json{{"in_features", l->in_features()}, {"out_features", l->out_features()}, {"bias", l->bias().defined()}};
          },
          [](const OptionReader& r) {
            const i64 in = r.integer("in_features", 1, kMaxFeatures);
            const i64 out = r.integer("out_features", 1, kMaxFeatures);
            const bool bias = r.boolean("bias");
            check_elements(r, {out, in}, "weight");
            std::vector<io::EntrySpec> entries{f32("weight", {out, in})};
            if (bias) entries.push_back(f32("bias", {out}));
            return ModuleSpec{"", entries, [=] { return nn::ModulePtr(std::make_shared<nn::Linear>(in, out, bias)); }};
          }};
}

template <typename BN>
Layer batch_norm() {
  return {{"num_features", "eps", "momentum", "affine", "track_running_stats"},
          [](const nn::Module& m) -> std::optional<json> {
            const auto* b = exactly<BN>(m);
            if (!b) return std::nullopt;
            const nn::BatchNormOptions& o = b->options();
            return json{{"num_features", o.num_features}, {"eps", shortest(o.eps)}, {"momentum", shortest(o.momentum)},
                        {"affine", o.affine},             {"track_running_stats", o.track_running_stats}};
          },
          [](const OptionReader& r) {
            nn::BatchNormOptions o;
            o.num_features = r.integer("num_features", 1, kMaxFeatures);
            o.eps = r.number("eps", 0.0, 1.0, /*open_low=*/true);
            o.momentum = r.number("momentum", 0.0, 1.0);
            o.affine = r.boolean("affine");
            o.track_running_stats = r.boolean("track_running_stats");
            std::vector<io::EntrySpec> entries;
            if (o.affine) entries = {f32("weight", {o.num_features}), f32("bias", {o.num_features})};
            if (o.track_running_stats) {
              entries.push_back(f32("running_mean", {o.num_features}));
              entries.push_back(f32("running_var", {o.num_features}));
              entries.push_back({"num_batches_tracked", {}, "int64"});
            }
            return ModuleSpec{"", entries, [o] { return nn::ModulePtr(std::make_shared<BN>(o)); }};
          }};
}

/// kernel_size, stride (0 resolved to the kernel, as PyTorch's stride=None) and padding.
json window_json(const Pool2dParams& p) {
  const std::array<i64, 2> stride{p.stride[0] == 0 ? p.kernel[0] : p.stride[0], p.stride[1] == 0 ? p.kernel[1] : p.stride[1]};
  return json{{"kernel_size", pair_json(p.kernel)}, {"stride", pair_json(stride)}, {"padding", pair_json(p.padding)},
              {"ceil_mode", p.ceil_mode}};
}

Pool2dParams window_params(const OptionReader& r) {
  Pool2dParams p;
  p.kernel = r.pair("kernel_size", 1, kMaxWindow);
  p.stride = r.pair("stride", 1, kMaxWindow);
  p.padding = r.pair("padding", 0, kMaxWindow);
  if (p.padding[0] > p.kernel[0] / 2 || p.padding[1] > p.kernel[1] / 2)
    r.fail("padding", "at most half the kernel_size (" + std::to_string(p.kernel[0] / 2) + ", " +
                          std::to_string(p.kernel[1] / 2) + ")",
           "[" + std::to_string(p.padding[0]) + ", " + std::to_string(p.padding[1]) + "]");
  p.ceil_mode = r.boolean("ceil_mode");
  return p;
}

Layer max_pool2d() {
  return {{"kernel_size", "stride", "padding", "dilation", "ceil_mode"},
          [](const nn::Module& m) -> std::optional<json> {
            const auto* p = exactly<nn::MaxPool2d>(m);
            if (!p) return std::nullopt;
            json j = window_json(p->params());
            j["dilation"] = pair_json(p->params().dilation);
            return j;
          },
          [](const OptionReader& r) {
            Pool2dParams p = window_params(r);
            p.dilation = r.pair("dilation", 1, kMaxWindow);
            return ModuleSpec{"", {}, [p] { return nn::ModulePtr(std::make_shared<nn::MaxPool2d>(p)); }};
          }};
}

Layer avg_pool2d() {
  return {{"kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"},
          [](const nn::Module& m) -> std::optional<json> {
            const auto* p = exactly<nn::AvgPool2d>(m);
            if (!p) return std::nullopt;
            json j = window_json(p->params());
            j["count_include_pad"] = p->params().count_include_pad;
            return j;
          },
          [](const OptionReader& r) {
            Pool2dParams p = window_params(r);
            p.count_include_pad = r.boolean("count_include_pad");
            return ModuleSpec{"", {}, [p] { return nn::ModulePtr(std::make_shared<nn::AvgPool2d>(p)); }};
          }};
}

Layer adaptive_avg_pool2d() {
  return {{"output_size"},
          [](const nn::Module& m) -> std::optional<json> {
            const auto* p = exactly<nn::AdaptiveAvgPool2d>(m);
            if (!p) return std::nullopt;
            return json{{"output_size", pair_json(p->output_size())}};
          },
          [](const OptionReader& r) {
            const std::array<i64, 2> size = r.pair("output_size", 1, kMaxWindow);
            return ModuleSpec{"", {}, [size] { return nn::ModulePtr(std::make_shared<nn::AdaptiveAvgPool2d>(size)); }};
          }};
}

Layer leaky_relu() {
  return {{"negative_slope"},
          [](const nn::Module& m) -> std::optional<json> {
            const auto* l = exactly<nn::LeakyReLU>(m);
            if (!l) return std::nullopt;
            return json{{"negative_slope", shortest(l->negative_slope())}};
          },
          [](const OptionReader& r) {
            const float slope = r.number("negative_slope", -1e6, 1e6);
            return ModuleSpec{"", {}, [slope] { return nn::ModulePtr(std::make_shared<nn::LeakyReLU>(slope)); }};
          }};
}

Layer gelu() {
  return {{"approximate"},
          [](const nn::Module& m) -> std::optional<json> {
            const auto* g = exactly<nn::GELU>(m);
            if (!g) return std::nullopt;
            return json{{"approximate", g->approximate()}};
          },
          [](const OptionReader& r) {
            const std::string approximate = r.choice("approximate", {"none", "tanh"});
            return ModuleSpec{"", {}, [approximate] { return nn::ModulePtr(std::make_shared<nn::GELU>(approximate)); }};
          }};
}

Layer flatten() {
  return {{"start_dim", "end_dim"},
          [](const nn::Module& m) -> std::optional<json> {
            const auto* f = exactly<nn::Flatten>(m);
            if (!f) return std::nullopt;
            return json{{"start_dim", f->start_dim()}, {"end_dim", f->end_dim()}};
          },
          [](const OptionReader& r) {
            const i64 start = r.integer("start_dim", -kMaxFlattenDim, kMaxFlattenDim);
            const i64 end = r.integer("end_dim", -kMaxFlattenDim, kMaxFlattenDim);
            return ModuleSpec{"", {}, [=] { return nn::ModulePtr(std::make_shared<nn::Flatten>(start, end)); }};
          }};
}

Layer dropout() {
  return {{"p"},
          [](const nn::Module& m) -> std::optional<json> {
            const auto* d = exactly<nn::Dropout>(m);
            if (!d) return std::nullopt;
            return json{{"p", shortest(d->p())}};
          },
          [](const OptionReader& r) {
            const float p = r.number("p", 0.0, 1.0);
            return ModuleSpec{"", {}, [p] { return nn::ModulePtr(std::make_shared<nn::Dropout>(p)); }};
          }};
}

const std::map<std::string, Layer>& layers() {
  static const std::map<std::string, Layer> table = {
      {"AdaptiveAvgPool2d", adaptive_avg_pool2d()},
      {"AvgPool2d", avg_pool2d()},
      {"BatchNorm1d", batch_norm<nn::BatchNorm1d>()},
      {"BatchNorm2d", batch_norm<nn::BatchNorm2d>()},
      {"Conv2d", conv2d()},
      {"Dropout", dropout()},
      {"Flatten", flatten()},
      {"GELU", gelu()},
      {"Identity", stateless<nn::Identity>()},
      {"LeakyReLU", leaky_relu()},
      {"Linear", linear()},
      {"MaxPool2d", max_pool2d()},
      {"ReLU", stateless<nn::ReLU>()},
      {"ReLU6", stateless<nn::ReLU6>()},
      {"Sigmoid", stateless<nn::Sigmoid>()},
      {"Tanh", stateless<nn::Tanh>()},
  };
  return table;
}

std::string type_list() {
  std::string out;
  for (const std::string& t : serializable_module_types()) out += (out.empty() ? "" : ", ") + t;
  return out;
}

std::string parametrizations_of(const nn::Module& m) {
  std::string out;
  for (const auto& [param, value] : m.named_parameters(false)) {
    if (!m.is_parametrized(param)) continue;
    std::string kinds;
    for (const std::string& k : m.parametrization_kinds(param)) kinds += (kinds.empty() ? "" : ", ") + (k.empty() ? "unnamed" : k);
    out += (out.empty() ? "" : "; ") + param + ": " + kinds;
  }
  return out;
}

}  // namespace

std::vector<std::string> serializable_module_types() {
  std::vector<std::string> out;
  for (const auto& [type, layer] : layers()) out.push_back(type);
  return out;
}

json module_to_json(const nn::Module& module, const std::string& name) {
  const auto it = layers().find(module.type_name());
  std::optional<json> options;
  if (it != layers().end()) options = it->second.save(module);
  SHRINK_CHECK(options.has_value(), "module '", name, "' is a ", module.type_name(),
               it == layers().end() ? "" : " of its own class (a subclass of the layer)",
               ", which a model file cannot rebuild; it holds the layers ", type_list(),
               ". Hint: compose the module from those layers (as children) and functional ops, so that the traced "
               "graph records what it computes");
  SHRINK_CHECK(!module.is_parametrized(), "module '", name, "' (", module.type_name(), ") has parametrizations (",
               parametrizations_of(module), "), which a model file does not hold. Hint: unwrap() the compressor "
               "first (or speed the model up), so that the weights are plain tensors");
  json j{{"type", module.type_name()}, {"options", *options}};
  // The file must rebuild exactly this module: its tensors are those of a layer built from the
  // options (no extra buffer such as a mask left behind).
  const ModuleSpec spec = module_from_json(j, name);
  const io::StateDictDiff diff = io::diff_entries(spec.entries, io::entry_specs(module.state_dict()));
  SHRINK_CHECK(diff.empty(), "module '", name, "' (", module.type_name(), "): expected the tensors of a ",
               module.type_name(), " built from its options, got ", diff.message(),
               ". Hint: a model file holds plain layers; remove extra buffers (a compressor's masks: unwrap() it)");
  return j;
}

ModuleSpec module_from_json(const json& j, const std::string& name) {
  const std::string where = "module '" + name + "'";
  SHRINK_CHECK(j.is_object(), where, ": expected an object {\"name\", \"type\", \"options\"}, got ", describe(j));
  SHRINK_CHECK(j.contains("type") && j["type"].is_string(), where, ": field \"type\": expected a string, got ",
               j.contains("type") ? describe(j["type"]) : "nothing");
  for (const auto& [key, value] : j.items())
    SHRINK_CHECK(key == "name" || key == "type" || key == "options", where,
                 ": expected only the fields name, type and options, got \"", key, "\"");
  const std::string type = j["type"].get<std::string>();
  const auto it = layers().find(type);
  SHRINK_CHECK(it != layers().end(), where, ": field \"type\": expected one of ", type_list(), ", got ",
               describe(j["type"]), ". Hint: the file was written by a newer Shrink or by hand");
  SHRINK_CHECK(j.contains("options"), where, " (", type, "): field \"options\": expected an object, got nothing");
  const OptionReader reader(j["options"], where + " (" + type + ")", it->second.fields);
  ModuleSpec spec = it->second.load(reader);
  spec.type = type;
  return spec;
}

}  // namespace shrink::speedup
