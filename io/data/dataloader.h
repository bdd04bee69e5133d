#pragma once
/// \file
/// DataLoader: iterates a Dataset in batches, optionally shuffled (reproducibly from a seed and
/// differently every epoch), optionally transformed, optionally prepared ahead by a background
/// thread.
///
/// \code
///   auto train = std::make_shared<data::FashionMNIST>();
///   data::DataLoader loader(train, {.batch_size = 128, .shuffle = true, .seed = 1});
///   for (int epoch = 0; epoch < 10; ++epoch) {
///     loader.set_epoch(epoch);                    // optional: passes also advance it themselves
///     for (const data::Batch& batch : loader) {   // batch.data [128, 1, 28, 28], batch.targets [128]
///       ...
///     }
///   }
/// \endcode
///
/// Determinism: the sample order of a pass depends only on (seed, epoch), and the random draws of
/// the transform for batch k only on (seed, epoch, k), so prefetching on or off, and the thread
/// timing, never change a batch.

#include <cstdint>
#include <iterator>
#include <memory>
#include <vector>

#include "io/data/dataset.h"
#include "io/data/transforms.h"

namespace shrink::data {

struct DataLoaderOptions {
  /// Samples per batch (the last batch of a pass may be smaller unless drop_last).
  std::int64_t batch_size = 1;
  /// Visit the samples in a random order drawn from (seed, epoch); in index order otherwise.
  bool shuffle = false;
  /// Seed of the shuffles and of the transform's random draws.
  std::uint64_t seed = 0;
  /// Skip the last batch of a pass when it is smaller than batch_size.
  bool drop_last = false;
  /// Batches prepared ahead by a background thread and kept in a bounded queue; 0 builds each
  /// batch on the consuming thread when it is needed.
  std::int64_t prefetch = 2;
  /// Applied to each batch's data (e.g. Compose{RandomCrop, RandomHorizontalFlip, Normalize}).
  std::shared_ptr<const Transform> transform;
};

class DataLoader {
  struct Pass;

 public:
  /// ValueError on a null dataset, batch_size < 1 or prefetch < 0.
  explicit DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options = {});

  /// Batches per pass.
  std::int64_t size() const;
  const Dataset& dataset() const { return *dataset_; }
  const DataLoaderOptions& options() const { return options_; }

  /// The epoch the next pass uses. Each begin() uses it and then advances it by one, so plain
  /// repeated loops see a new order every time; set_epoch() makes a pass reproducible on its own
  /// (e.g. when resuming training from a checkpoint at epoch e).
  void set_epoch(std::int64_t epoch) { epoch_ = epoch; }
  std::int64_t epoch() const { return epoch_; }
  /// The sample order of a pass at `epoch` (all samples, before drop_last).
  std::vector<std::int64_t> order(std::int64_t epoch) const;

  /// An input iterator over the batches of one pass. It owns the pass: destroying it (leaving
  /// the loop, even early or by an exception) stops and joins the prefetch thread. An exception
  /// thrown while building a batch in the background is re-thrown here, by the increment (or
  /// begin()) that would have produced that batch.
  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    using pointer = const Batch*;
    using reference = const Batch&;

    Iterator() = default;
    const Batch& operator*() const { return current_; }
    const Batch* operator->() const { return &current_; }
    Iterator& operator++();
    /// Iterators compare equal only when both are past the end.
    bool operator==(const Iterator& other) const { return pass_ == nullptr && other.pass_ == nullptr; }

   private:
    friend class DataLoader;
    explicit Iterator(std::shared_ptr<Pass> pass);
    std::shared_ptr<Pass> pass_;
    Batch current_;
  };

  /// Starts a pass at epoch() (and advances epoch()).
  Iterator begin();
  Iterator end() { return Iterator(); }

 private:
  std::shared_ptr<const Dataset> dataset_;
  DataLoaderOptions options_;
  std::int64_t epoch_ = 0;
};

}  // namespace shrink::data
