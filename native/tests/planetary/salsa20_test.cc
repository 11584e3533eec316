// The vector Salsa20 paths (SSE2, AVX2) against the portable one: every length up to a few vector steps
// and some long ones, counters whose low word wraps inside a step, in place and out of place. The
// portable keystream itself is pinned by the NaCl and @noble vectors of the crypto tests.
#include <cstdint>
#include <vector>

#include "../../crypto/arx.h"
#include "../harness.h"

using gw::crypto::Salsa20Impl;

namespace {

std::vector<uint8_t> pattern(size_t len, uint8_t seed) {
  std::vector<uint8_t> v(len);
  for (size_t i = 0; i < len; i++) v[i] = uint8_t(i * 13 + seed);
  return v;
}

}  // namespace

TEST(salsa20_vector_paths_match_portable) {
  auto key = pattern(32, 1), nonce = pattern(8, 5);
  const uint64_t counters[] = {0, 1, 0xfffffffcull, 0xfffffff9ull, 0x1fffffffbull};
  std::vector<size_t> lengths;
  for (size_t len = 0; len <= 1100; len++) lengths.push_back(len);
  for (size_t len : {4095u, 65535u, 65536u + 17}) lengths.push_back(len);
  int checked = 0;
  for (Salsa20Impl impl : {Salsa20Impl::kSse2, Salsa20Impl::kAvx2}) {
    if (!gw::crypto::salsa20_supported(impl)) continue;
    for (uint64_t counter : counters) {
      for (size_t len : lengths) {
        auto in = pattern(len, uint8_t(len)), want = std::vector<uint8_t>(len), got = want;
        gw::crypto::salsa20_xor_with(Salsa20Impl::kPortable, key.data(), nonce.data(), counter, in.data(), want.data(), len);
        gw::crypto::salsa20_xor_with(impl, key.data(), nonce.data(), counter, in.data(), got.data(), len);
        CHECK(got == want);
        gw::crypto::salsa20_xor_with(impl, key.data(), nonce.data(), counter, in.data(), in.data(), len);
        CHECK(in == want);
        checked++;
      }
    }
  }
  // Every x86-64 CPU has SSE2; elsewhere there is nothing to compare.
#if defined(__x86_64__)
  CHECK(checked > 0);
#endif
}
