#pragma once
/// \file
/// Quantizer: the compressor API every quantization algorithm shares (NNI 2.x style).
///
/// \code
///   compression::QATQuantizer quantizer(model, compression::ConfigList::parse(R"([{
///       "op_types": ["Conv2d", "Linear"], "quant_types": ["weight", "input", "output"],
///       "quant_bits": 8, "quant_scheme": {"weight": "per_channel_symmetric"},
///       "quant_dtype": {"weight": "int_full"}}])"));
///   quantizer.compress();                  // fake quantization inside the forward graph
///   for (...) { loss.backward(); opt.step(); quantizer.step(); }
///   quantizer.export_model("model.h5", "calibration.json");
/// \endcode
///
/// compress() attaches to each selected layer: a parametrization of its weight (kind "quant",
/// after any pruning mask, so a pruned model stays pruned), a forward pre-hook for its input
/// and a forward hook for its output, as `quant_types` asks. Parameter names and objects stay the
/// same, so an optimizer built before keeps working. What each one computes is the algorithm's
/// (quantize_weight / quantize_activation); the base keeps the settings, the step count, the
/// qparams last used and the calibration export.
///
/// Settings per layer (config_list, DESIGN §5): `quant_types` (required), `quant_bits`
/// (default 8), `quant_scheme` (default per_tensor_affine), `quant_dtype` (default uint),
/// `observer`, `quant_start_step` (default 0). Per-channel quantization runs along axis 0 for
/// weights and axis 1 for activations.
///
/// The quantizer holds the state its hooks use: it must outlive the training that uses it, and
/// destroying it (or unwrap()) removes fake quantization from the model. Clone the model after
/// unwrap(): a clone made while a quantizer is attached copies its weight parametrizations,
/// which still refer to that quantizer.

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "autograd/hook_handle.h"
#include "compression/config_list.h"
#include "compression/quantization/observers.h"
#include "compression/quantization/qparams.h"
#include "io/state_dict.h"
#include "nn/module.h"

namespace shrink::compression {

/// Which tensor of a layer is quantized; the index into QuantizedLayer's arrays.
enum class QuantType { Weight = 0, Input = 1, Output = 2 };
/// "weight", "input", "output".
const char* quant_type_name(QuantType type);

/// The settings of one quantized tensor of one layer.
struct QuantSpec {
  bool enabled = false;
  int bits = 8;
  QuantScheme scheme = QuantScheme::Affine;
  bool per_channel = false;
  QuantRange range = QuantRange::of(8, false);
  /// "int", "uint" or "int_full" as configured.
  std::string dtype = "uint";
  /// The observer name from the config_list, or "" for the algorithm's default.
  std::string observer;
  /// "per_tensor_affine", ... as configured.
  std::string scheme_name() const;
};

/// One layer a quantizer works on, with its settings and the state its hooks keep.
struct QuantizedLayer {
  std::string name;
  std::string type;
  nn::ModulePtr module;
  std::array<QuantSpec, 3> spec;
  std::int64_t quant_start_step = 0;
  /// Per quant type: the observer (null if the algorithm uses none) and the qparams last used
  /// (set once the tensor was quantized or calibrated).
  std::array<std::unique_ptr<Observer>, 3> observers;
  std::array<std::optional<QParams>, 3> qparams;
  /// Set by load_calibration_config() (and PTQ's calibration): the qparams are fixed.
  bool frozen = false;

  const QuantSpec& operator[](QuantType t) const { return spec[static_cast<std::size_t>(t)]; }
};

class Quantizer {
 public:
  virtual ~Quantizer();
  Quantizer(const Quantizer&) = delete;
  Quantizer& operator=(const Quantizer&) = delete;

  const std::string& name() const { return name_; }
  nn::Module& model() const { return *model_; }
  const std::vector<std::unique_ptr<QuantizedLayer>>& layers() const { return layers_; }
  bool is_compressed() const { return compressed_; }
  /// Optimizer steps seen by step().
  std::int64_t steps() const { return steps_; }

  /// Selects the layers (ValueError for a bad config_list; the model is unchanged then) and
  /// attaches the fake quantization. A second call is a StateError.
  void compress();
  /// Called once per epoch by the training loop.
  virtual void update_epoch(std::int64_t epoch);
  /// Called after every optimizer.step(): counts steps (quant_start_step compares with them).
  virtual void step();
  /// Removes the hooks and parametrizations; the weights keep their float values.
  void unwrap();

