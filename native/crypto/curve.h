// Curve25519 in both forms: X25519 (WireGuard, Yggdrasil sessions) and Ed25519 (Yggdrasil identities),
// and the Ed25519 → X25519 conversion Yggdrasil's session layer relies on.
#pragma once

#include "crypto.h"

namespace gw::crypto {

// Clamps a random 32-byte scalar into an X25519 private key, as `wg genkey` does.
void x25519_clamp(uint8_t key[kKeyLen]);
bool x25519_public(const uint8_t priv[kKeyLen], uint8_t pub[kKeyLen]);
// False for a peer key of small order (all-zero shared secret), which Noise must reject.
bool x25519(const uint8_t priv[kKeyLen], const uint8_t peer_pub[kKeyLen], uint8_t shared[kKeyLen]);

bool ed25519_public(const uint8_t seed[kEd25519SeedLen], uint8_t pub[kKeyLen]);
bool ed25519_sign(const uint8_t seed[kEd25519SeedLen], const uint8_t* msg, size_t len, uint8_t sig[kEd25519SigLen]);
bool ed25519_verify(const uint8_t pub[kKeyLen], const uint8_t* msg, size_t len, const uint8_t sig[kEd25519SigLen]);

// X25519 private key from an Ed25519 seed: SHA-512(seed)[0..32), clamped.
bool ed25519_seed_to_x25519(const uint8_t seed[kEd25519SeedLen], uint8_t out[kKeyLen]);
// Montgomery u = (1 + y) / (1 − y) mod p from an Ed25519 public key; false if it does not encode a point
// on the curve (y ≥ p, no x for y, x = 0 with the sign bit set) or y = 1. Small-order points are
// accepted, as Go's edwards25519 (Yggdrasil's) accepts them.
bool ed25519_public_to_x25519(const uint8_t pub[kKeyLen], uint8_t out[kKeyLen]);

}  // namespace gw::crypto
