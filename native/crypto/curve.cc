#include "curve.h"

#include <openssl/bn.h>
#include <openssl/evp.h>

#include <cstring>
#include <memory>

#include "hash.h"
#include "../util/env.h"

namespace gw::crypto {

namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

}  // namespace
}  // namespace gw::crypto

// OpenSSL's own X25519 routines, below its EVP layer. Node links OpenSSL statically and exports every
// symbol, so inside the addon these resolve to the very code EVP_PKEY_derive ends in, minus a key
// import, two allocations and a context per call (about half of a handshake's cost). The system
// libcrypto the native tests link does not export them: weak references resolve to null there and the
// EVP path below runs, so both paths stay tested against the same vectors. Signatures unchanged since
// OpenSSL 1.1.0 (crypto/ec/curve25519.c). ossl_x25519 returns 0 for an all-zero (small-order) result.
extern "C" {
int ossl_x25519(uint8_t out[32], const uint8_t priv[32], const uint8_t peer_pub[32]) __attribute__((weak));
void ossl_x25519_public_from_private(uint8_t out[32], const uint8_t priv[32]) __attribute__((weak));
}

namespace gw::crypto {
namespace {

// GRIDWIRE_X25519=evp forces the EVP path (the bench's switch, and the differential test's).
bool direct_x25519() {
  static const bool on = [] {
    return ossl_x25519 && ossl_x25519_public_from_private && !env_is("GRIDWIRE_X25519", "evp");
  }();
  return on;
}

Pkey raw_public(int type, const uint8_t* key) { return Pkey(EVP_PKEY_new_raw_public_key(type, nullptr, key, 32)); }

// Importing a raw private key makes OpenSSL derive its public key, a full scalar multiplication. The same
// private keys recur (the static key in every handshake, an ephemeral in two DHs, a node's signing key),
// so each thread keeps its last few imports. Entries are wiped when evicted and at thread exit.
class PrivateKeyCache {
 public:
  ~PrivateKeyCache() {
    for (Entry& e : entries_) evict(e);
  }

  // Borrowed: valid until the next call on this thread.
  EVP_PKEY* get(int type, const uint8_t* priv) {
    for (Entry& e : entries_)
      if (e.pkey && e.type == type && equal(e.priv, priv, 32)) return e.pkey;
    Entry& e = entries_[next_++ % kEntries];
    evict(e);
    e.pkey = EVP_PKEY_new_raw_private_key(type, nullptr, priv, 32);
    e.type = type;
    std::memcpy(e.priv, priv, 32);
    return e.pkey;
  }

 private:
  static constexpr size_t kEntries = 4;
  struct Entry {
    uint8_t priv[32] = {};
    int type = 0;
    EVP_PKEY* pkey = nullptr;
  };
  static void evict(Entry& e) {
    EVP_PKEY_free(e.pkey);
    e.pkey = nullptr;
    wipe(e.priv, sizeof e.priv);
  }
  Entry entries_[kEntries];
  size_t next_ = 0;
};

EVP_PKEY* cached_private(int type, const uint8_t* priv) {
  thread_local PrivateKeyCache cache;
  return cache.get(type, priv);
}

bool public_of(int type, const uint8_t* priv, uint8_t* pub) {
  EVP_PKEY* k = cached_private(type, priv);
  size_t len = 32;
  return k && EVP_PKEY_get_raw_public_key(k, pub, &len) == 1 && len == 32;
}

}  // namespace

void x25519_clamp(uint8_t key[kKeyLen]) {
  key[0] &= 248;
  key[31] = (key[31] & 127) | 64;
}

bool x25519_public(const uint8_t priv[kKeyLen], uint8_t pub[kKeyLen]) {
  if (direct_x25519()) {
    ossl_x25519_public_from_private(pub, priv);
    return true;
  }
  return public_of(EVP_PKEY_X25519, priv, pub);
}

bool x25519(const uint8_t priv[kKeyLen], const uint8_t peer_pub[kKeyLen], uint8_t shared[kKeyLen]) {
  if (direct_x25519()) {
    if (ossl_x25519(shared, priv, peer_pub)) return true;
    wipe(shared, kKeyLen);
    return false;
  }
  EVP_PKEY* self = cached_private(EVP_PKEY_X25519, priv);
  Pkey peer = raw_public(EVP_PKEY_X25519, peer_pub);
  if (!self || !peer) return false;
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new(self, nullptr));
  size_t len = kKeyLen;
  // OpenSSL itself fails the derivation when the result is all zeros (a small-order peer key).
  return ctx && EVP_PKEY_derive_init(ctx.get()) == 1 && EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) == 1 &&
         EVP_PKEY_derive(ctx.get(), shared, &len) == 1 && len == kKeyLen;
}

