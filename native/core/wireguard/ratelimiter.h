// Per-source token bucket for handshake messages accepted while under load (wireguard-go ratelimiter:
// 20 per second, burst 5, keyed by the source IP without the port; idle entries are swept every second).
// Only the handshake path uses it, so a map and a mutex are fine; the table is capped so a spoofing flood
// cannot grow it without bound (new sources are refused while it is full).
#pragma once

#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "endpoint.h"

namespace gw::wg {

class RateLimiter {
 public:
  static constexpr uint64_t kPacketsPerSecond = 20;
  static constexpr uint64_t kPacketsBurstable = 5;
  static constexpr uint64_t kPacketCostNs = 1000000000ull / kPacketsPerSecond;
  static constexpr uint64_t kMaxTokensNs = kPacketCostNs * kPacketsBurstable;
  static constexpr uint64_t kGcIntervalNs = 1000000000ull;
  static constexpr size_t kMaxEntries = 1 << 16;

  bool allow(const Endpoint& src, uint64_t now_ns);
  void clear();

 private:
  struct Key {
    uint8_t family;
    uint8_t addr[16];
    bool operator==(const Key& o) const;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  struct Entry {
    uint64_t last_ns;
    uint64_t tokens_ns;
  };
  void sweep(uint64_t now_ns);

  std::mutex mu_;
  std::unordered_map<Key, Entry, KeyHash> table_;
  uint64_t last_sweep_ns_ = 0;
};

}  // namespace gw::wg
