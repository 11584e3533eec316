#include "secretbox.h"

#include <openssl/evp.h>

#include <cstring>

#include "arx.h"
#include "curve.h"
#include "poly1305.h"
#include "provider.h"
#include "../util/env.h"

namespace gw::crypto {

namespace {

EVP_MAC_CTX* poly_ctx() {
  thread_local struct Holder {
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(algo::poly1305);
    ~Holder() { EVP_MAC_CTX_free(ctx); }
  } h;
  return h.ctx;
}

// Below this, a message's MAC is cheaper in poly1305_short even when OpenSSL's code is warm (and far
// cheaper when it is cold); above it OpenSSL's vector code wins. GRIDWIRE_POLY1305=openssl (read once)
// sends every message to OpenSSL, so the bench can show what the short path buys.
constexpr size_t kShortMac = 512;

size_t short_mac_limit() {
  static const size_t limit = [] {
    return env_is("GRIDWIRE_POLY1305", "openssl") ? 0 : kShortMac;
  }();
  return limit;
}

bool poly1305(const uint8_t key[32], const uint8_t* in, size_t len, uint8_t tag[16]) {
  if (len < short_mac_limit()) {
    poly1305_short(key, in, len, tag);
    return true;
  }
  EVP_MAC_CTX* ctx = poly_ctx();
  size_t out = 0;
  return ctx && EVP_MAC_init(ctx, key, 32, nullptr) == 1 && (len == 0 || EVP_MAC_update(ctx, in, len) == 1) &&
         EVP_MAC_final(ctx, tag, &out, 16) == 1 && out == 16;
}

// XSalsa20 as NaCl uses it: the first 32 bytes of keystream become the Poly1305 key and the message is
// enciphered with the keystream from byte 32 on.
struct Stream {
  uint8_t subkey[32];
  uint8_t block0[64] = {};
  const uint8_t* nonce8;
  Stream(const uint8_t key[32], const uint8_t nonce[24]) : nonce8(nonce + 16) {
    hsalsa20(key, nonce, subkey);
    salsa20_xor(subkey, nonce8, 0, block0, block0, sizeof block0);
  }
  ~Stream() {
    wipe(subkey, sizeof subkey);
    wipe(block0, sizeof block0);
  }
  // out = in XOR the message keystream; the copy and the cipher are one pass. in and out are the same
  // buffer or do not overlap.
  void apply(const uint8_t* in, uint8_t* out, size_t len) const {
    size_t head = len < 32 ? len : 32;
    for (size_t i = 0; i < head; i++) out[i] = in[i] ^ block0[32 + i];
    if (len > head) salsa20_xor(subkey, nonce8, 1, in + head, out + head, len - head);
  }
};

// The source to encipher from: in itself, unless it partly overlaps out, when it is moved there first.
const uint8_t* settle(const uint8_t* in, uint8_t* out, size_t len) {
  if (in == out || !len || in + len <= out || out + len <= in) return in;
  std::memmove(out, in, len);
  return out;
}

}  // namespace

bool secretbox_seal(const uint8_t key[kKeyLen], const uint8_t nonce[kXNonceLen], const uint8_t* in, size_t len,
                    uint8_t* out) {
  Stream s(key, nonce);
  uint8_t* ct = out + kBoxOverhead;
  s.apply(settle(in, ct, len), ct, len);
  return poly1305(s.block0, ct, len, out);
}

bool secretbox_open(const uint8_t key[kKeyLen], const uint8_t nonce[kXNonceLen], const uint8_t* in, size_t len,
                    uint8_t* out) {
  Stream s(key, nonce);
  uint8_t tag[kTagLen];
  if (!poly1305(s.block0, in + kBoxOverhead, len, tag) || !equal(tag, in, kTagLen)) return false;
  s.apply(settle(in + kBoxOverhead, out, len), out, len);
  return true;
}

bool box_beforenm(const uint8_t peer_pub[kKeyLen], const uint8_t priv[kKeyLen], uint8_t shared[kKeyLen]) {
  static const uint8_t zero[16] = {};
  uint8_t dh[kKeyLen];
  bool ok = x25519(priv, peer_pub, dh);
  if (ok) hsalsa20(dh, zero, shared);
  wipe(dh, sizeof dh);
  return ok;
}

}  // namespace gw::crypto
