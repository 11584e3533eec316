// One-shot Poly1305 (RFC 8439 §2.5) for short messages, in portable 64-bit code.
//
// Why not OpenSSL's: a lone small packet (a ping, a request) usually finds the caches cold, and
// EVP_MAC_init/update/final then walks the EVP and provider layers spread over many pages: about 13 µs
// on this project's VM against about 0.4 µs warm. This code sits on one or two pages. OpenSSL's vector
// Poly1305 stays the choice for long messages, where its speed matters more than its first-touch cost.
#pragma once

#include "crypto.h"

namespace gw::crypto {

void poly1305_short(const uint8_t key[32], const uint8_t* in, size_t len, uint8_t tag[16]);

}  // namespace gw::crypto
