#include "arx.h"

#include <cstring>

namespace gw::crypto {

namespace {

inline uint32_t rotl(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

inline uint32_t load32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

inline void store32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v);
  p[1] = uint8_t(v >> 8);
  p[2] = uint8_t(v >> 16);
  p[3] = uint8_t(v >> 24);
}

// "expand 32-byte k"
constexpr uint32_t kSigma[4] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};

#define CHACHA_QR(a, b, c, d) \
  a += b; d = rotl(d ^ a, 16); \
  c += d; b = rotl(b ^ c, 12); \
  a += b; d = rotl(d ^ a, 8);  \
  c += d; b = rotl(b ^ c, 7)

void chacha_rounds(uint32_t x[16]) {
  for (int i = 0; i < 10; i++) {
    CHACHA_QR(x[0], x[4], x[8], x[12]);
    CHACHA_QR(x[1], x[5], x[9], x[13]);
    CHACHA_QR(x[2], x[6], x[10], x[14]);
    CHACHA_QR(x[3], x[7], x[11], x[15]);
    CHACHA_QR(x[0], x[5], x[10], x[15]);
    CHACHA_QR(x[1], x[6], x[11], x[12]);
    CHACHA_QR(x[2], x[7], x[8], x[13]);
    CHACHA_QR(x[3], x[4], x[9], x[14]);
  }
}

#define SALSA_QR(a, b, c, d) \
  b ^= rotl(a + d, 7);      \
  c ^= rotl(b + a, 9);      \
  d ^= rotl(c + b, 13);     \
  a ^= rotl(d + c, 18)

void salsa_rounds(uint32_t x[16]) {
  for (int i = 0; i < 10; i++) {
    SALSA_QR(x[0], x[4], x[8], x[12]);
    SALSA_QR(x[5], x[9], x[13], x[1]);
    SALSA_QR(x[10], x[14], x[2], x[6]);
    SALSA_QR(x[15], x[3], x[7], x[11]);
    SALSA_QR(x[0], x[1], x[2], x[3]);
    SALSA_QR(x[5], x[6], x[7], x[4]);
    SALSA_QR(x[10], x[11], x[8], x[9]);
    SALSA_QR(x[15], x[12], x[13], x[14]);
  }
}

// Salsa20's state layout: constants on the diagonal, key split around them.
void salsa_state(const uint8_t key[32], const uint8_t in16[16], uint32_t x[16]) {
  x[0] = kSigma[0];
  x[5] = kSigma[1];
  x[10] = kSigma[2];
  x[15] = kSigma[3];
  for (int i = 0; i < 4; i++) {
    x[1 + i] = load32(key + 4 * i);
    x[11 + i] = load32(key + 16 + 4 * i);
    x[6 + i] = load32(in16 + 4 * i);
  }
}

void salsa_block(const uint8_t key[32], const uint8_t nonce[8], uint64_t counter, uint8_t out[64]) {
  uint8_t in16[16];
  std::memcpy(in16, nonce, 8);
  for (int i = 0; i < 8; i++) in16[8 + i] = uint8_t(counter >> (8 * i));
  uint32_t x[16], s[16];
  salsa_state(key, in16, s);
  std::memcpy(x, s, sizeof x);
  salsa_rounds(x);
  for (int i = 0; i < 16; i++) store32(out + 4 * i, x[i] + s[i]);
}

}  // namespace

void hchacha20(const uint8_t key[32], const uint8_t nonce[16], uint8_t out[32]) {
  uint32_t x[16];
  for (int i = 0; i < 4; i++) x[i] = kSigma[i];
  for (int i = 0; i < 8; i++) x[4 + i] = load32(key + 4 * i);
  for (int i = 0; i < 4; i++) x[12 + i] = load32(nonce + 4 * i);
  chacha_rounds(x);
  // HChaCha20 keeps the first and last rows, without the feed-forward.
  for (int i = 0; i < 4; i++) {
    store32(out + 4 * i, x[i]);
    store32(out + 16 + 4 * i, x[12 + i]);
  }
}

void hsalsa20(const uint8_t key[32], const uint8_t nonce[16], uint8_t out[32]) {
  uint32_t x[16];
  salsa_state(key, nonce, x);
  salsa_rounds(x);
  // HSalsa20 keeps the diagonal and the nonce row, without the feed-forward.
  const int pick[8] = {0, 5, 10, 15, 6, 7, 8, 9};
  for (int i = 0; i < 8; i++) store32(out + 4 * i, x[pick[i]]);
}

void salsa20_xor(const uint8_t key[32], const uint8_t nonce[8], uint64_t counter, uint8_t* data, size_t len) {
  uint8_t block[64];
  while (len) {
    salsa_block(key, nonce, counter++, block);
    size_t n = len < 64 ? len : 64;
    for (size_t i = 0; i < n; i++) data[i] ^= block[i];
    data += n;
    len -= n;
  }
  std::memset(block, 0, sizeof block);
}

}  // namespace gw::crypto
