// Handshake initiation consume path (b receiving from c).
#include "fuzz_common.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) { return gw::crypto::init() == nullptr ? 0 : 1; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  wgfuzz::Fixture f;
  wgfuzz::run(f, f.b, f.c.addr, f.init_cb, data, size);
  return 0;
}
