// The Salsa20 double round, written once for scalar words and for GCC/Clang vector types (one block per
// lane), so the portable and the multi-block keystream share the same round code.
#pragma once

#include <cstdint>

namespace gw::crypto::salsa {

// V&, never V by value: a 256-bit vector passed by value in a function compiled without AVX would
// change the calling convention. Always inlined, so the caller's target decides the instructions.
template <class V>
[[gnu::always_inline]] inline void quarter(V& a, V& b, V& c, V& d) {
  V t = a + d;
  b ^= (t << 7) | (t >> 25);
  t = b + a;
  c ^= (t << 9) | (t >> 23);
  t = c + b;
  d ^= (t << 13) | (t >> 19);
  t = d + c;
  a ^= (t << 18) | (t >> 14);
}

template <class V>
[[gnu::always_inline]] inline void rounds(V x[16]) {
  for (int i = 0; i < 10; i++) {
    quarter(x[0], x[4], x[8], x[12]);
    quarter(x[5], x[9], x[13], x[1]);
    quarter(x[10], x[14], x[2], x[6]);
    quarter(x[15], x[3], x[7], x[11]);
    quarter(x[0], x[1], x[2], x[3]);
    quarter(x[5], x[6], x[7], x[4]);
    quarter(x[10], x[11], x[8], x[9]);
    quarter(x[15], x[12], x[13], x[14]);
  }
}

}  // namespace gw::crypto::salsa
