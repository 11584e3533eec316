#include "bloom.h"

#include <cstring>

namespace gw::planetary {

namespace {

constexpr uint64_t kC1 = 0x87c37b91114253d5ull;
constexpr uint64_t kC2 = 0x4cf5ad432745937full;
constexpr size_t kFlagBytes = Bloom::kWords / 8;

uint64_t rotl(uint64_t x, int r) { return x << r | x >> (64 - r); }

uint64_t fmix(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  return k ^ (k >> 33);
}

uint64_t load_le(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = n; i-- > 0;) v = v << 8 | p[i];
  return v;
}

uint64_t mix_k1(uint64_t k) { return rotl(k * kC1, 31) * kC2; }
uint64_t mix_k2(uint64_t k) { return rotl(k * kC2, 33) * kC1; }

bool flag(const uint8_t* flags, size_t i) { return flags[i / 8] & (0x80 >> (i % 8)); }

}  // namespace

Murmur128 murmur3_x64_128(const uint8_t* data, size_t len, uint64_t seed) {
  uint64_t h1 = seed, h2 = seed;
  size_t blocks = len / 16;
  for (size_t i = 0; i < blocks; i++) {
    h1 ^= mix_k1(load_le(data + 16 * i, 8));
    h1 = (rotl(h1, 27) + h2) * 5 + 0x52dce729;
    h2 ^= mix_k2(load_le(data + 16 * i + 8, 8));
    h2 = (rotl(h2, 31) + h1) * 5 + 0x38495ab5;
  }
  const uint8_t* tail = data + 16 * blocks;
  size_t t = len & 15;
  if (t > 8) h2 ^= mix_k2(load_le(tail + 8, t - 8));
  if (t > 0) h1 ^= mix_k1(load_le(tail, t > 8 ? 8 : t));
  h1 ^= len;
  h2 ^= len;
  h1 += h2;
  h2 += h1;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h1 += h2;
  h2 += h1;
  return {h1, h2};
}

std::array<uint32_t, Bloom::kHashes> Bloom::positions(const Key& item) {
  uint8_t buf[kKeyLen + 1];
  std::memcpy(buf, item.data(), kKeyLen);
  buf[kKeyLen] = 1;
  Murmur128 a = murmur3_x64_128(buf, kKeyLen);
  Murmur128 b = murmur3_x64_128(buf, kKeyLen + 1);
  const uint64_t h[4] = {a.h1, a.h2, b.h1, b.h2};
  std::array<uint32_t, kHashes> out;
  for (uint64_t i = 0; i < kHashes; i++) {
    uint64_t v = h[i % 2] + i * h[2 + ((i + i % 2) % 4) / 2];
    out[i] = static_cast<uint32_t>(v % kBits);
  }
  return out;
}

void Bloom::add(const Key& item) {
  for (uint32_t b : positions(item)) words_[b / 64] |= uint64_t{1} << (b % 64);
}

bool Bloom::test(const Key& item) const {
  for (uint32_t b : positions(item)) {
    if (!(words_[b / 64] >> (b % 64) & 1)) return false;
  }
  return true;
}

void Bloom::merge(const Bloom& other) {
  for (size_t i = 0; i < kWords; i++) words_[i] |= other.words_[i];
}

bool Bloom::empty() const {
  for (uint64_t w : words_) {
    if (w) return false;
  }
  return true;
}

void Bloom::encode(Writer& w) const {
  uint8_t zeros[kFlagBytes] = {}, ones[kFlagBytes] = {};
  for (size_t i = 0; i < kWords; i++) {
    uint8_t mask = static_cast<uint8_t>(0x80 >> (i % 8));
    if (words_[i] == 0) zeros[i / 8] |= mask;
    if (words_[i] == kMaxU64) ones[i / 8] |= mask;
  }
  w.bytes(zeros, kFlagBytes);
  w.bytes(ones, kFlagBytes);
  for (uint64_t word : words_) {
    if (word == 0 || word == kMaxU64) continue;
    uint8_t be[8];
    for (int k = 0; k < 8; k++) be[k] = static_cast<uint8_t>(word >> (56 - 8 * k));
    w.bytes(be, 8);
  }
}

bool Bloom::decode(Reader& r) {
  uint8_t zeros[kFlagBytes], ones[kFlagBytes];
  if (!r.bytes(zeros, kFlagBytes) || !r.bytes(ones, kFlagBytes)) return false;
  for (size_t i = 0; i < kWords; i++) {
    bool z = flag(zeros, i), o = flag(ones, i);
    if (z && o) return false;
    if (z || o) {
      words_[i] = z ? 0 : kMaxU64;
      continue;
    }
    uint8_t be[8];
    if (!r.bytes(be, 8)) return false;
    words_[i] = 0;
    for (int k = 0; k < 8; k++) words_[i] = words_[i] << 8 | be[k];
  }
  return true;
}

}  // namespace gw::planetary
