#include "io/data/dataloader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>

#include "tests/support/errors.h"
#include "tests/support/fixtures.h"

namespace shrink::data {
namespace {

using testing::error_of;

/// n samples; sample i has data [i, i, i] (float) and target i (int64), so batches show indices.
std::shared_ptr<TensorDataset> indexed(std::int64_t n) {
  Tensor data = Tensor::empty({n, 3});
  Tensor targets = Tensor::empty({n}, DType::Int64);
  for (std::int64_t i = 0; i < n; ++i) {
    for (int c = 0; c < 3; ++c) data.data<float>()[i * 3 + c] = static_cast<float>(i);
    targets.data<std::int64_t>()[i] = i;
  }
  return std::make_shared<TensorDataset>(data, targets);
}

std::vector<std::int64_t> targets_of(const Batch& b) {
  return std::vector<std::int64_t>(b.targets.data<std::int64_t>(), b.targets.data<std::int64_t>() + b.targets.numel());
}

/// Every batch's targets, in order, for one pass.
std::vector<std::vector<std::int64_t>> pass(DataLoader& loader) {
  std::vector<std::vector<std::int64_t>> out;
  for (const Batch& b : loader) out.push_back(targets_of(b));
  return out;
}

/// Runs `body` and fails (then exits, since a hung thread cannot be cancelled) if it takes longer
/// than `seconds`.
template <typename F>
void within_seconds(int seconds, F&& body) {
  auto done = std::async(std::launch::async, std::forward<F>(body));
  if (done.wait_for(std::chrono::seconds(seconds)) == std::future_status::timeout) {
    ADD_FAILURE() << "hung for more than " << seconds << " s";
    std::fflush(nullptr);
    std::_Exit(1);
  }
  done.get();
}

TEST(DataLoader, SequentialBatchesKeepIndexOrderAndAPartialLastBatch) {
  for (std::int64_t prefetch : {0, 2}) {
    DataLoader loader(indexed(10), {.batch_size = 4, .prefetch = prefetch});
    EXPECT_EQ(loader.size(), 3);
    const auto batches = pass(loader);
    EXPECT_EQ(batches, (std::vector<std::vector<std::int64_t>>{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}})) << prefetch;
  }
}

TEST(DataLoader, BatchesStackDataAndTargets) {
  DataLoader loader(indexed(5), {.batch_size = 2, .shuffle = true, .seed = 3});
  for (const Batch& b : loader) {
    ASSERT_EQ(b.data.shape(), (Shape{b.targets.size(0), 3}));
    EXPECT_EQ(b.targets.dtype(), DType::Int64);
    for (std::int64_t r = 0; r < b.targets.size(0); ++r)
      EXPECT_EQ(b.data.at({r, 2}), static_cast<double>(b.targets.data<std::int64_t>()[r]));
  }
}

TEST(DataLoader, DropLastSkipsTheShortBatch) {
  DataLoader loader(indexed(10), {.batch_size = 4, .shuffle = true, .drop_last = true});
  EXPECT_EQ(loader.size(), 2);
  const auto batches = pass(loader);
  ASSERT_EQ(batches.size(), 2u);
  for (const auto& b : batches) EXPECT_EQ(b.size(), 4u);
  DataLoader exact(indexed(8), {.batch_size = 4, .drop_last = true});
  EXPECT_EQ(pass(exact).size(), 2u);
  DataLoader too_big(indexed(3), {.batch_size = 4, .drop_last = true});
  EXPECT_EQ(too_big.size(), 0);
  EXPECT_TRUE(pass(too_big).empty());
}

TEST(DataLoader, ShuffleVisitsEverySampleOncePerEpochInANewOrder) {
  DataLoader loader(indexed(103), {.batch_size = 10, .shuffle = true, .seed = 42});
  std::vector<std::int64_t> previous;
  for (int epoch = 0; epoch < 3; ++epoch) {
    std::vector<std::int64_t> seen;
    for (const auto& b : pass(loader)) seen.insert(seen.end(), b.begin(), b.end());
    ASSERT_EQ(seen.size(), 103u);
    EXPECT_NE(seen, previous) << epoch;
    std::vector<std::int64_t> sorted = seen;
    std::sort(sorted.begin(), sorted.end());
    for (std::int64_t i = 0; i < 103; ++i) EXPECT_EQ(sorted[i], i);
    std::vector<std::int64_t> identity(sorted);
    EXPECT_NE(seen, identity);
    previous = seen;
  }
  EXPECT_EQ(loader.epoch(), 3);
}

TEST(DataLoader, ShuffleIsReproducibleFromTheSeedAndTheEpoch) {
  DataLoader a(indexed(50), {.batch_size = 8, .shuffle = true, .seed = 7});
  DataLoader b(indexed(50), {.batch_size = 8, .shuffle = true, .seed = 7, .prefetch = 0});
  DataLoader c(indexed(50), {.batch_size = 8, .shuffle = true, .seed = 8});
  const auto a0 = pass(a), a1 = pass(a), a2 = pass(a);
  EXPECT_EQ(pass(b), a0);
  EXPECT_EQ(pass(b), a1);
  EXPECT_NE(pass(c), a0);
  DataLoader resumed(indexed(50), {.batch_size = 8, .shuffle = true, .seed = 7});
  resumed.set_epoch(2);
  EXPECT_EQ(resumed.epoch(), 2);
  EXPECT_EQ(pass(resumed), a2);
  a.set_epoch(1);
  EXPECT_EQ(pass(a), a1);
  // order() is the concatenation of a pass's batches.
  std::vector<std::int64_t> flat;
  for (const auto& batch : a1) flat.insert(flat.end(), batch.begin(), batch.end());
  EXPECT_EQ(a.order(1), flat);
}

TEST(DataLoader, PrefetchOnAndOffGiveIdenticalTransformedBatches) {
  Generator gen(2);
  auto ds = std::make_shared<TensorDataset>(rand({37, 1, 8, 8}, &gen), randint(0, 10, {37}, &gen));
  auto transform = std::make_shared<Compose>(std::vector<std::shared_ptr<const Transform>>{
      std::make_shared<RandomCrop>(8, 2), std::make_shared<RandomHorizontalFlip>(),
      std::make_shared<Normalize>(std::vector<float>{0.5f}, std::vector<float>{0.5f})});
  for (std::int64_t prefetch : {1, 3}) {
    DataLoader off(ds, {.batch_size = 5, .shuffle = true, .seed = 11, .prefetch = 0, .transform = transform});
    DataLoader on(ds, {.batch_size = 5, .shuffle = true, .seed = 11, .prefetch = prefetch, .transform = transform});
    for (int epoch = 0; epoch < 2; ++epoch) {
      std::vector<Batch> expected;
      for (const Batch& b : off) expected.push_back(b);
      std::size_t k = 0;
      for (const Batch& b : on) {
        ASSERT_LT(k, expected.size());
        EXPECT_TRUE(testing::tensors_identical(b.data, expected[k].data)) << "batch " << k;
        EXPECT_EQ(targets_of(b), targets_of(expected[k]));
        ++k;
      }
      EXPECT_EQ(k, expected.size());
    }
  }
  // The transform really ran: the data differs from the raw samples.
  DataLoader plain(ds, {.batch_size = 37});
  DataLoader augmented(ds, {.batch_size = 37, .transform = transform});
  EXPECT_FALSE(testing::tensors_identical((*plain.begin()).data, (*augmented.begin()).data));
  EXPECT_TRUE(testing::tensors_identical((*plain.begin()).data, ds->data()));
}

TEST(DataLoader, TransformDrawsDifferPerEpoch) {
  Generator gen(4);
  auto ds = std::make_shared<TensorDataset>(rand({6, 1, 6, 6}, &gen), zeros({6}, DType::Int64));
  DataLoader loader(ds, {.batch_size = 6, .transform = std::make_shared<RandomCrop>(6, 3)});
  const Tensor first = (*loader.begin()).data;
  const Tensor second = (*loader.begin()).data;
  EXPECT_FALSE(testing::tensors_identical(first, second));
}

TEST(DataLoader, BreakingEarlyOrDestroyingTheLoaderDoesNotHang) {
  within_seconds(20, [] {
    auto ds = indexed(2000);
    for (int rep = 0; rep < 50; ++rep) {
      DataLoader loader(ds, {.batch_size = 3, .shuffle = true, .prefetch = 2});
      int n = 0;
      for (const Batch& b : loader) {
        EXPECT_EQ(b.targets.size(0), 3);
        if (++n == 2) break;  // the producer is blocked on the full queue here
      }
      DataLoader::Iterator it;
      {
        DataLoader scoped(ds, {.batch_size = 1, .prefetch = 4});
        it = scoped.begin();  // the pass outlives its loader
      }
      ++it;
      EXPECT_EQ(it->targets.data<std::int64_t>()[0], 1);
    }
  });
}

/// Samples 0..n-1 as in indexed(), except that get(bad) throws.
class Failing : public Dataset {
 public:
  explicit Failing(std::int64_t bad) : bad_(bad) {}
  std::int64_t size() const override { return 20; }
  Example get(std::int64_t i) const override {
    SHRINK_CHECK(i != bad_, "Failing: sample ", i, " is unreadable");
    return {full({2}, static_cast<double>(i)), scalar_tensor(static_cast<double>(i), DType::Int64)};
  }

