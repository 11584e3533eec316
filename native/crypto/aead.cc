#include "aead.h"

#include <openssl/evp.h>

#include <cstring>

#include "arx.h"
#include "provider.h"

namespace gw::crypto {

ChaChaPoly::~ChaChaPoly() { clear(); }

void ChaChaPoly::clear() {
  EVP_CIPHER_CTX_free(ctx_);
  ctx_ = nullptr;
}

bool ChaChaPoly::set_key(const uint8_t key[kKeyLen], Direction dir) {
  if (!ctx_ && !(ctx_ = EVP_CIPHER_CTX_new())) return false;
  dir_ = dir;
  static const uint8_t zero_nonce[kChaChaNonceLen] = {};
  if (EVP_CipherInit_ex2(ctx_, algo::chacha20_poly1305, key, zero_nonce, dir == kSeal, nullptr) != 1) {
    clear();
    return false;
  }
  return true;
}

bool ChaChaPoly::seal(const uint8_t nonce[kChaChaNonceLen], const uint8_t* ad, size_t ad_len, uint8_t* data,
                      size_t len, uint8_t tag[kTagLen]) {
  int out = 0;
  if (!ctx_ || dir_ != kSeal || EVP_CipherInit_ex2(ctx_, nullptr, nullptr, nonce, 1, nullptr) != 1) return false;
  if (ad_len && EVP_CipherUpdate(ctx_, nullptr, &out, ad, static_cast<int>(ad_len)) != 1) return false;
  if (len && EVP_CipherUpdate(ctx_, data, &out, data, static_cast<int>(len)) != 1) return false;
  if (EVP_CipherFinal_ex(ctx_, data + len, &out) != 1) return false;
  return EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_GET_TAG, kTagLen, tag) == 1;
}

bool ChaChaPoly::open(const uint8_t nonce[kChaChaNonceLen], const uint8_t* ad, size_t ad_len, uint8_t* data,
                      size_t len, const uint8_t tag[kTagLen]) {
  int out = 0;
  if (!ctx_ || dir_ != kOpen || EVP_CipherInit_ex2(ctx_, nullptr, nullptr, nonce, 0, nullptr) != 1) return false;
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
