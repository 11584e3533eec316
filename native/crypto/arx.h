// The ARX stream-cipher cores OpenSSL 3.0 does not expose: HChaCha20 (for XChaCha20) and Salsa20 with
// HSalsa20 (for NaCl's XSalsa20, which Yggdrasil 0.5 sessions use). Not on the WireGuard data path, but
// Salsa20 is the planetary data path's cipher: on x86-64 it runs 4 blocks at a time with SSE2 (baseline)
// or 8 with AVX2 (when the CPU has it); elsewhere, and for short inputs, one portable block at a time.
#pragma once

#include "crypto.h"

namespace gw::crypto {

void hchacha20(const uint8_t key[32], const uint8_t nonce[16], uint8_t out[32]);
void hsalsa20(const uint8_t key[32], const uint8_t nonce[16], uint8_t out[32]);

// out = in XOR the Salsa20 keystream for (key, 8-byte nonce), starting at 64-byte block `counter`.
// in == out is allowed; other overlaps are not.
void salsa20_xor(const uint8_t key[32], const uint8_t nonce[8], uint64_t counter, const uint8_t* in, uint8_t* out,
                 size_t len);

enum class Salsa20Impl : uint8_t { kPortable, kSse2, kAvx2 };
// What salsa20_xor uses: the fastest this CPU supports, unless GRIDWIRE_SALSA20=portable|sse2|avx2 (read
// once) asks for a slower one, so a benchmark can show what the vector code buys.
Salsa20Impl salsa20_impl();
bool salsa20_supported(Salsa20Impl impl);
// salsa20_xor with a given implementation (tests compare them); impl must be supported.
void salsa20_xor_with(Salsa20Impl impl, const uint8_t key[32], const uint8_t nonce[8], uint64_t counter,
                      const uint8_t* in, uint8_t* out, size_t len);

}  // namespace gw::crypto
