// Crypto workers: threads that seal and open contiguous chunks of a big batch (wg::ParallelCrypto) while
// the loop thread that forked the batch does the first chunk itself and then waits for the rest. Both
// data loops may fork at once; their chunks share the queue. Header-only so the native tests can drive
// the same pool as the engine.
#pragma once

#include <sched.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "../core/wireguard/device.h"
#include "../util/env.h"
#include "../util/thread_name.h"

namespace gw::engine {

class CryptoWorkers final : public wg::ParallelCrypto {
 public:
  static constexpr size_t kMax = 64;
  // Every keypair keys a lane per worker at the handshake, and a fork-join over many workers splits a
  // 64-packet batch too thin to pay for the wake-ups: more than this only when asked for.
  static constexpr size_t kDefaultMax = 8;

  // GRIDWIRE_CRYPTO_WORKERS, else one per CPU this process may run on beyond the two the data loops
  // keep busy (on 2 CPUs none: the loops already use both, and a fork-join would only add wake-ups).
  static size_t configured_count() {
    cpu_set_t set;
    size_t cpus = 1;
    if (sched_getaffinity(0, sizeof set, &set) == 0) cpus = static_cast<size_t>(CPU_COUNT(&set));
    return env_count("GRIDWIRE_CRYPTO_WORKERS", std::min(cpus > 2 ? cpus - 2 : 0, kDefaultMax), kMax);
  }

  explicit CryptoWorkers(size_t count) : count_(count) {}
  ~CryptoWorkers() { stop(); }
  CryptoWorkers(const CryptoWorkers&) = delete;
  CryptoWorkers& operator=(const CryptoWorkers&) = delete;

  size_t lanes() const override { return count_; }

  // Started and stopped with the data loops, while no batch is in flight.
  void start() {
    stop_ = false;
    for (size_t i = 0; i < count_; ++i) name_thread(threads_.emplace_back(&CryptoWorkers::work, this, static_cast<int>(i)), "gw-crypto");
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

  bool run(size_t n, Chunk chunk, void* ctx) override {
    if (threads_.empty() || n < 2) {
      chunk(ctx, 0, n, wg::Keypair::kLocked);
      return false;
    }
    const size_t parts = std::min(count_ + 1, n), per = n / parts, extra = n % parts;
    auto end_of = [&](size_t part, size_t begin) { return begin + per + (part < extra ? 1 : 0); };
    Join join;
    join.left = parts - 1;
    const size_t mine = end_of(0, 0);
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t part = 1, begin = mine; part < parts; begin = end_of(part, begin), ++part)
        tasks_.push_back(Task{chunk, ctx, begin, end_of(part, begin), &join});
    }
    cv_.notify_all();
    chunk(ctx, 0, mine, wg::Keypair::kLocked);
    std::unique_lock<std::mutex> lock(join.mu);
    join.cv.wait(lock, [&] { return join.left == 0; });
    return true;
  }

 private:
  struct Join {
    std::mutex mu;
    std::condition_variable cv;
    size_t left = 0;
  };
  struct Task {
    Chunk chunk;
    void* ctx;
    size_t begin, end;
    Join* join;
  };

  void work(int lane) {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || !tasks_.empty(); });
      if (tasks_.empty()) return;
      Task t = tasks_.front();
      tasks_.pop_front();
      lock.unlock();
      t.chunk(t.ctx, t.begin, t.end, lane);
      {
        // Notified under the lock: the forking thread cannot return (and free the Join) before we let go.
        std::lock_guard<std::mutex> jl(t.join->mu);
        if (--t.join->left == 0) t.join->cv.notify_one();
      }
      lock.lock();
    }
  }

  const size_t count_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> tasks_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace gw::engine