 private:
  std::int64_t bad_;
};

TEST(DataLoader, ExceptionsFromTheBackgroundThreadAreRethrownToTheConsumer) {
  for (std::int64_t prefetch : {0, 1, 3}) {
    within_seconds(20, [prefetch] {
      DataLoader loader(std::make_shared<Failing>(9), {.batch_size = 4, .prefetch = prefetch});
      std::vector<std::vector<std::int64_t>> got;
      const std::string msg = error_of<ValueError>([&] {
        for (const Batch& b : loader) got.push_back(targets_of(b));
      });
      EXPECT_EQ(msg, "Failing: sample 9 is unreadable") << prefetch;
      EXPECT_EQ(got, (std::vector<std::vector<std::int64_t>>{{0, 1, 2, 3}, {4, 5, 6, 7}})) << prefetch;
      // The loader stays usable: the next pass fails at the same place again.
      EXPECT_EQ(error_of<ValueError>([&] { pass(loader); }), "Failing: sample 9 is unreadable");
    });
  }
  DataLoader first_batch(std::make_shared<Failing>(0), {.batch_size = 4});
  EXPECT_EQ(error_of<ValueError>([&] { first_batch.begin(); }), "Failing: sample 0 is unreadable");
}

TEST(DataLoader, EmptyDatasetsGiveNoBatches) {
  auto empty = std::make_shared<TensorDataset>(zeros({0, 3}), zeros({0}, DType::Int64));
  DataLoader loader(empty, {.batch_size = 4, .shuffle = true});
  EXPECT_EQ(loader.size(), 0);
  EXPECT_TRUE(loader.begin() == loader.end());
}

TEST(DataLoader, OptionErrorsArePinned) {
  EXPECT_EQ(error_of<ValueError>([] { DataLoader(nullptr); }), "DataLoader: expected a dataset, got a null pointer");
  EXPECT_EQ(error_of<ValueError>([] { DataLoader(indexed(2), {.batch_size = 0}); }),
            "DataLoader: expected batch_size >= 1, got 0");
  EXPECT_EQ(error_of<ValueError>([] { DataLoader(indexed(2), {.prefetch = -1}); }),
            "DataLoader: expected prefetch >= 0, got -1");
}

}  // namespace
}  // namespace shrink::data
