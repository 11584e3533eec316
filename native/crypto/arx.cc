#include "arx.h"

#include <cstdlib>
#include <cstring>

#include "arx_simd.h"
#include "salsa_core.h"

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

// One block of keystream for the state s (its counter words included).
void salsa_block(const uint32_t s[16], uint8_t out[64]) {
  uint32_t x[16];
  std::memcpy(x, s, sizeof x);
  salsa::rounds(x);
  for (int i = 0; i < 16; i++) store32(out + 4 * i, x[i] + s[i]);
}

void set_counter(uint32_t s[16], uint64_t counter) {
  s[8] = uint32_t(counter);
  s[9] = uint32_t(counter >> 32);
}

// Block by block; the tail of the vector paths too.
void xor_portable(uint32_t s[16], uint64_t counter, const uint8_t* in, uint8_t* out, size_t len) {
  uint8_t block[64];
  while (len) {
    set_counter(s, counter++);
    salsa_block(s, block);
    size_t n = len < 64 ? len : 64;
    for (size_t i = 0; i < n; i++) out[i] = in[i] ^ block[i];
    in += n;
    out += n;
    len -= n;
  }
  wipe(block, sizeof block);
}

Salsa20Impl pick_impl() {
  Salsa20Impl best = salsa20_supported(Salsa20Impl::kAvx2)   ? Salsa20Impl::kAvx2
                     : salsa20_supported(Salsa20Impl::kSse2) ? Salsa20Impl::kSse2
                                                             : Salsa20Impl::kPortable;
  const char* want = std::getenv("GRIDWIRE_SALSA20");
  if (!want) return best;
  Salsa20Impl asked = std::strcmp(want, "portable") == 0 ? Salsa20Impl::kPortable
                      : std::strcmp(want, "sse2") == 0   ? Salsa20Impl::kSse2
                                                         : best;
  return salsa20_supported(asked) ? asked : best;
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
  salsa::rounds(x);
  // HSalsa20 keeps the diagonal and the nonce row, without the feed-forward.
  const int pick[8] = {0, 5, 10, 15, 6, 7, 8, 9};
  for (int i = 0; i < 8; i++) store32(out + 4 * i, x[pick[i]]);
}

bool salsa20_supported(Salsa20Impl impl) {
  if (impl == Salsa20Impl::kPortable) return true;
#if defined(__x86_64__)
  return impl == Salsa20Impl::kSse2 || salsa::cpu_has_avx2();
#else
  return false;
#endif
}

Salsa20Impl salsa20_impl() {
  static const Salsa20Impl impl = pick_impl();
  return impl;
}

void salsa20_xor_with(Salsa20Impl impl, const uint8_t key[32], const uint8_t nonce[8], uint64_t counter,
                      const uint8_t* in, uint8_t* out, size_t len) {
  uint8_t in16[16] = {};
  std::memcpy(in16, nonce, 8);
  uint32_t s[16];
  salsa_state(key, in16, s);
  size_t done = 0;
#if defined(__x86_64__)
  // Whole vector steps from the input, then the last partial step as keystream from a zero block, so
  // a message of any length stays on the vector path but for its final bytes.
  if (impl != Salsa20Impl::kPortable && len > 64) {
    set_counter(s, counter);
    if (impl == Salsa20Impl::kAvx2) done = salsa::xor_avx2(s, in, out, len);
    set_counter(s, counter + done / 64);
    done += salsa::xor_sse2(s, in + done, out + done, len - done);
    if (size_t rest = len - done; rest > 64) {
      alignas(32) uint8_t stream[256] = {};
      set_counter(s, counter + done / 64);
      salsa::xor_sse2(s, stream, stream, sizeof stream);
      for (size_t i = 0; i < rest; i++) out[done + i] = in[done + i] ^ stream[i];
      wipe(stream, sizeof stream);
      done = len;
    }
  }
#endif
  xor_portable(s, counter + done / 64, in + done, out + done, len - done);
  wipe(s, sizeof s);
}

void salsa20_xor(const uint8_t key[32], const uint8_t nonce[8], uint64_t counter, const uint8_t* in, uint8_t* out,
                 size_t len) {
  salsa20_xor_with(salsa20_impl(), key, nonce, counter, in, out, len);
}

}  // namespace gw::crypto
