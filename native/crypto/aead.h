// ChaCha20-Poly1305 (RFC 8439) and XChaCha20-Poly1305.
#pragma once

#include "crypto.h"

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace gw::crypto {

// A keyed ChaCha20-Poly1305 context for one direction, owned by one thread at a time. With OpenSSL's
// cipher cores at hand (Node exports them) a packet costs two cipher calls and one MAC; otherwise the
// key stays in an EVP context and each packet only re-inits the nonce. No allocation per packet.
class ChaChaPoly {
 public:
  enum Direction { kSeal, kOpen };
  ChaChaPoly() = default;
  ~ChaChaPoly();
  ChaChaPoly(const ChaChaPoly&) = delete;
  ChaChaPoly& operator=(const ChaChaPoly&) = delete;

  bool set_key(const uint8_t key[kKeyLen], Direction dir);
  void clear();  // frees the context, which cleanses the key
  bool has_key() const { return keyed_; }

  // Encrypts data[0..len) in place and writes the tag to tag[0..16).
  bool seal(const uint8_t nonce[kChaChaNonceLen], const uint8_t* ad, size_t ad_len, uint8_t* data, size_t len,
            uint8_t tag[kTagLen]);
  // Decrypts in place; false (data unspecified) when the tag does not authenticate.
  bool open(const uint8_t nonce[kChaChaNonceLen], const uint8_t* ad, size_t ad_len, uint8_t* data, size_t len,
            const uint8_t tag[kTagLen]);

 private:
  EVP_CIPHER_CTX* ctx_ = nullptr;  // the EVP path only
  uint32_t key_[8] = {};           // the direct path only
  bool keyed_ = false;
  Direction dir_ = kSeal;
};

// WireGuard's nonce: 32 zero bits then the 64-bit counter, little-endian.
void wg_nonce(uint64_t counter, uint8_t nonce[kChaChaNonceLen]);

// One-shot forms for handshake messages and tests. They use a per-thread context re-keyed per call.
// out may equal in; out receives len bytes of ciphertext followed by the 16-byte tag.
bool chacha_seal(const uint8_t key[kKeyLen], const uint8_t nonce[kChaChaNonceLen], const uint8_t* ad,
                 size_t ad_len, const uint8_t* in, size_t len, uint8_t* out);
// in holds len bytes of ciphertext followed by the tag; out receives len bytes of plaintext.
bool chacha_open(const uint8_t key[kKeyLen], const uint8_t nonce[kChaChaNonceLen], const uint8_t* ad,
                 size_t ad_len, const uint8_t* in, size_t len, uint8_t* out);

// XChaCha20-Poly1305 (WireGuard cookie replies): HChaCha20 subkey, then ChaCha20-Poly1305 with the last
// 8 nonce bytes. Same buffer conventions as chacha_seal/chacha_open.
bool xchacha_seal(const uint8_t key[kKeyLen], const uint8_t nonce[kXNonceLen], const uint8_t* ad, size_t ad_len,
                  const uint8_t* in, size_t len, uint8_t* out);
bool xchacha_open(const uint8_t key[kKeyLen], const uint8_t nonce[kXNonceLen], const uint8_t* ad, size_t ad_len,
                  const uint8_t* in, size_t len, uint8_t* out);

}  // namespace gw::crypto
