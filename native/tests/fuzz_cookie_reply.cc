// Cookie reply consume path (c receiving from b), followed by a retransmit that may carry mac2.
#include "fuzz_common.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) { return gw::crypto::init() == nullptr ? 0 : 1; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  wgfuzz::Fixture f;
  wgfuzz::run(f, f.c, f.b.addr, f.cookie_bc, data, size);
  wgtest::run_until(f.net, f.net.now + 6 * gw::wg::kSecond);
  return 0;
}
