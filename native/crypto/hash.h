// BLAKE2s (WireGuard's hash, MACs and KDF) and BLAKE2b-512 (Yggdrasil's link and multicast handshakes).
#pragma once

#include "crypto.h"

namespace gw::crypto {

// BLAKE2s-256 over the concatenation of the parts.
bool blake2s(const Slice* parts, size_t n, uint8_t out[kBlake2sLen]);
bool blake2s(const uint8_t* in, size_t len, uint8_t out[kBlake2sLen]);
// Keyed BLAKE2s with 16-byte output (WireGuard mac1/mac2); key_len 1..32.
bool blake2s_mac16(const uint8_t* key, size_t key_len, const uint8_t* in, size_t len, uint8_t out[kMacLen]);
// HMAC-BLAKE2s-256 (RFC 2104 over BLAKE2s) over the concatenation of the parts.
bool hmac_blake2s(const uint8_t* key, size_t key_len, const Slice* parts, size_t n, uint8_t out[kBlake2sLen]);
inline bool hmac_blake2s(const uint8_t key[kBlake2sLen], const Slice* parts, size_t n, uint8_t out[kBlake2sLen]) {
  return hmac_blake2s(key, kBlake2sLen, parts, n, out);
}
// Noise KDF with BLAKE2s: n outputs (1..3) of 32 bytes each into out[0..32n). WireGuard's chaining key
// is 32 bytes; other lengths follow HMAC's rules.
bool kdf(const uint8_t* chaining_key, size_t ck_len, const uint8_t* in, size_t len, size_t n, uint8_t* out);
inline bool kdf(const uint8_t chaining_key[kBlake2sLen], const uint8_t* in, size_t len, size_t n, uint8_t* out) {
  return kdf(chaining_key, kBlake2sLen, in, len, n, out);
}

// BLAKE2b-512, keyed when key_len > 0 (key_len ≤ 64); unkeyed otherwise, which equals an empty key.
bool blake2b512(const uint8_t* key, size_t key_len, const uint8_t* in, size_t len, uint8_t out[kBlake2bLen]);

// SHA-512 (Ed25519 key expansion).
bool sha512(const uint8_t* in, size_t len, uint8_t out[64]);

}  // namespace gw::crypto
