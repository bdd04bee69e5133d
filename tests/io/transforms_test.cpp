#include "io/data/transforms.h"

#include <gtest/gtest.h>

#include <set>

#include "tests/support/errors.h"
#include "tests/support/fixtures.h"

namespace shrink::data {
namespace {

using testing::error_of;

std::vector<float> floats(const nlohmann::json& j) { return j.get<std::vector<float>>(); }

/// Image b of a batch, as its own [C, H, W] tensor.
Tensor image(const Tensor& batch, std::int64_t b) {
  const std::int64_t n = batch.numel() / batch.size(0);
  Shape s(batch.shape().begin() + 1, batch.shape().end());
  Tensor out = Tensor::empty(s);
  std::copy(batch.data<float>() + b * n, batch.data<float>() + (b + 1) * n, out.data<float>());
  return out;
}

TEST(Normalize, MatchesTorchvisionBitForBit) {
  for (const char* name : {"normalize_rgb", "normalize_gray"}) {
    const auto& c = testing::fixture_case("transforms", name);
    const Tensor x = testing::fixture_tensor(c["inputs"]["x"]);
    const Normalize norm(floats(c["attrs"]["mean"]), floats(c["attrs"]["std"]));
    Generator gen;
    EXPECT_TRUE(testing::tensors_identical(norm(x, gen), testing::fixture_tensor(c["outputs"]["y"]))) << name;
  }
}

TEST(Normalize, OneValueAppliesToEveryChannelAndSingleImagesWork) {
  const auto& c = testing::fixture_case("transforms", "normalize_rgb");
  const Tensor x = testing::fixture_tensor(c["inputs"]["x"]);
  const Tensor all = normalize(x, {0.5f}, {2.0f});
  const Tensor per = normalize(x, {0.5f, 0.5f, 0.5f}, {2.0f, 2.0f, 2.0f});
  EXPECT_TRUE(testing::tensors_identical(all, per));
  EXPECT_TRUE(testing::tensors_identical(normalize(image(x, 1), {0.5f}, {2.0f}), image(all, 1)));
}

TEST(Normalize, ErrorsArePinned) {
  EXPECT_EQ(error_of<ValueError>([] { Normalize({0.1f}, {0.2f, 0.0f}); }),
            "Normalize: expected non-zero std values, got 0 at channel 1 (Hint: a zero std divides by zero)");
  EXPECT_EQ(error_of<ValueError>([] { Normalize({}, {1.0f}); }),
            "Normalize: expected at least one mean and one std value, got 0 and 1");
  EXPECT_EQ(error_of<ValueError>([] { normalize(zeros({2, 3, 4, 4}), {0.1f, 0.2f}, {1.0f}); }),
            "normalize: expected 1 or 3 mean values for 3 channels, got 2");
  EXPECT_EQ(error_of<ShapeError>([] { normalize(zeros({4, 4}), {0.1f}, {1.0f}); }),
            "normalize: expected images [B, C, H, W] or [C, H, W], got [4, 4]");
  EXPECT_EQ(error_of<ValueError>([] { normalize(zeros({1, 4, 4}, DType::UInt8), {0.1f}, {1.0f}); }),
            "normalize: expected float32 images, got uint8");
  EXPECT_EQ(error_of<ValueError>([] { normalize(Tensor(), {0.1f}, {1.0f}); }),
            "normalize: expected images, got an undefined Tensor");
}

TEST(PadCrop, MatchesTorchvisionPadThenCrop) {
  for (const char* name : {"crop_corner", "crop_far", "crop_inner", "crop_wide_pad"}) {
    const auto& c = testing::fixture_case("transforms", name);
    const auto& a = c["attrs"];
    const Tensor y = pad_crop(testing::fixture_tensor(c["inputs"]["x"]), a["padding"], a["top"], a["left"], a["height"],
                              a["width"]);
    EXPECT_TRUE(testing::tensors_identical(y, testing::fixture_tensor(c["outputs"]["y"]))) << name;
  }
}

TEST(PadCrop, ErrorsArePinned) {
  EXPECT_EQ(error_of<IndexError>([] { pad_crop(zeros({1, 5, 6}), 1, 0, 3, 5, 6); }),
            "pad_crop: expected the window [0:5, 3:9] inside the padded image [7, 8]");
  EXPECT_EQ(error_of<ValueError>([] { pad_crop(zeros({1, 5, 6}), -1, 0, 0, 5, 6); }),
            "pad_crop: expected padding >= 0 and a positive size, got padding -1 and size [5, 6]");
}

TEST(HFlip, MatchesTorchvision) {
  const auto& c = testing::fixture_case("transforms", "hflip");
  EXPECT_TRUE(testing::tensors_identical(hflip(testing::fixture_tensor(c["inputs"]["x"])),
                                         testing::fixture_tensor(c["outputs"]["y"])));
}

TEST(RandomCrop, EachImageIsAPaddedWindowAndEveryOffsetOccurs) {
  const auto& c = testing::fixture_case("transforms", "normalize_rgb");
  const Tensor x = testing::fixture_tensor(c["inputs"]["x"]);  // [2, 3, 5, 6]
  const RandomCrop crop(std::array<std::int64_t, 2>{5, 6}, 2);
  Generator gen(7);
  std::set<std::pair<std::int64_t, std::int64_t>> seen;
  for (int round = 0; round < 60; ++round) {
    const Tensor y = crop(x, gen);
    ASSERT_EQ(y.shape(), x.shape());
    for (std::int64_t b = 0; b < 2; ++b) {
      int matches = 0;
      for (std::int64_t top = 0; top <= 4; ++top)
        for (std::int64_t left = 0; left <= 4; ++left)
          if (testing::tensors_identical(image(y, b), pad_crop(image(x, b), 2, top, left, 5, 6))) {
            ++matches;
            seen.insert({top, left});
          }
      EXPECT_EQ(matches, 1) << "round " << round << " image " << b;
    }
  }
  EXPECT_EQ(seen.size(), 25u);  // 120 draws over 25 offsets: all of them appear
}

TEST(RandomCrop, IsReproducibleFromTheSeedAndDrawsPerImage) {
  const Tensor x = rand({8, 1, 28, 28});
  const RandomCrop crop(28, 4);
  Generator g1(3), g2(3), g3(4);
  const Tensor a = crop(x, g1);
  EXPECT_TRUE(testing::tensors_identical(a, crop(x, g2)));
  EXPECT_FALSE(testing::tensors_identical(a, crop(x, g3)));
  int differing = 0;  // images of one batch get different offsets
  for (std::int64_t b = 1; b < 8; ++b) differing += !testing::tensors_identical(image(a, 0), image(a, b));
  EXPECT_GT(differing, 0);
}

TEST(RandomCrop, WithoutFreedomDrawsNothing) {
  const Tensor x = rand({2, 1, 4, 4});
  Generator gen(1), untouched(1);
  EXPECT_TRUE(testing::tensors_identical(RandomCrop(4)(x, gen), x));
  EXPECT_EQ(gen.engine()(), untouched.engine()());
}

TEST(RandomCrop, ErrorsArePinned) {
  Generator gen;
  EXPECT_EQ(error_of<ShapeError>([&] { RandomCrop(40, 4)(zeros({1, 1, 28, 28}), gen); }),
            "RandomCrop: expected a crop size no larger than the padded image [36, 36], got [40, 40]");
  EXPECT_EQ(error_of<ValueError>([] { RandomCrop(0); }), "RandomCrop: expected a positive size, got [0, 0]");
  EXPECT_EQ(error_of<ValueError>([] { RandomCrop(28, -1); }), "RandomCrop: expected padding >= 0, got -1");
  EXPECT_EQ(error_of<ShapeError>([&] { RandomCrop(2)(zeros({4}), gen); }),
            "RandomCrop: expected images [B, C, H, W] or [C, H, W], got [4]");
}

TEST(RandomHorizontalFlip, FlipsEachImageWithProbabilityP) {
  const Tensor x = rand({400, 2, 3, 5});
  Generator gen(5);
  EXPECT_TRUE(testing::tensors_identical(RandomHorizontalFlip(0.0)(x, gen), x));
  EXPECT_TRUE(testing::tensors_identical(RandomHorizontalFlip(1.0)(x, gen), hflip(x)));
  const Tensor y = RandomHorizontalFlip(0.5)(x, gen);
  const Tensor flipped = hflip(x);
  int n_flipped = 0;
  for (std::int64_t b = 0; b < 400; ++b) {
    const bool same = testing::tensors_identical(image(y, b), image(x, b));
    const bool flip = testing::tensors_identical(image(y, b), image(flipped, b));
    EXPECT_NE(same, flip) << b;
    n_flipped += flip;
  }
  EXPECT_GT(n_flipped, 150);  // 400 draws: 200 +- 10 expected; far outside means a broken p
  EXPECT_LT(n_flipped, 250);
  EXPECT_EQ(error_of<ValueError>([] { RandomHorizontalFlip(1.5); }),
            "RandomHorizontalFlip: expected a probability in [0, 1], got 1.5");
}

TEST(Compose, AppliesInOrderFromOneGenerator) {
  const Tensor x = rand({4, 1, 8, 8});
  auto crop = std::make_shared<RandomCrop>(8, 2);
  auto flip = std::make_shared<RandomHorizontalFlip>(0.5);
  auto norm = std::make_shared<Normalize>(std::vector<float>{0.5f}, std::vector<float>{0.25f});
  const Compose pipeline({crop, flip, norm});
  Generator g1(9), g2(9);
  const Tensor expected = (*norm)((*flip)((*crop)(x, g2), g2), g2);
  EXPECT_TRUE(testing::tensors_identical(pipeline(x, g1), expected));
  EXPECT_EQ(pipeline.repr(),
            "Compose(\n    RandomCrop(size=(8, 8), padding=2)\n    RandomHorizontalFlip(p=0.5)\n    "
            "Normalize(mean=[0.5], std=[0.25])\n)");
  EXPECT_EQ(error_of<ValueError>([] { Compose({nullptr}); }),
            "Compose: expected transforms, got a null pointer at position 0");
}

}  // namespace
}  // namespace shrink::data
