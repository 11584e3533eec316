#include "aead.h"

#include <openssl/evp.h>

#include <cstring>

#include "arx.h"
#include "poly1305.h"
#include "provider.h"
#include "../util/env.h"

// OpenSSL's own ChaCha20 core, which Node exports: sealing a small packet through EVP costs more in
// parameter lookups (string compares) and re-initialisation than in the cipher itself, and the data
// path seals every packet. The system libcrypto the native tests link does not export it: the weak
// reference resolves to null there and the EVP path runs, so both paths stay tested against the same
// vectors (and the addon's differential test covers the direct one). Signature unchanged since OpenSSL
// 1.1.0 (include/crypto/chacha.h). The direct path's MAC is poly1305(), which picks its own code.
extern "C" {
void ChaCha20_ctr32(unsigned char* out, const unsigned char* inp, size_t len, const unsigned int key[8],
                    const unsigned int counter[4]) __attribute__((weak));
}

namespace gw::crypto {
namespace {

// GRIDWIRE_AEAD=evp forces the EVP path (the bench's switch).
bool direct_aead() {
  static const bool on = ChaCha20_ctr32 && !env_is("GRIDWIRE_AEAD", "evp");
  return on;
}

// RFC 8439 2.8: the one-time Poly1305 key is keystream block 0; the MAC covers the AD and the
// ciphertext, each padded to 16 bytes, then both lengths.
bool poly_tag(const uint32_t key[8], const uint32_t nonce_counter[4], const uint8_t* ad, size_t ad_len,
              const uint8_t* ct, size_t len, uint8_t tag[kTagLen]) {
  static const uint8_t zeros[16] = {};
  uint8_t otk[32] = {};
  ChaCha20_ctr32(otk, otk, sizeof otk, key, nonce_counter);
  uint8_t lengths[16];
  for (int i = 0; i < 8; i++) {
    lengths[i] = static_cast<uint8_t>(uint64_t(ad_len) >> (8 * i));
    lengths[8 + i] = static_cast<uint8_t>(uint64_t(len) >> (8 * i));
  }
  const Slice parts[] = {{ad, ad_len}, {zeros, (16 - ad_len % 16) % 16}, {ct, len}, {zeros, (16 - len % 16) % 16},
                         {lengths, sizeof lengths}};
  bool ok = poly1305(otk, parts, 5, tag);
  wipe(otk, sizeof otk);
  return ok;
}

void counter_block(const uint8_t nonce[kChaChaNonceLen], uint32_t block, uint32_t out[4]) {
  out[0] = block;
  std::memcpy(out + 1, nonce, kChaChaNonceLen);  // little-endian words, as the cipher reads them
}

}  // namespace

ChaChaPoly::~ChaChaPoly() { clear(); }

void ChaChaPoly::clear() {
  EVP_CIPHER_CTX_free(ctx_);
  ctx_ = nullptr;
  wipe(key_, sizeof key_);
  keyed_ = false;
}

bool ChaChaPoly::set_key(const uint8_t key[kKeyLen], Direction dir) {
  dir_ = dir;
  if (direct_aead()) {
    std::memcpy(key_, key, sizeof key_);
    return keyed_ = true;
  }
  if (!ctx_ && !(ctx_ = EVP_CIPHER_CTX_new())) return false;
  static const uint8_t zero_nonce[kChaChaNonceLen] = {};
  if (EVP_CipherInit_ex2(ctx_, algo::chacha20_poly1305, key, zero_nonce, dir == kSeal, nullptr) != 1) {
    clear();
    return false;
  }
  return keyed_ = true;
}

bool ChaChaPoly::seal(const uint8_t nonce[kChaChaNonceLen], const uint8_t* ad, size_t ad_len, uint8_t* data,
                      size_t len, uint8_t tag[kTagLen]) {
  if (!keyed_ || dir_ != kSeal) return false;
  if (!ctx_) {
    uint32_t c[4];
    counter_block(nonce, 1, c);
    ChaCha20_ctr32(data, data, len, key_, c);
    c[0] = 0;
    return poly_tag(key_, c, ad, ad_len, data, len, tag);
  }
  int out = 0;
  if (EVP_CipherInit_ex2(ctx_, nullptr, nullptr, nonce, 1, nullptr) != 1) return false;
  if (ad_len && EVP_CipherUpdate(ctx_, nullptr, &out, ad, static_cast<int>(ad_len)) != 1) return false;
  if (len && EVP_CipherUpdate(ctx_, data, &out, data, static_cast<int>(len)) != 1) return false;
  if (EVP_CipherFinal_ex(ctx_, data + len, &out) != 1) return false;
  return EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_GET_TAG, kTagLen, tag) == 1;
}

