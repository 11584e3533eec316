#include "arx_simd.h"

#if defined(__x86_64__)

#include <immintrin.h>

#include "salsa_core.h"

namespace gw::crypto::salsa {

namespace {

typedef uint32_t V4 __attribute__((vector_size(16)));
typedef uint32_t V8 __attribute__((vector_size(32)));

// Word i of every lane's block: the state word, except the 64-bit counter, which is counter + lane.
template <class V>
[[gnu::always_inline]] inline void spread(const uint32_t s[16], const V& lanes, V x[16]) {
  V low = V{} + s[8] + lanes;
  V high = V{} + s[9] - reinterpret_cast<V>(low < lanes);  // a lane whose low word wrapped carries (true is -1)
  for (int i = 0; i < 16; i++) x[i] = i == 8 ? low : i == 9 ? high : V{} + s[i];
}

// Keystream words of 4 blocks as in → the 4 blocks' 16-byte rows, transposed.
[[gnu::always_inline]] inline void transpose4(__m128i& a, __m128i& b, __m128i& c, __m128i& d) {
  __m128i t0 = _mm_unpacklo_epi32(a, b), t1 = _mm_unpacklo_epi32(c, d);
  __m128i t2 = _mm_unpackhi_epi32(a, b), t3 = _mm_unpackhi_epi32(c, d);
  a = _mm_unpacklo_epi64(t0, t1);
  b = _mm_unpackhi_epi64(t0, t1);
  c = _mm_unpacklo_epi64(t2, t3);
  d = _mm_unpackhi_epi64(t2, t3);
}

[[gnu::always_inline]] inline void xor16(const uint8_t* in, uint8_t* out, __m128i k) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out),
                   _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in)), k));
}

__attribute__((target("avx2"))) inline void transpose4x2(__m256i& a, __m256i& b, __m256i& c, __m256i& d) {
  __m256i t0 = _mm256_unpacklo_epi32(a, b), t1 = _mm256_unpacklo_epi32(c, d);
  __m256i t2 = _mm256_unpackhi_epi32(a, b), t3 = _mm256_unpackhi_epi32(c, d);
  a = _mm256_unpacklo_epi64(t0, t1);
  b = _mm256_unpackhi_epi64(t0, t1);
  c = _mm256_unpacklo_epi64(t2, t3);
  d = _mm256_unpackhi_epi64(t2, t3);
}

__attribute__((target("avx2"))) inline void xor32(const uint8_t* in, uint8_t* out, __m256i k) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out),
                      _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(in)), k));
}

// 4 blocks' words after the rounds (x) and before (x0) → out = in XOR the 4 keystream blocks, in order.
[[gnu::always_inline]] inline void emit4(const V4 x[16], const V4 x0[16], const uint8_t* in, uint8_t* out) {
  __m128i k[16];
  for (int i = 0; i < 16; i++) k[i] = reinterpret_cast<__m128i>(x[i] + x0[i]);
  for (int g = 0; g < 4; g++) {
    transpose4(k[4 * g], k[4 * g + 1], k[4 * g + 2], k[4 * g + 3]);
    for (int b = 0; b < 4; b++) xor16(in + 64 * b + 16 * g, out + 64 * b + 16 * g, k[4 * g + b]);
  }
}

// The same for 8 blocks. Within each 128-bit half the 4x4 transpose gives rows of blocks 0-3 (low) and
// 4-7 (high); pairing the rows of word groups 0/1 and 2/3 makes 32-byte halves of each block.
__attribute__((target("avx2"))) inline void emit8(const V8 x[16], const V8 x0[16], const uint8_t* in, uint8_t* out) {
  __m256i k[16];
  for (int i = 0; i < 16; i++) k[i] = reinterpret_cast<__m256i>(x[i] + x0[i]);
  for (int g = 0; g < 4; g++) transpose4x2(k[4 * g], k[4 * g + 1], k[4 * g + 2], k[4 * g + 3]);
  for (int b = 0; b < 4; b++) {
    const uint8_t* i0 = in + 64 * b;
    uint8_t* o0 = out + 64 * b;
    xor32(i0, o0, _mm256_permute2x128_si256(k[b], k[4 + b], 0x20));
    xor32(i0 + 32, o0 + 32, _mm256_permute2x128_si256(k[8 + b], k[12 + b], 0x20));
    xor32(i0 + 256, o0 + 256, _mm256_permute2x128_si256(k[b], k[4 + b], 0x31));
    xor32(i0 + 288, o0 + 288, _mm256_permute2x128_si256(k[8 + b], k[12 + b], 0x31));
  }
}

// Whole steps of N blocks, one per lane of V. Inlined into its caller, whose target decides the ISA.
template <class V, size_t N, void (*Emit)(const V*, const V*, const uint8_t*, uint8_t*)>
[[gnu::always_inline]] inline size_t xor_steps(const uint32_t state[16], const V& lanes, const uint8_t* in,
                                               uint8_t* out, size_t len) {
  uint32_t s[16];
  for (int i = 0; i < 16; i++) s[i] = state[i];
  uint64_t counter = uint64_t(s[8]) | uint64_t(s[9]) << 32;
  size_t done = 0;
  for (; len - done >= 64 * N; done += 64 * N, counter += N) {
    s[8] = uint32_t(counter);
    s[9] = uint32_t(counter >> 32);
    V x[16], x0[16];
    spread(s, lanes, x0);
    for (int i = 0; i < 16; i++) x[i] = x0[i];
    rounds(x);
    Emit(x, x0, in + done, out + done);
  }
  return done;
}

}  // namespace

size_t xor_sse2(const uint32_t state[16], const uint8_t* in, uint8_t* out, size_t len) {
  return xor_steps<V4, 4, emit4>(state, V4{0, 1, 2, 3}, in, out, len);
}

__attribute__((target("avx2"))) size_t xor_avx2(const uint32_t state[16], const uint8_t* in, uint8_t* out,
                                                 size_t len) {
  return xor_steps<V8, 8, emit8>(state, V8{0, 1, 2, 3, 4, 5, 6, 7}, in, out, len);
}

bool cpu_has_avx2() { return __builtin_cpu_supports("avx2"); }

}  // namespace gw::crypto::salsa

#endif
