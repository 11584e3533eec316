#include "hash.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstring>

#include "provider.h"

namespace gw::crypto {

namespace {

// Per-thread digest and MAC contexts, created on first use and reused: no allocation per call after that.
EVP_MD_CTX* md_ctx() {
  thread_local struct Holder {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Holder() { EVP_MD_CTX_free(ctx); }
  } h;
  return h.ctx;
}

struct MacHolder {
  EVP_MAC_CTX* ctx;
  explicit MacHolder(EVP_MAC* mac) : ctx(EVP_MAC_CTX_new(mac)) {}
  ~MacHolder() { EVP_MAC_CTX_free(ctx); }
};

EVP_MAC_CTX* blake2smac_ctx() {
  thread_local MacHolder h(algo::blake2smac);
  return h.ctx;
}
EVP_MAC_CTX* blake2bmac_ctx() {
  thread_local MacHolder h(algo::blake2bmac);
  return h.ctx;
}

bool digest(EVP_MD* md, const Slice* parts, size_t n, uint8_t* out) {
  EVP_MD_CTX* ctx = md_ctx();
  if (!ctx || EVP_DigestInit_ex2(ctx, md, nullptr) != 1) return false;
  for (size_t i = 0; i < n; i++)
    if (parts[i].len && EVP_DigestUpdate(ctx, parts[i].data, parts[i].len) != 1) return false;
  unsigned int len = 0;
  return EVP_DigestFinal_ex(ctx, out, &len) == 1;
}

bool mac(EVP_MAC_CTX* ctx, const uint8_t* key, size_t key_len, const OSSL_PARAM* params, const Slice* parts,
         size_t n, uint8_t* out, size_t out_len) {
  // A NULL key tells EVP_MAC_init to keep the previous call's key: an empty key must still be non-NULL.
  static const uint8_t empty = 0;
  if (!key) key = &empty;
  if (!ctx || EVP_MAC_init(ctx, key, key_len, params) != 1) return false;
  for (size_t i = 0; i < n; i++)
    if (parts[i].len && EVP_MAC_update(ctx, parts[i].data, parts[i].len) != 1) return false;
  size_t len = 0;
  return EVP_MAC_final(ctx, out, &len, out_len) == 1 && len == out_len;
}

}  // namespace

bool blake2s(const Slice* parts, size_t n, uint8_t out[kBlake2sLen]) { return digest(algo::blake2s256, parts, n, out); }

bool blake2s(const uint8_t* in, size_t len, uint8_t out[kBlake2sLen]) {
  Slice s{in, len};
  return blake2s(&s, 1, out);
}

bool blake2s_mac16(const uint8_t* key, size_t key_len, const uint8_t* in, size_t len, uint8_t out[kMacLen]) {
  if (key_len == 0 || key_len > 32) return false;
  size_t size = kMacLen;
  OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size), OSSL_PARAM_construct_end()};
  Slice s{in, len};
  return mac(blake2smac_ctx(), key, key_len, params, &s, 1, out, kMacLen);
}

// RFC 2104 by hand over the reused BLAKE2s context: OpenSSL's HMAC resolves its digest by name and
// duplicates a digest context on every init, which cost as much as the BLAKE2s work itself in a
// handshake's 21 HMACs.
bool hmac_blake2s(const uint8_t* key, size_t key_len, const Slice* parts, size_t n, uint8_t out[kBlake2sLen]) {
  constexpr size_t kBlock = 64;  // BLAKE2s block size
  uint8_t k[kBlock] = {};
  bool ok = true;
  if (key_len > kBlock) ok = blake2s(key, key_len, k);
  else if (key_len) std::memcpy(k, key, key_len);
  uint8_t pad[kBlock], inner[kBlake2sLen];
  for (size_t i = 0; i < kBlock; i++) pad[i] = k[i] ^ 0x36;
  EVP_MD_CTX* ctx = md_ctx();
  ok = ok && ctx && EVP_DigestInit_ex2(ctx, algo::blake2s256, nullptr) == 1 && EVP_DigestUpdate(ctx, pad, kBlock) == 1;
  for (size_t i = 0; ok && i < n; i++) ok = !parts[i].len || EVP_DigestUpdate(ctx, parts[i].data, parts[i].len) == 1;
  unsigned int len = 0;
  ok = ok && EVP_DigestFinal_ex(ctx, inner, &len) == 1;
  for (size_t i = 0; i < kBlock; i++) pad[i] = k[i] ^ 0x5c;
  ok = ok && EVP_DigestInit_ex2(ctx, algo::blake2s256, nullptr) == 1 && EVP_DigestUpdate(ctx, pad, kBlock) == 1 &&
       EVP_DigestUpdate(ctx, inner, sizeof inner) == 1 && EVP_DigestFinal_ex(ctx, out, &len) == 1;
  wipe(k, sizeof k);
  wipe(pad, sizeof pad);
  wipe(inner, sizeof inner);
  return ok;
}

bool kdf(const uint8_t* chaining_key, size_t ck_len, const uint8_t* in, size_t len, size_t n, uint8_t* out) {
  if (n < 1 || n > 3) return false;
  uint8_t prk[kBlake2sLen];
  Slice input{in, len};
  bool ok = hmac_blake2s(chaining_key, ck_len, &input, 1, prk);
  // T(i) = HMAC(prk, T(i-1) ‖ i), with T(0) empty.
  for (size_t i = 0; ok && i < n; i++) {
    uint8_t counter = static_cast<uint8_t>(i + 1);
    Slice parts[2] = {{i ? out + 32 * (i - 1) : nullptr, i ? kBlake2sLen : 0}, {&counter, 1}};
    ok = hmac_blake2s(prk, sizeof prk, parts, 2, out + 32 * i);
  }
  wipe(prk, sizeof prk);
  return ok;
}

bool blake2b512(const uint8_t* key, size_t key_len, const uint8_t* in, size_t len, uint8_t out[kBlake2bLen]) {
  Slice s{in, len};
  if (key_len == 0) return digest(algo::blake2b512, &s, 1, out);
  if (key_len > 64) return false;
  return mac(blake2bmac_ctx(), key, key_len, nullptr, &s, 1, out, kBlake2bLen);
}

bool sha512(const uint8_t* in, size_t len, uint8_t out[64]) {
  Slice s{in, len};
  return digest(algo::sha512, &s, 1, out);
}

}  // namespace gw::crypto
