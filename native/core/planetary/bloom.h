// The routing layer's bloom filter (spec §4.7): m = 8192 bits, k = 8, bits-and-blooms/bloom v3 hashing
// over MurmurHash3 x64-128, and ironwood's compressed wire encoding (all-zero / all-one word flags).
// Items are always bloom-transformed keys (address.h bloom_transform); callers transform.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "types.h"
#include "wire.h"

namespace gw::planetary {

struct Murmur128 {
  uint64_t h1, h2;
};
Murmur128 murmur3_x64_128(const uint8_t* data, size_t len, uint64_t seed = 0);

class Bloom {
 public:
  static constexpr size_t kWords = 128;
  static constexpr size_t kBits = kWords * 64;
  static constexpr size_t kHashes = 8;

  static std::array<uint32_t, kHashes> positions(const Key& item);

  void add(const Key& item);
  bool test(const Key& item) const;
  void merge(const Bloom& other);
  void clear() { words_.fill(0); }
  bool empty() const;
  bool operator==(const Bloom& o) const { return words_ == o.words_; }
  const std::array<uint64_t, kWords>& words() const { return words_; }

  void encode(Writer& w) const;
  // Rejects a word flagged both all-zero and all-one, and a short or long body (exact consumption is
  // the caller's done() check).
  bool decode(Reader& r);

 private:
  std::array<uint64_t, kWords> words_{};
};

}  // namespace gw::planetary
