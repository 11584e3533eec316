// Transport receive path (b receiving from a): header/index lookup, AEAD, replay window, inner-packet
// trimming. Mode 2 seals the payload as a genuine inner packet so the IP parsing runs on attacker bytes.
#include "fuzz_common.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) { return gw::crypto::init() == nullptr ? 0 : 1; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  wgfuzz::Fixture f;
  if (size > 0 && (data[0] & 3) == 2) {
    size_t n = size - 1;
    std::vector<uint8_t> buf(gw::wg::kTransportHeaderSize + n + gw::wg::kTransportTailroom);
    if (n) std::memcpy(buf.data() + gw::wg::kTransportHeaderSize, data + 1, n);
    gw::wg::Packet p{buf.data(), n, buf.size()};
    f.a.dev->encrypt(*f.ab, &p, 1, f.net.now, f.a);
    f.net.pump();
    return 0;
  }
  wgfuzz::run(f, f.b, f.a.addr, f.transport_ab, data, size);
  // Whatever happened, the session must still work.
  size_t before = f.b.delivered.size();
  f.a.send_ip(*f.ab, 40, 9);
  f.net.pump();
  if (f.b.delivered.size() != before + 1) __builtin_trap();
  return 0;
}
