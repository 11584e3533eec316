// libFuzzer target for Link::on_bytes. The first input byte picks the phase (remote preamble still
// expected, or handshake already done) and seeds the chunking; the rest is the peer's byte stream.
// Checks the link's contract: frames handed out are non-empty, ≤ 131070 bytes, never Dummy/KeepAlive,
// never more bytes than were fed, close() at most once and nothing after it.
#include <cstdlib>
#include <cstring>

#include "../../core/planetary/link.h"
#include "../../crypto/crypto.h"
#include "../../crypto/curve.h"

using namespace gw::planetary;

namespace {

struct Sink : LinkSink {
  size_t frame_bytes = 0;
  int closes = 0;
  bool up_seen = false;
  void write(Bytes, Bytes) override {}
  void up(const Key&, uint8_t) override { up_seen = true; }
  void frame(Bytes f) override {
    if (closes || f.empty() || f.size() > kMaxFrameLen || f[0] == kFrameDummy || f[0] == kFrameKeepAlive) abort();
    frame_bytes += f.size();
  }
  void close(LinkError, const char*) override {
    if (++closes > 1) abort();
  }
};

LinkIdentity make_identity(uint8_t fill) {
  LinkIdentity id;
  std::memset(id.seed, fill, sizeof id.seed);
  gw::crypto::ed25519_public(id.seed, id.public_key.data());
  return id;
}

struct Fixture {
  LinkIdentity self, peer;
  uint8_t peer_preamble[kPreambleLen];
  Fixture() {
    if (gw::crypto::init() != nullptr) abort();
    self = make_identity(1);
    peer = make_identity(2);
    build_preamble(peer, 0, {}, peer_preamble);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture fx;
  if (size == 0) return 0;
  uint8_t mode = data[0];
  data++, size--;
  Sink sink;
  Link link(fx.self, {}, LinkDirection::kInbound);
  link.start(0, sink);
  if (mode & 1) {
    link.on_bytes(fx.peer_preamble, kPreambleLen, 0, sink);
    if (!sink.up_seen) abort();
  }
  size_t chunk = 1 + (mode >> 1), fed = 0;
  uint64_t now = 0;
  while (fed < size) {
    size_t n = chunk < size - fed ? chunk : size - fed;
    bool alive = link.on_bytes(data + fed, n, now, sink);
    if (alive != !link.is_closed() || (!alive && sink.closes != 1)) abort();
    fed += n;
    now += 400 * kMillisecond;
    link.tick(now, sink);
  }
  if (sink.frame_bytes > size) abort();
  return 0;
}
