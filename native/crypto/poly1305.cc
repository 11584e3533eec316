#include "poly1305.h"

#include <openssl/evp.h>

#include <cstring>

#include "provider.h"
#include "../util/env.h"

// OpenSSL's Poly1305 core as Node exports it; weak, so a libcrypto without it leaves them null.
// Signatures unchanged since OpenSSL 1.1.0 (include/crypto/poly1305.h).
extern "C" {
size_t Poly1305_ctx_size(void) __attribute__((weak));
void Poly1305_Init(void* ctx, const unsigned char key[32]) __attribute__((weak));
void Poly1305_Update(void* ctx, const unsigned char* inp, size_t len) __attribute__((weak));
void Poly1305_Final(void* ctx, unsigned char mac[16]) __attribute__((weak));
}

namespace gw::crypto {
namespace {

using u128 = unsigned __int128;
constexpr uint64_t kMask44 = 0xfffffffffff, kMask42 = 0x3ffffffffff;

uint64_t le64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;  // x86-64 and the other targets Node ships for are little-endian
}

// The accumulator h and the clamped r in radix 2^44 (44, 44, 42 bits), as poly1305-donna's 64-bit
// variant keeps them, so each product fits a 128-bit integer.
struct State {
  uint64_t r0, r1, r2, s1, s2;
  uint64_t h0 = 0, h1 = 0, h2 = 0;

  explicit State(const uint8_t key[16]) {
    uint64_t t0 = le64(key), t1 = le64(key + 8);
    r0 = t0 & 0xffc0fffffff;
    r1 = ((t0 >> 44) | (t1 << 20)) & 0xfffffc0ffff;
    r2 = (t1 >> 24) & 0x00ffffffc0f;
    s1 = r1 * (5 << 2);  // 2^130 = 5 (mod p), folded into the limb weights
    s2 = r2 * (5 << 2);
  }

  // hibit is 2^128 in limb 2 for a full block, 0 for the padded last one (its 1 byte is in the data).
  void block(const uint8_t* m, uint64_t hibit) {
    uint64_t t0 = le64(m), t1 = le64(m + 8);
    h0 += t0 & kMask44;
    h1 += ((t0 >> 44) | (t1 << 20)) & kMask44;
    h2 += ((t1 >> 24) & kMask42) | hibit;
    u128 d0 = (u128)h0 * r0 + (u128)h1 * s2 + (u128)h2 * s1;
    u128 d1 = (u128)h0 * r1 + (u128)h1 * r0 + (u128)h2 * s2;
    u128 d2 = (u128)h0 * r2 + (u128)h1 * r1 + (u128)h2 * r0;
    uint64_t c = (uint64_t)(d0 >> 44);
    h0 = (uint64_t)d0 & kMask44;
    d1 += c;
    c = (uint64_t)(d1 >> 44);
    h1 = (uint64_t)d1 & kMask44;
    d2 += c;
    c = (uint64_t)(d2 >> 42);
    h2 = (uint64_t)d2 & kMask42;
    h0 += c * 5;
    c = h0 >> 44;
    h0 &= kMask44;
    h1 += c;
  }

  // Fully reduces h mod p (constant time), adds s and writes the low 128 bits.
  void finish(const uint8_t s[16], uint8_t tag[16]) {
    uint64_t c = h1 >> 44;
    h1 &= kMask44;
    h2 += c, c = h2 >> 42, h2 &= kMask42;
    h0 += c * 5, c = h0 >> 44, h0 &= kMask44;
    h1 += c, c = h1 >> 44, h1 &= kMask44;
    h2 += c, c = h2 >> 42, h2 &= kMask42;
    h0 += c * 5, c = h0 >> 44, h0 &= kMask44;
    h1 += c;
    uint64_t g0 = h0 + 5;
    c = g0 >> 44, g0 &= kMask44;
    uint64_t g1 = h1 + c;
    c = g1 >> 44, g1 &= kMask44;
    uint64_t g2 = h2 + c - (1ull << 42);
    uint64_t use_g = (g2 >> 63) - 1;  // all ones when h >= p, so h - p is the residue
    h0 = (h0 & ~use_g) | (g0 & use_g);
    h1 = (h1 & ~use_g) | (g1 & use_g);
    h2 = (h2 & ~use_g) | (g2 & use_g);
    uint64_t t0 = le64(s), t1 = le64(s + 8);
    h0 += t0 & kMask44, c = h0 >> 44, h0 &= kMask44;
    h1 += (((t0 >> 44) | (t1 << 20)) & kMask44) + c, c = h1 >> 44, h1 &= kMask44;
    h2 += ((t1 >> 24) & kMask42) + c, h2 &= kMask42;
    uint64_t lo = h0 | (h1 << 44), hi = (h1 >> 20) | (h2 << 24);
    std::memcpy(tag, &lo, 8);
    std::memcpy(tag + 8, &hi, 8);
  }

