// Stacking: a pruned model that speedup shrank is a plain, smaller model, and quantization works
// on it as on any other — the int8 export loads back into the shrunk architecture.
#include <gtest/gtest.h>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "compression/pruning/weight_pruners.h"
#include "compression/quantization/qat_quantizer.h"
#include "io/quantized_file.h"
#include "nn/models/registry.h"
#include "speedup/model_speedup.h"
#include "tests/io/temp_dir.h"
#include "tests/support/fixtures.h"

namespace shrink::speedup {
namespace {

TEST(QuantizeShrunk, QatOnASpedUpResnet20ExportsAnInt8FileForTheSmallerLayers) {
  testing::TempDir dir;
  manual_seed(4);
  nn::ModulePtr model = models::create("resnet20");
  compression::L1NormPruner pruner(model, compression::ConfigList::parse(
      R"([{"op_names_re": ["layer.\\..\\.conv1"], "sparsity": 0.5}])"));
  pruner.compress();
  const io::StateDict masks = pruner.get_masks();
  pruner.unwrap();
  ModelSpeedup(*model, zeros({1, 1, 28, 28}), masks).speedup_model();
  const std::int64_t shrunk = model->find_module("layer1.0.conv1")->param("weight").size(0);
  EXPECT_EQ(shrunk, 8);

  compression::QATQuantizer qat(model, compression::ConfigList::parse(R"([{"op_types": ["Conv2d", "Linear"],
      "quant_types": ["weight", "input"], "quant_scheme": {"weight": "per_channel_symmetric"},
      "quant_dtype": {"weight": "int_full"}}])"));
  qat.compress();
  (*model)(randn({2, 1, 28, 28}));
  qat.export_model(dir.file("m.h5"), dir.file("c.json"), dir.file("m.int8.h5"));
  const io::StateDict int8 = io::load_quantized(dir.file("m.int8.h5"));
  EXPECT_EQ(int8.at("layer1.0.conv1.weight").size(0), 8);
  qat.unwrap();
  nn::ModulePtr again = model->clone();
  again->load_state_dict(int8);  // the shapes are the shrunk ones
  NoGradGuard no_grad;
  EXPECT_TRUE(testing::tensors_identical(again->find_module("layer1.0.conv1")->param("weight"),
                                         int8.at("layer1.0.conv1.weight")));
}

}  // namespace
}  // namespace shrink::speedup
