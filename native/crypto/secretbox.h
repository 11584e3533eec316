// NaCl crypto_secretbox / crypto_box (XSalsa20-Poly1305), the cipher of Yggdrasil 0.5 sessions.
// Layout as libsodium's "easy" API and Go's nacl/box: 16-byte Poly1305 tag, then the ciphertext.
#pragma once

#include "crypto.h"

namespace gw::crypto {

constexpr size_t kBoxOverhead = 16;

// out (len + 16 bytes) = tag ‖ ciphertext. Buffers may overlap in any way; in == out + 16 is the
// in-place layout (plaintext behind 16 bytes of headroom).
bool secretbox_seal(const uint8_t key[kKeyLen], const uint8_t nonce[kXNonceLen], const uint8_t* in, size_t len,
                    uint8_t* out);
// in holds tag ‖ ciphertext (len + 16 bytes); out receives len bytes (any overlap). False if the tag
// is wrong, and then out is untouched.
bool secretbox_open(const uint8_t key[kKeyLen], const uint8_t nonce[kXNonceLen], const uint8_t* in, size_t len,
                    uint8_t* out);
// crypto_box_beforenm: HSalsa20(X25519(priv, pub), 0).
bool box_beforenm(const uint8_t peer_pub[kKeyLen], const uint8_t priv[kKeyLen], uint8_t shared[kKeyLen]);

}  // namespace gw::crypto
