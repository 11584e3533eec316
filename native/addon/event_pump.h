// Control events from the data-plane threads to JavaScript. One thread-safe function for the whole
// engine and a bounded queue in front of it: posting never blocks a data thread, and when JavaScript
// falls behind the newest events are dropped and counted (JS re-reads state from a snapshot instead).
#pragma once

#include <napi.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

namespace gw::addon {

struct Event {
  std::string type;    // e.g. "handshake", "endpoint", "expired", "error"
  std::string peer;    // hex public key, or empty for device-wide events
  std::string detail;  // human-readable, e.g. the new endpoint
};

// Held by shared_ptr: a delivery already queued in the thread-safe function keeps the pump alive.
class EventPump : public std::enable_shared_from_this<EventPump> {
 public:
  static constexpr size_t kCapacity = 1024;

  EventPump(Napi::Env env, Napi::Function callback);
  ~EventPump();
  EventPump(const EventPump&) = delete;
  EventPump& operator=(const EventPump&) = delete;

  void post(Event event);  // any thread
  void close();            // JS thread; no more deliveries after it returns
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  void drain(Napi::Env env, Napi::Function callback);

  std::mutex mu_;
  std::deque<Event> queue_;
  bool scheduled_ = false;
  bool closed_ = false;
  std::atomic<uint64_t> dropped_{0};
  Napi::ThreadSafeFunction tsfn_;
};

}  // namespace gw::addon
