#include "ratelimiter.h"

#include <cstring>

namespace gw::wg {

bool RateLimiter::Key::operator==(const Key& o) const {
  return family == o.family && std::memcmp(addr, o.addr, sizeof addr) == 0;
}

size_t RateLimiter::KeyHash::operator()(const Key& k) const {
  // FNV-1a; sources are attacker-chosen but the table is bounded, so worst-case chaining is bounded too.
  uint64_t h = 1469598103934665603ull ^ k.family;
  for (uint8_t b : k.addr) h = (h ^ b) * 1099511628211ull;
  return static_cast<size_t>(h);
}

void RateLimiter::sweep(uint64_t now_ns) {
  if (now_ns - last_sweep_ns_ < kGcIntervalNs) return;
  last_sweep_ns_ = now_ns;
  for (auto it = table_.begin(); it != table_.end();) {
    it = now_ns - it->second.last_ns > kGcIntervalNs ? table_.erase(it) : std::next(it);
  }
}

bool RateLimiter::allow(const Endpoint& src, uint64_t now_ns) {
  Key key{};
  key.family = src.family;
  std::memcpy(key.addr, src.addr, src.addr_len());
  std::lock_guard<std::mutex> lock(mu_);
  sweep(now_ns);
  auto it = table_.find(key);
  if (it == table_.end()) {
    if (table_.size() >= kMaxEntries) return false;
    table_.emplace(key, Entry{now_ns, kMaxTokensNs - kPacketCostNs});
    return true;
  }
  Entry& e = it->second;
  uint64_t tokens = e.tokens_ns + (now_ns - e.last_ns);
  e.last_ns = now_ns;
  e.tokens_ns = tokens > kMaxTokensNs ? kMaxTokensNs : tokens;
  if (e.tokens_ns < kPacketCostNs) return false;
  e.tokens_ns -= kPacketCostNs;
  return true;
}

void RateLimiter::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  table_.clear();
}

}  // namespace gw::wg
