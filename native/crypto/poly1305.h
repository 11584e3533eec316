// Poly1305 (RFC 8439 §2.5), the MAC of both AEADs (WireGuard's ChaCha20-Poly1305, the planetary
// sessions' XSalsa20-Poly1305), with the code that computes it chosen here for both.
//
// Three codes can: portable 64-bit code (poly1305.cc, one or two pages); OpenSSL's own core
// (Poly1305_Init/Update/Final, vector code, exported by Node's binary but not by the system libcrypto
// the native tests link); and EVP_MAC, the same core behind the EVP and provider layers. On this
// project's VM (bench/poly1305.ts) the core beats EVP_MAC at every length, warm by 30-110 ns and with
// cold caches by about 4-6 µs, so EVP_MAC is only the fallback. Against the portable code the core
// wins warm from 128-256 bytes and with L1/L2 cold from 256-512, but its first touch costs 2-3 µs more:
// with every cache cold the portable code stays faster up to 4-8 KiB. Below kShortMac bytes the
// portable code is used, where that cold saving outweighs the warm loss unless nearly every call is warm.
#pragma once

#include "crypto.h"

namespace gw::crypto {

enum class Poly1305Route {
  kChosen,    // portable below kShortMac bytes, then the exported core, else EVP_MAC (see the switch)
  kPortable,  // one part of any length, or parts totalling at most kShortMac bytes (gathered on the stack)
  kExported,  // fails where the core is not exported
  kEvp,
};

constexpr size_t kShortMac = 512;

// The tag of the concatenation of parts under the one-time key (r ‖ s). GRIDWIRE_POLY1305 (read once)
// changes kChosen: `openssl` sends every message to OpenSSL (the core, else EVP_MAC), `evp` every
// message to EVP_MAC, so the bench can show what the portable and the exported route each buy.
bool poly1305(const uint8_t key[32], const Slice* parts, size_t n, uint8_t tag[16],
              Poly1305Route route = Poly1305Route::kChosen);

}  // namespace gw::crypto