bool ChaChaPoly::open(const uint8_t nonce[kChaChaNonceLen], const uint8_t* ad, size_t ad_len, uint8_t* data,
                      size_t len, const uint8_t tag[kTagLen]) {
  if (!keyed_ || dir_ != kOpen) return false;
  if (!ctx_) {
    // Authenticated before anything is decrypted: a forgery costs one MAC and leaves data untouched.
    uint32_t c[4];
    counter_block(nonce, 0, c);
    uint8_t want[kTagLen];
    if (!poly_tag(key_, c, ad, ad_len, data, len, want) || !equal(want, tag, kTagLen)) return false;
    c[0] = 1;
    ChaCha20_ctr32(data, data, len, key_, c);
    return true;
  }
  int out = 0;
  if (EVP_CipherInit_ex2(ctx_, nullptr, nullptr, nonce, 0, nullptr) != 1) return false;
  if (EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_SET_TAG, kTagLen, const_cast<uint8_t*>(tag)) != 1) return false;
  if (ad_len && EVP_CipherUpdate(ctx_, nullptr, &out, ad, static_cast<int>(ad_len)) != 1) return false;
  if (len && EVP_CipherUpdate(ctx_, data, &out, data, static_cast<int>(len)) != 1) return false;
  return EVP_CipherFinal_ex(ctx_, data + len, &out) == 1;
}

void wg_nonce(uint64_t counter, uint8_t nonce[kChaChaNonceLen]) {
  std::memset(nonce, 0, 4);
  for (int i = 0; i < 8; i++) nonce[4 + i] = static_cast<uint8_t>(counter >> (8 * i));
}

namespace {

// Per-thread one-shot contexts, re-keyed per call: handshakes and tests are not the data path.
ChaChaPoly& thread_ctx(ChaChaPoly::Direction dir) {
  thread_local ChaChaPoly sealer, opener;
  return dir == ChaChaPoly::kSeal ? sealer : opener;
}

}  // namespace

bool chacha_seal(const uint8_t key[kKeyLen], const uint8_t nonce[kChaChaNonceLen], const uint8_t* ad,
                 size_t ad_len, const uint8_t* in, size_t len, uint8_t* out) {
  ChaChaPoly& c = thread_ctx(ChaChaPoly::kSeal);
  if (out != in && len) std::memmove(out, in, len);  // an empty Buffer may have a null pointer
  return c.set_key(key, ChaChaPoly::kSeal) && c.seal(nonce, ad, ad_len, out, len, out + len);
}

bool chacha_open(const uint8_t key[kKeyLen], const uint8_t nonce[kChaChaNonceLen], const uint8_t* ad,
                 size_t ad_len, const uint8_t* in, size_t len, uint8_t* out) {
  ChaChaPoly& c = thread_ctx(ChaChaPoly::kOpen);
  uint8_t tag[kTagLen];
  std::memcpy(tag, in + len, kTagLen);
  if (out != in && len) std::memmove(out, in, len);  // an empty Buffer may have a null pointer
  if (c.set_key(key, ChaChaPoly::kOpen) && c.open(nonce, ad, ad_len, out, len, tag)) return true;
  wipe(out, len);  // never hand out unauthenticated plaintext
  return false;
}

namespace {

void xchacha_derive(const uint8_t key[kKeyLen], const uint8_t nonce[kXNonceLen], uint8_t subkey[kKeyLen],
                    uint8_t nonce12[kChaChaNonceLen]) {
  hchacha20(key, nonce, subkey);
  std::memset(nonce12, 0, 4);
  std::memcpy(nonce12 + 4, nonce + 16, 8);
}

}  // namespace

bool xchacha_seal(const uint8_t key[kKeyLen], const uint8_t nonce[kXNonceLen], const uint8_t* ad, size_t ad_len,
                  const uint8_t* in, size_t len, uint8_t* out) {
  uint8_t subkey[kKeyLen], nonce12[kChaChaNonceLen];
  xchacha_derive(key, nonce, subkey, nonce12);
  bool ok = chacha_seal(subkey, nonce12, ad, ad_len, in, len, out);
  wipe(subkey, sizeof subkey);
  return ok;
}

bool xchacha_open(const uint8_t key[kKeyLen], const uint8_t nonce[kXNonceLen], const uint8_t* ad, size_t ad_len,
                  const uint8_t* in, size_t len, uint8_t* out) {
  uint8_t subkey[kKeyLen], nonce12[kChaChaNonceLen];
  xchacha_derive(key, nonce, subkey, nonce12);
  bool ok = chacha_open(subkey, nonce12, ad, ad_len, in, len, out);
  wipe(subkey, sizeof subkey);
  return ok;
}

}  // namespace gw::crypto
