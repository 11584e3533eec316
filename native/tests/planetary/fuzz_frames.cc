// libFuzzer target: a converged three-node line (0 root, 1 middle, 2 leaf) where node 1 receives the
// input as a frame from node 2, then routes whatever it triggers. Byte 0 picks how the input is used:
//   even: the input (minus byte 0) is the frame, as is
//   odd:  the frame type is 2 + byte0 % 8 and the rest is its body
// Rebuilt per input so a crash reproduces from the input alone.
#include <cstdint>
#include <cstdio>

#include "../../crypto/crypto.h"
#include "router_sim.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool ready = [] { return gw::crypto::init() == nullptr; }();
  if (!ready || size == 0) return 0;
  rtest::SimNet net(3, 99);
  gw::planetary::LinkId up = net.connect(2, 1);
  net.connect(1, 0);
  net.run(4);
  rtest::Bytes frame;
  if (data[0] & 1) frame.push_back(static_cast<uint8_t>(2 + (data[0] >> 1) % 8));
  frame.insert(frame.end(), data + 1, data + size);
  gw::planetary::LinkId at_1 = net.ends.at(up).other;
  net.r(1).handle_frame(at_1, frame.data(), frame.size(), net.now, *net.nodes[1]);
  net.pump();
  net.run(2);
  return 0;
}
