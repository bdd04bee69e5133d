// shrink inspect, HDF5 files: state_dict, masks, checkpoint, model and int8 quantized files.
#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "autograd/error.h"
#include "cli/format.h"
#include "cli/inspect.h"
#include "compression/analysis/counting.h"
#include "compression/analysis/report.h"
#include "io/checkpoint.h"
#include "io/file_format.h"
#include "io/hdf5_file.h"
#include "io/quantized_file.h"
#include "io/state_dict_file.h"
#include "io/text_table.h"
#include "speedup/model_file.h"

namespace shrink::cli {
namespace {

using io::Align;

/// Elements of `t` equal to zero (any dtype).
std::int64_t count_zeros(const Tensor& t) {
  std::int64_t zeros = 0;
  const std::int64_t n = t.numel();
  auto count = [&](const auto* p) {
    for (std::int64_t i = 0; i < n; ++i) zeros += p[i] == 0;
  };
  switch (t.dtype()) {
    case DType::Float32: count(t.data<float>()); break;
    case DType::Int64: count(t.data<std::int64_t>()); break;
    case DType::Int8: count(t.data<std::int8_t>()); break;
    case DType::UInt8: count(t.data<std::uint8_t>()); break;
  }
  return zeros;
}

/// Element `i` of a float32 or int64 tensor as a double.
double value_at(const Tensor& t, std::int64_t i) {
  return t.dtype() == DType::Int64 ? static_cast<double>(t.data<std::int64_t>()[i]) : t.data<float>()[i];
}

/// "0.0123" for one value, "0.001..0.02" for the range of several.
std::string value_or_range(const Tensor& t) {
  double lo = value_at(t, 0), hi = lo;
  for (std::int64_t i = 1; i < t.numel(); ++i) {
    lo = std::min(lo, value_at(t, i));
    hi = std::max(hi, value_at(t, i));
  }
  return lo == hi ? format("%.4g", lo) : format("%.4g..%.4g", lo, hi);
}

std::int64_t tensor_bytes(const Tensor& t) {
  return t.numel() * static_cast<std::int64_t>(element_size(t.dtype()));
}

/// One row per tensor: key, dtype, shape, elements, zeros; then the totals.
std::string state_table(const io::StateDict& state) {
  std::vector<std::vector<std::string>> rows = {{"tensor", "dtype", "shape", "elements", "zeros"}};
  std::int64_t elements = 0, zeros = 0;
  for (const auto& [key, t] : state) {
    const std::int64_t z = count_zeros(t);
    rows.push_back({key, std::string(dtype_name(t.dtype())), shape_str(t.shape()), io::grouped(t.numel()),
                    t.numel() ? percent(static_cast<double>(z) / static_cast<double>(t.numel())) : "-"});
    elements += t.numel();
    zeros += z;
  }
  rows.push_back({"total", "", "", io::grouped(elements),
                  elements ? percent(static_cast<double>(zeros) / static_cast<double>(elements)) : "-"});
  return io::text_table(rows, {Align::Left, Align::Left, Align::Left, Align::Right, Align::Right});
}

/// "<path>: <kind> file (format <format> version <v>, producer <p>, <size>)".
std::string header(const std::string& path, const std::string& kind, const io::H5File& file) {
  const auto producer = file.string_attr("", "producer");
  const auto version = file.int_attr("", "format_version");
  return format("%s: %s file (format %s version %lld, producer %s, %s)\n", path.c_str(), kind.c_str(),
                file.string_attr("", "format").value_or("").c_str(), static_cast<long long>(version.value_or(0)),
                producer.value_or("unknown").c_str(),
                io::human_bytes(static_cast<std::int64_t>(std::filesystem::file_size(path))).c_str());
}

std::string inspect_state_dict(const std::string& path, const io::H5File& file, bool formatted) {
  const io::StateDict state = io::load_state_dict(path);
  const std::string head = formatted ? header(path, "state_dict", file)
                                     : path + ": state_dict file without a format attribute (as h5py writes one)\n";
  return head + state_table(state);
}

std::string inspect_masks(const std::string& path, const io::H5File& file) {
  const io::StateDict masks = io::load_masks(path);
  std::vector<std::vector<std::string>> rows = {{"mask", "shape", "kept", "elements", "sparsity"}};
  std::int64_t kept_total = 0, total = 0;
  for (const auto& [key, m] : masks) {
    const std::int64_t kept = m.numel() - count_zeros(m);
    rows.push_back({key, shape_str(m.shape()), io::grouped(kept), io::grouped(m.numel()),
                    m.numel() ? percent(1.0 - static_cast<double>(kept) / static_cast<double>(m.numel())) : "-"});
    kept_total += kept;
    total += m.numel();
  }
  rows.push_back({"total", "", io::grouped(kept_total), io::grouped(total),
                  total ? percent(1.0 - static_cast<double>(kept_total) / static_cast<double>(total)) : "-"});
  return header(path, "masks", file) +
         io::text_table(rows, {Align::Left, Align::Left, Align::Right, Align::Right, Align::Right});
}

std::string inspect_checkpoint(const std::string& path, const io::H5File& file) {
  const io::Checkpoint ckpt = io::load_checkpoint(path);
  std::string rng;
  for (const auto& [name, state] : ckpt.rng) rng += (rng.empty() ? "" : ", ") + name;
  std::string out = header(path, "checkpoint", file);
  out += format("epoch %lld; optimizer: %s; scheduler: %s; random generators: %s\n",
                static_cast<long long>(ckpt.epoch),
                ckpt.optimizer_groups
                    ? format("%zu group(s), %zu tensors", ckpt.optimizer_groups->size(), ckpt.optimizer.size()).c_str()
                    : "none",
                ckpt.scheduler_last_epoch ? format("last_epoch %lld", static_cast<long long>(*ckpt.scheduler_last_epoch)).c_str()
                                          : "none",
                rng.empty() ? "none" : rng.c_str());
  out += format("compressor: %s, %zu tensors; extra: %s\n", ckpt.compressor.is_null() ? "none" : "present",
                ckpt.compressor_tensors.size(), ckpt.extra.is_null() ? "none" : ckpt.extra.dump().substr(0, 200).c_str());
  return out + "model state:\n" + state_table(ckpt.model);
}

std::string inspect_model(const std::string& path, const io::H5File& file) {
  const auto model = io::load_model(path);
  const speedup::Graph& graph = model->graph();
  Shape input = graph.nodes.at(0).shape;
  if (!input.empty()) input[0] = 1;
  std::size_t calls = 0;
  for (const auto& node : graph.nodes) calls += node.kind == speedup::NodeKind::Module;
  std::string out = header(path, "model", file);
  out += format("graph: %zu nodes (%zu module calls, %zu functional ops); input %s per sample\n", graph.nodes.size(),
                calls, graph.nodes.size() - 1 - calls, shape_str(Shape(input.begin() + 1, input.end())).c_str());
  return out + compression::report_table(compression::count_layers(*model, input));
}

std::string inspect_quantized(const std::string& path, const io::H5File& file) {
  const io::QuantizedFile q = io::load_quantized_file(path);
  std::vector<std::vector<std::string>> rows = {
      {"tensor", "dtype", "shape", "bits", "grid", "granularity", "scale", "zero point", "bytes"}};
  std::int64_t stored = 0, as_float = 0;
  for (const auto& t : q.quantized) {
    const std::int64_t b = tensor_bytes(t.data) + tensor_bytes(t.scale) + tensor_bytes(t.zero_point);
    rows.push_back({t.name, std::string(dtype_name(t.data.dtype())), shape_str(t.data.shape()), std::to_string(t.bits),
                    format("[%lld, %lld]", static_cast<long long>(t.qmin), static_cast<long long>(t.qmax)),
                    t.per_channel() ? format("per channel (axis %lld)", static_cast<long long>(t.axis)) : "per tensor",
                    value_or_range(t.scale), value_or_range(t.zero_point), io::grouped(b)});
    stored += b;
    as_float += t.data.numel() * 4;
  }
  std::int64_t rest = 0;
  for (const auto& [key, t] : q.unquantized) rest += tensor_bytes(t);
  std::string out = header(path, "int8 quantized", file);
  out += io::text_table(rows, {Align::Left, Align::Left, Align::Left, Align::Right, Align::Left, Align::Left,
                               Align::Right, Align::Right, Align::Right});
  out += format("%zu quantized tensors: %s (%s in float32); %zu other tensors in their own dtype: %s\n",
                q.quantized.size(), io::human_bytes(stored).c_str(), io::human_bytes(as_float).c_str(),
                q.unquantized.size(), io::human_bytes(rest).c_str());
  return out;
}

}  // namespace

std::string inspect_hdf5(const std::string& path) {
  const io::H5File file = io::H5File::open_read(path, "HDF5 header");
  const std::optional<std::string> format_attr = file.string_attr("", "format");
  if (!format_attr || *format_attr == io::kStateDictFormat) return inspect_state_dict(path, file, format_attr.has_value());
  if (*format_attr == io::kMasksFormat) return inspect_masks(path, file);
  if (*format_attr == io::kCheckpointFormat) return inspect_checkpoint(path, file);
  if (*format_attr == io::kModelFormat) return inspect_model(path, file);
  if (*format_attr == io::kQuantizedFormat) return inspect_quantized(path, file);
  throw IOError("'" + path + "': expected a Shrink HDF5 file (format " + io::kStateDictFormat + ", " +
                io::kMasksFormat + ", " + io::kCheckpointFormat + ", " + io::kModelFormat + " or " +
                io::kQuantizedFormat + "), got format '" + *format_attr + "'");
}

}  // namespace shrink::cli