  /// NNI's calibration config: per layer `weight_bits`, `weight_scale`, `weight_zero_point`,
  /// `input_bits`, `tracked_min_input`, `tracked_max_input`, `output_bits`,
  /// `tracked_min_output`, `tracked_max_output`, plus `quant_scheme` and `quant_dtype` per type
  /// and the exact activation qparams (`input_scale`, `input_zero_point`, ...) so that loading
  /// reproduces the outputs even for observers whose qparams are not a min/max formula.
  /// Types whose uses_qparams() is false (DoReFa, BNN: no scale or zero point describes their
  /// values) get `<type>_bits` only. Virtual so that an algorithm can add what NNI writes for it.
  virtual nlohmann::json calibration_config() const;
  /// Freezes every quantized tensor at the qparams of `config` (as calibration_config() writes
  /// it). Bits, schemes and dtypes must match the layer's settings and every layer must be
  /// present: ValueError naming the layer and key otherwise. Types whose uses_qparams() is false
  /// only check `<type>_bits`.
  void load_calibration_config(const nlohmann::json& config);
  /// load_calibration_config() from a JSON file; errors name the file.
  void load_calibration_config(const std::string& path);
  /// Writes the model's state_dict with every quantized weight replaced by its fake-quantized
  /// value (a plain model loading it computes with the quantized weights) to `model_path`, and
  /// calibration_config() to `calibration_path`; with `quantized_path`, also the int8 export
  /// (io/quantized_file.h: each quantized weight of ≤ 8 bits as int8 — uint8 for quant_dtype
  /// uint — with its scale and zero point, everything else in float32). Every file is written
  /// atomically; io::load_quantized(quantized_path) gives back exactly the fake-quantized weights.
  /// Weights whose uses_qparams() is false stay float32 in that file.
  void export_model(const std::string& model_path, const std::string& calibration_path,
                    const std::string& quantized_path = "") const;

  /// Compressor state for checkpoints: step count, qparams, observer statistics. Virtual so that
  /// an algorithm can add state of its own (keys `quantizer:...`).
  virtual io::StateDict state_dict() const;
  /// Restores state_dict() on a quantizer compressed on the same model. Virtual so that an
  /// algorithm with state of its own (LSQ's learned scales) can take it back.
  virtual void load_state_dict(const io::StateDict& state);

 protected:
  /// `quant_types`: the types the algorithm quantizes; `setting_keys`: the config_list keys it
  /// accepts besides the selectors (another key is the usual "unknown key" ValueError).
  Quantizer(std::string name, nn::ModulePtr model, ConfigList config, std::vector<std::string> quant_types,
            std::vector<std::string> setting_keys = {"quant_types", "quant_bits", "quant_scheme", "quant_dtype",
                                                     "quant_start_step", "observer"});

  /// The settings a quantized tensor of `type` starts from before the config_list's own
  /// (default: 8 bits, per_tensor_affine, uint).
  virtual QuantSpec default_spec(QuantType type) const;
  /// After compress() attached the hooks (an algorithm adds its own here).
  virtual void on_compress() {}
  /// The weight a plain model computes with after export_model (default: the layer's effective,
  /// fake-quantized weight) and the qparams that describe it (default: the ones last used).
  /// QAT's Conv-BN folding exports the unfolded weight and its scales here.
  virtual Tensor exported_weight(const QuantizedLayer& layer) const;
  virtual QParams exported_weight_qparams(const QuantizedLayer& layer) const;
  /// Whether the values of `type` lie on a scale / zero point grid that qparams describe (the
  /// default). When not, the layer keeps no qparams for it, the calibration config has only its
  /// bits and the int8 export leaves the weight in float32.
  virtual bool uses_qparams(QuantType type) const { return true; }

  /// The algorithm: the value the layer computes with in place of its weight / input / output.
  virtual Tensor quantize_weight(QuantizedLayer& layer, const Tensor& weight) = 0;
  virtual Tensor quantize_activation(QuantizedLayer& layer, QuantType type, const Tensor& x) = 0;
  /// The observer for `type` of `layer` (null for none); the default makes the configured one,
  /// else min_max.
  virtual std::unique_ptr<Observer> make_observer(const QuantizedLayer& layer, QuantType type) const;
  /// Checks a layer's settings against what the algorithm supports (ValueError naming it).
  virtual void check_layer(const QuantizedLayer& layer) const {}

  /// fake_quantize(x, q) and remember q as the layer's qparams for `type`.
  static Tensor quantize_with(QuantizedLayer& layer, QuantType type, const Tensor& x, const QParams& q);
  /// The observer options of `type` of `layer` (grid, scheme, channel axis).
  static ObserverOptions observer_options(const QuantizedLayer& layer, QuantType type);
  void require_compressed(const std::string& what) const;
  /// Keeps a hook or parametrization an algorithm attached, so that unwrap() and the destructor
  /// remove it with the others.
  void keep_handle(HookHandle handle) { handles_.push_back(std::move(handle)); }

 private:
  void attach(QuantizedLayer& layer);

  std::string name_;
  nn::ModulePtr model_;
  ConfigList config_;
  ConfigRules rules_;
  std::vector<std::unique_ptr<QuantizedLayer>> layers_;
  std::vector<HookHandle> handles_;
  std::int64_t steps_ = 0;
  bool compressed_ = false;
};

}  // namespace shrink::compression
