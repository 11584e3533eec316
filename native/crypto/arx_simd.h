// Multi-block Salsa20 for x86-64 (internal to arx.cc and its tests): the same keystream as the
// portable code, several blocks per step, one block per vector lane.
#pragma once

#include <cstddef>
#include <cstdint>

namespace gw::crypto::salsa {

#if defined(__x86_64__)
// state: the 16 input words of the first block (words 8, 9 the 64-bit block counter). XORs in with
// the keystream into out (in == out allowed, no other overlap) for whole steps only — 256 bytes
// (SSE2, 4 blocks) or 512 bytes (AVX2, 8 blocks) — and returns the bytes done. The caller advances
// the counter and finishes the tail.
size_t xor_sse2(const uint32_t state[16], const uint8_t* in, uint8_t* out, size_t len);
size_t xor_avx2(const uint32_t state[16], const uint8_t* in, uint8_t* out, size_t len);
bool cpu_has_avx2();
#endif

}  // namespace gw::crypto::salsa