  ~State() { wipe(this, sizeof *this); }
};

// One contiguous message. Carrying the state across parts instead made GCC's loop 1.4x slower per
// block (the same instructions, more spills on the critical path), hence the gathering below.
void one_shot(const uint8_t key[32], const uint8_t* in, size_t len, uint8_t tag[16]) {
  State st(key);
  for (; len >= 16; in += 16, len -= 16) st.block(in, 1ull << 40);
  if (len) {
    uint8_t last[16] = {};
    std::memcpy(last, in, len);
    last[len] = 1;
    st.block(last, 0);
    wipe(last, sizeof last);
  }
  st.finish(key + 16, tag);
}

// Several parts are gathered on the stack first: only the AEAD's few short pieces come here.
bool portable(const uint8_t key[32], const Slice* parts, size_t n, uint8_t tag[16]) {
  if (n == 1) return one_shot(key, parts[0].data, parts[0].len, tag), true;
  uint8_t msg[kShortMac];
  size_t len = 0;
  for (size_t i = 0; i < n; i++) {
    if (parts[i].len > sizeof msg - len) return false;
    if (parts[i].len) std::memcpy(msg + len, parts[i].data, parts[i].len);
    len += parts[i].len;
  }
  one_shot(key, msg, len, tag);
  return true;
}

constexpr size_t kCoreCtxMax = 512;

bool exported_available() {
  static const bool on = Poly1305_ctx_size && Poly1305_Init && Poly1305_Update && Poly1305_Final &&
                         Poly1305_ctx_size() <= kCoreCtxMax;
  return on;
}

bool exported(const uint8_t key[32], const Slice* parts, size_t n, uint8_t tag[16]) {
  if (!exported_available()) return false;
  alignas(64) static thread_local uint8_t ctx[kCoreCtxMax];
  Poly1305_Init(ctx, key);
  for (size_t i = 0; i < n; i++) Poly1305_Update(ctx, parts[i].data, parts[i].len);
  Poly1305_Final(ctx, tag);  // which cleanses the context
  return true;
}

bool evp(const uint8_t key[32], const Slice* parts, size_t n, uint8_t tag[16]) {
  thread_local struct Holder {
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(algo::poly1305);
    ~Holder() { EVP_MAC_CTX_free(ctx); }
  } h;
  size_t out = 0;
  if (!h.ctx || EVP_MAC_init(h.ctx, key, 32, nullptr) != 1) return false;
  for (size_t i = 0; i < n; i++)
    if (parts[i].len && EVP_MAC_update(h.ctx, parts[i].data, parts[i].len) != 1) return false;
  return EVP_MAC_final(h.ctx, tag, &out, 16) == 1 && out == 16;
}

Poly1305Route choose(size_t len) {
  static const struct Choice {
    size_t short_limit;
    bool use_exported;
  } c = [] {
    bool to_evp = env_is("GRIDWIRE_POLY1305", "evp");
    bool to_openssl = to_evp || env_is("GRIDWIRE_POLY1305", "openssl");
    return Choice{to_openssl ? 0 : kShortMac, !to_evp && exported_available()};
  }();
  if (len < c.short_limit) return Poly1305Route::kPortable;
  return c.use_exported ? Poly1305Route::kExported : Poly1305Route::kEvp;
}

}  // namespace

bool poly1305(const uint8_t key[32], const Slice* parts, size_t n, uint8_t tag[16], Poly1305Route route) {
  if (route == Poly1305Route::kChosen) {
    size_t len = 0;
    for (size_t i = 0; i < n; i++) len += parts[i].len;
    route = choose(len);
  }
  switch (route) {
    case Poly1305Route::kPortable:
      return portable(key, parts, n, tag);
    case Poly1305Route::kExported:
      return exported(key, parts, n, tag);
    case Poly1305Route::kEvp:
      return evp(key, parts, n, tag);
    case Poly1305Route::kChosen:
      break;
  }
  return false;
}

}  // namespace gw::crypto
