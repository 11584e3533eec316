// Vocabulary shared by the planetary (Yggdrasil 0.5 / ironwood) protocol cores. Sans-IO: time is an
// input in monotonic nanoseconds, links are opaque ids the engine assigns.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>

namespace gw::planetary {

constexpr size_t kKeyLen = 32;
constexpr size_t kSigLen = 64;
constexpr uint64_t kSecond = 1'000'000'000ull;
constexpr uint64_t kMillisecond = 1'000'000ull;
// "No timer armed" for next_deadline() of every core.
inline constexpr uint64_t kNoDeadline = ~uint64_t{0};

// An Ed25519 public key. Ordering is bytewise (the spec's "lower key").
using Key = std::array<uint8_t, kKeyLen>;
using Signature = std::array<uint8_t, kSigLen>;

// One transport connection to a directly connected peer; unique for the engine's lifetime.
using LinkId = uint64_t;

inline bool key_less(const Key& a, const Key& b) { return std::memcmp(a.data(), b.data(), kKeyLen) < 0; }

}  // namespace gw::planetary
