// The ARX stream-cipher cores OpenSSL 3.0 does not expose: HChaCha20 (for XChaCha20) and Salsa20 with
// HSalsa20 (for NaCl's XSalsa20, which Yggdrasil 0.5 sessions use). Portable C++; not on the WireGuard
// data path.
#pragma once

#include "crypto.h"

namespace gw::crypto {

void hchacha20(const uint8_t key[32], const uint8_t nonce[16], uint8_t out[32]);
void hsalsa20(const uint8_t key[32], const uint8_t nonce[16], uint8_t out[32]);

// XORs data with the Salsa20 keystream for (key, 8-byte nonce), starting at 64-byte block `counter`.
void salsa20_xor(const uint8_t key[32], const uint8_t nonce[8], uint64_t counter, uint8_t* data, size_t len);

}  // namespace gw::crypto
