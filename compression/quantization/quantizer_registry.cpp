// make_quantizer: a table of names, option keys and constructors.
#include "compression/quantization/quantizer_registry.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "autograd/error.h"
#include "compression/quantization/bnn_quantizer.h"
#include "compression/quantization/dorefa_quantizer.h"
#include "compression/quantization/lsq_quantizer.h"
#include "compression/quantization/naive_quantizer.h"
#include "compression/quantization/ptq_quantizer.h"
#include "compression/quantization/qat_quantizer.h"
#include "compression/registry_options.h"

namespace shrink::compression {
namespace {

using nlohmann::json;

/// QATOptions::fold_bn from the option: false or absent = none; a list of [conv, bn] name pairs.
std::vector<std::pair<std::string, std::string>> fold_pairs(const json& options, const std::string& call) {
  if (!options.is_object() || !options.contains("fold_bn")) return {};
  const json& v = options.at("fold_bn");
  const std::string where = call + ": option 'fold_bn'";
  if (v.is_boolean()) {
    if (!v.get<bool>()) return {};
    throw ValueError(where + ": expected a list of [conv, bn] name pairs or false, got true (hint: "
                     "speedup::conv_bn_pairs(model, example) finds the pairs; a pipeline file's \"fold_bn\": true "
                     "is resolved that way)");
  }
  SHRINK_CHECK(v.is_array(), where, ": expected a list of [conv, bn] name pairs or false, got ", v.dump());
  std::vector<std::pair<std::string, std::string>> pairs;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const json& p = v[i];
    SHRINK_CHECK(p.is_array() && p.size() == 2 && p[0].is_string() && p[1].is_string(), where, "[", i,
                 "]: expected a [conv, bn] pair of module names, got ", p.dump());
    pairs.emplace_back(p[0].get<std::string>(), p[1].get<std::string>());
  }
  return pairs;
}

struct Entry {
  std::string name;
  /// The option keys, as the fields of the quantizer's option struct.
  std::vector<std::string> options;
  std::function<std::unique_ptr<Quantizer>(nn::ModulePtr, ConfigList, const json&, const std::string&)> make;
};

/// The constructor of a quantizer without options.
template <typename Q>
std::unique_ptr<Quantizer> plain(nn::ModulePtr model, ConfigList config, const json&, const std::string&) {
  return std::make_unique<Q>(std::move(model), std::move(config));
}

const std::vector<Entry>& table() {
  static const std::vector<Entry> entries = {
      {"qat",
       {"fold_bn"},
       [](nn::ModulePtr m, ConfigList c, const json& o, const std::string& call) -> std::unique_ptr<Quantizer> {
         return std::make_unique<QATQuantizer>(std::move(m), std::move(c), QATOptions{.fold_bn = fold_pairs(o, call)});
       }},
      {"ptq", {}, plain<PTQQuantizer>},
      {"naive", {}, plain<NaiveQuantizer>},
      {"dorefa", {}, plain<DoReFaQuantizer>},
      {"bnn", {}, plain<BNNQuantizer>},
      {"lsq",
       {"learn_zero_point"},
       [](nn::ModulePtr m, ConfigList c, const json& o, const std::string& call) -> std::unique_ptr<Quantizer> {
         bool learn = false;
         if (o.is_object() && o.contains("learn_zero_point")) {
           SHRINK_CHECK(o.at("learn_zero_point").is_boolean(), call,
                        ": option 'learn_zero_point': expected true or false, got ", o.at("learn_zero_point").dump());
           learn = o.at("learn_zero_point").get<bool>();
         }
         return std::make_unique<LSQQuantizer>(std::move(m), std::move(c), LSQOptions{.learn_zero_point = learn});
       }},
  };
  return entries;
}

const Entry& entry(const std::string& name) {
  return detail::find_entry(table(), name, "make_quantizer", "quantizer name");
}

}  // namespace

std::vector<std::string> quantizer_names() {
  std::vector<std::string> names;
  for (const auto& e : table()) names.push_back(e.name);
  return names;
}

std::vector<std::string> quantizer_options(const std::string& name) { return entry(name).options; }

std::unique_ptr<Quantizer> make_quantizer(const std::string& name, nn::ModulePtr model, ConfigList config,
                                          const nlohmann::json& options) {
  const Entry& e = entry(name);
  const std::string call = "make_quantizer(" + name + ")";
  detail::check_option_keys(options, e.options, call, name);
  return e.make(std::move(model), std::move(config), options, call);
}

}  // namespace shrink::compression
