// Injectable randomness: production uses the OpenSSL CSPRNG; tests pass a deterministic source so that
// ephemeral keys, indices, nonces and jitter are reproducible.
#pragma once

#include <cstddef>
#include <cstdint>

#include "../../crypto/crypto.h"

namespace gw::wg {

// fill must be safe to call from several threads at once (the device calls it from TX, RX and timers).
struct Rng {
  bool (*fill)(void* ctx, uint8_t* buf, size_t len) = nullptr;
  void* ctx = nullptr;

  bool operator()(uint8_t* buf, size_t len) const {
    return fill ? fill(ctx, buf, len) : crypto::random_bytes(buf, len);
  }
  uint32_t u32() const {
    uint8_t b[4] = {};
    (*this)(b, sizeof b);
    return uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
  }
  // Timer jitter needs no secrecy and is drawn for every data packet sent: outside tests, a per-thread
  // xorshift seeded once from the CSPRNG instead of a CSPRNG call (and its fork check, a syscall) each.
  uint32_t jitter() const {
    if (fill) return u32();
    thread_local uint64_t s = [] {
      uint64_t v = 0;
      crypto::random_bytes(reinterpret_cast<uint8_t*>(&v), sizeof v);
      return v | 1;
    }();
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return static_cast<uint32_t>(s >> 32);
  }
};

}  // namespace gw::wg