bool ed25519_public(const uint8_t seed[kEd25519SeedLen], uint8_t pub[kKeyLen]) {
  return public_of(EVP_PKEY_ED25519, seed, pub);
}

bool ed25519_sign(const uint8_t seed[kEd25519SeedLen], const uint8_t* msg, size_t len, uint8_t sig[kEd25519SigLen]) {
  EVP_PKEY* k = cached_private(EVP_PKEY_ED25519, seed);
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  size_t sig_len = kEd25519SigLen;
  return k && ctx && EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, k) == 1 &&
         EVP_DigestSign(ctx.get(), sig, &sig_len, msg, len) == 1 && sig_len == kEd25519SigLen;
}

bool ed25519_verify(const uint8_t pub[kKeyLen], const uint8_t* msg, size_t len, const uint8_t sig[kEd25519SigLen]) {
  Pkey k = raw_public(EVP_PKEY_ED25519, pub);
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  return k && ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, k.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), sig, kEd25519SigLen, msg, len) == 1;
}

bool ed25519_seed_to_x25519(const uint8_t seed[kEd25519SeedLen], uint8_t out[kKeyLen]) {
  uint8_t h[64];
  bool ok = sha512(seed, kEd25519SeedLen, h);
  std::memcpy(out, h, kKeyLen);
  x25519_clamp(out);
  wipe(h, sizeof h);
  return ok;
}

namespace {

// Is y the y-coordinate of a point on edwards25519 whose x can carry the given sign? That is: is
// x² = (y² − 1) / (d·y² + 1) a square mod p, and not x = 0 with the sign bit set (RFC 8032 §5.1.3).
bool on_curve(const BIGNUM* y, bool sign, const BIGNUM* p, BN_CTX* ctx) {
  BIGNUM *d = BN_CTX_get(ctx), *y2 = BN_CTX_get(ctx), *num = BN_CTX_get(ctx), *den = BN_CTX_get(ctx),
         *e = BN_CTX_get(ctx), *t = BN_CTX_get(ctx);
  // d = −121665 / 121666
  bool ok = t && BN_set_word(t, 121666) && BN_mod_inverse(d, t, p, ctx) && BN_set_word(t, 121665) &&
            BN_mod_mul(d, d, t, p, ctx) && BN_mod_sub(d, p, d, p, ctx) && BN_mod_sqr(y2, y, p, ctx) &&
            BN_mod_sub(num, y2, BN_value_one(), p, ctx) && BN_mod_mul(den, d, y2, p, ctx) &&
            BN_mod_add(den, den, BN_value_one(), p, ctx) && BN_mod_inverse(den, den, p, ctx) &&
            BN_mod_mul(num, num, den, p, ctx);
  if (!ok) return false;
  if (BN_is_zero(num)) return !sign;
  // Euler's criterion: num^((p−1)/2) = 1 for a nonzero square.
  return BN_copy(e, p) && BN_sub_word(e, 1) && BN_rshift1(e, e) && BN_mod_exp(t, num, e, p, ctx) && BN_is_one(t);
}

}  // namespace

bool ed25519_public_to_x25519(const uint8_t pub[kKeyLen], uint8_t out[kKeyLen]) {
  // Public values only, off the data path: OpenSSL's BIGNUM arithmetic is simpler to trust than a
  // hand-written field implementation.
  uint8_t be[kKeyLen];
  for (size_t i = 0; i < kKeyLen; i++) be[i] = pub[kKeyLen - 1 - i];
  const bool sign = be[0] & 0x80;
  be[0] &= 0x7f;
  BN_CTX* ctx = BN_CTX_new();
  if (!ctx) return false;
  BN_CTX_start(ctx);
  BIGNUM *p = BN_CTX_get(ctx), *y = BN_CTX_get(ctx), *num = BN_CTX_get(ctx), *den = BN_CTX_get(ctx);
  bool ok = den && BN_set_word(p, 1) && BN_lshift(p, p, 255) && BN_sub_word(p, 19) &&
            BN_bin2bn(be, kKeyLen, y) && BN_cmp(y, p) < 0 && on_curve(y, sign, p, ctx) &&
            BN_add(num, y, BN_value_one()) && BN_mod_sub(den, BN_value_one(), y, p, ctx) && !BN_is_zero(den) &&
            BN_mod_inverse(den, den, p, ctx) && BN_mod_mul(num, num, den, p, ctx) &&
            BN_bn2lebinpad(num, out, kKeyLen) == static_cast<int>(kKeyLen);
  BN_CTX_end(ctx);
  BN_CTX_free(ctx);
  return ok;
}

}  // namespace gw::crypto
