// Handshake response consume path (c, with an initiation pending, receiving from b).
#include "fuzz_common.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) { return gw::crypto::init() == nullptr ? 0 : 1; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  wgfuzz::Fixture f;
  wgfuzz::run(f, f.c, f.b.addr, f.resp_bc, data, size);
  return 0;
}
