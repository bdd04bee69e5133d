#include "io/data/dataloader.h"

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <numeric>
#include <optional>
#include <thread>

#include "autograd/grad_mode.h"
#include "io/data/sampling.h"

namespace shrink::data {

/// One pass over the data: its order, and either a background producer or on-demand batches.
struct DataLoader::Pass {
  std::shared_ptr<const Dataset> dataset;
  DataLoaderOptions options;
  std::uint64_t epoch_seed = 0;
  std::vector<std::int64_t> order;
  std::int64_t batches = 0;
  std::int64_t consumed = 0;  // batches handed to the consumer

  // Prefetching: the worker fills `queue` (at most options.prefetch items) until `stop`.
  struct Item {
    Batch batch;
    std::exception_ptr error;
  };
  std::mutex mu;
  std::condition_variable space, ready;
  std::deque<Item> queue;
  bool stop = false;
  std::thread worker;

  ~Pass() {
    if (worker.joinable()) {
      {
        std::lock_guard<std::mutex> lock(mu);
        stop = true;
      }
      space.notify_all();
      worker.join();
    }
  }

  /// Batch k of the pass: gathered by the dataset, then transformed with its own generator.
  Batch build(std::int64_t k) const {
    const std::int64_t bs = options.batch_size;
    const std::int64_t begin = k * bs, end = std::min<std::int64_t>(begin + bs, static_cast<std::int64_t>(order.size()));
    const std::vector<std::int64_t> indices(order.begin() + begin, order.begin() + end);
    Batch batch = dataset->get_batch(indices);
    if (options.transform) {
      Generator gen(mix_seed(epoch_seed, static_cast<std::uint64_t>(k)));
      batch.data = (*options.transform)(batch.data, gen);
    }
    return batch;
  }

  void produce() {
    NoGradGuard no_grad;  // nothing built here belongs to a graph
    for (std::int64_t k = 0; k < batches; ++k) {
      {
        std::unique_lock<std::mutex> lock(mu);
        space.wait(lock, [&] { return stop || static_cast<std::int64_t>(queue.size()) < options.prefetch; });
        if (stop) return;
      }
      Item item;
      try {
        item.batch = build(k);
      } catch (...) {
        item.error = std::current_exception();
      }
      const bool failed = item.error != nullptr;
      {
        std::lock_guard<std::mutex> lock(mu);
        queue.push_back(std::move(item));
      }
      ready.notify_one();
      if (failed) return;
    }
  }

  /// The next batch, or nothing at the end of the pass; re-throws a producer's exception.
  std::optional<Batch> next() {
    if (consumed >= batches) return std::nullopt;
    const std::int64_t k = consumed++;
    if (!worker.joinable()) return build(k);
    Item item;
    {
      std::unique_lock<std::mutex> lock(mu);
      ready.wait(lock, [&] { return !queue.empty(); });
      item = std::move(queue.front());
      queue.pop_front();
    }
    space.notify_one();
    if (item.error) {
      consumed = batches;  // the producer has stopped: the pass ends with this error
      std::rethrow_exception(item.error);
    }
    return std::move(item.batch);
  }
};

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)), options_(std::move(options)) {
  SHRINK_CHECK(dataset_ != nullptr, "DataLoader: expected a dataset, got a null pointer");
  SHRINK_CHECK(options_.batch_size >= 1, "DataLoader: expected batch_size >= 1, got ", options_.batch_size);
  SHRINK_CHECK(options_.prefetch >= 0, "DataLoader: expected prefetch >= 0, got ", options_.prefetch);
}

std::int64_t DataLoader::size() const {
  const std::int64_t n = dataset_->size(), bs = options_.batch_size;
  return options_.drop_last ? n / bs : (n + bs - 1) / bs;
}

std::vector<std::int64_t> DataLoader::order(std::int64_t epoch) const {
  if (!options_.shuffle) {
    std::vector<std::int64_t> identity(static_cast<std::size_t>(dataset_->size()));
    std::iota(identity.begin(), identity.end(), std::int64_t{0});
    return identity;
  }
  Generator gen(mix_seed(options_.seed, static_cast<std::uint64_t>(epoch)));
  return random_permutation(dataset_->size(), gen);
}

DataLoader::Iterator DataLoader::begin() {
  auto pass = std::make_shared<Pass>();
  pass->dataset = dataset_;
  pass->options = options_;
  // The transform stream of the epoch: unrelated to the shuffle stream mix_seed(seed, epoch).
  pass->epoch_seed = mix_seed(~options_.seed, static_cast<std::uint64_t>(epoch_));
  pass->order = order(epoch_);
  pass->batches = size();
  ++epoch_;
  if (options_.prefetch > 0 && pass->batches > 0) pass->worker = std::thread([p = pass.get()] { p->produce(); });
  return Iterator(std::move(pass));
}

DataLoader::Iterator::Iterator(std::shared_ptr<Pass> pass) : pass_(std::move(pass)) { ++*this; }

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  if (!pass_) return *this;
  std::optional<Batch> next;
  try {
    next = pass_->next();
  } catch (...) {
    pass_.reset();  // joins the producer, which has already stopped
    current_ = Batch{};
    throw;
  }
  if (next) {
    current_ = std::move(*next);
  } else {
    pass_.reset();
    current_ = Batch{};
  }
  return *this;
}

}  // namespace shrink::data
