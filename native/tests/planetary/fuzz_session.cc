// libFuzzer target for the session and payload layers. A fixture with a live A↔B session is rebuilt for
// every input (so a crash reproduces from the input alone, up to the random session keys).
//
// Input: byte 0 selects the mode, the rest is the payload.
//   0: payload is a session packet from A to B, as is
//   1: payload is XORed into a captured A→B Traffic packet (valid when all zero)
//   2: payload is XORed into a captured A→B Init, given to B and to a node without a session
//   3: payload is a message A sends over the session; B decrypts it into its Payload (from_network)
//   4: payload is an IPv6 packet from B's TUN (from_tun), then A's key becomes known (flush)
//   5: payload is handed to B's Payload::from_network directly
#include <cstring>
#include <deque>
#include <vector>

#include "../../core/planetary/payload.h"
#include "../../core/planetary/session.h"
#include "../../crypto/crypto.h"

using namespace gw::planetary;

namespace {

using Bytes = std::vector<uint8_t>;

struct Host : PayloadSink, SessionSink {
  uint8_t seed[32];
  Sessions sessions;
  Payload payload;
  std::deque<std::pair<Key, Bytes>>* wire;
  uint64_t now = 10 * kSecond;
  bool capture_only = false;

  Host(uint8_t id, std::deque<std::pair<Key, Bytes>>* w)
      : seed{id}, sessions(seed, SessionsConfig{1700000000 * kSecond}), payload(sessions.self(), 1280), wire(w) {}
  void send_message(const Key& dest, uint8_t* msg, size_t len) override { sessions.send(dest, msg, len, now, *this); }
  void lookup(const Key&) override {}
  void write_tun(const uint8_t*, size_t) override {}
  void send_traffic(const Key&, const uint8_t* data, size_t len) override {
    wire->push_back({sessions.self(), Bytes(data, data + len)});
  }
  void deliver(const Key& source, const uint8_t* msg, size_t len) override {
    if (!capture_only) payload.from_network(source, msg, len, now, *this);
  }
};

struct Fixture {
  std::deque<std::pair<Key, Bytes>> wire;
  Host a{1, &wire}, b{2, &wire};
  Bytes init_ab, traffic_ab;

  void pump() {
    while (!wire.empty()) {
      auto [from, data] = wire.front();
      wire.pop_front();
      Host& to = from == a.sessions.self() ? b : a;
      to.sessions.receive(from, data.data(), data.size(), to.now, to);
    }
  }
  Bytes capture(Host& from, const Key& to, const char* msg) {
    from.sessions.send_copy(to, reinterpret_cast<const uint8_t*>(msg), std::strlen(msg), from.now, from);
    Bytes out = wire.back().second;
    wire.clear();
    return out;
  }
  Fixture() {
    a.capture_only = b.capture_only = true;
    const uint8_t hello[] = {kPayloadProto, 0};
    a.sessions.send_copy(b.sessions.self(), hello, sizeof hello, a.now, a);
    init_ab = wire.front().second;
    pump();
    b.sessions.send_copy(a.sessions.self(), hello, sizeof hello, b.now, b);
    pump();
    traffic_ab = capture(a, b.sessions.self(), "\x01 captured");
    a.capture_only = b.capture_only = false;
    a.payload.path_found(b.sessions.self(), a.now, a);
  }
};

Bytes xored(Bytes base, const uint8_t* data, size_t len) {
  for (size_t i = 0; i < len && i < base.size(); i++) base[i] ^= data[i];
  if (len > base.size()) base.insert(base.end(), data + base.size(), data + len);
  return base;
}

void run(uint8_t mode, const uint8_t* data, size_t len) {
  Fixture f;
  const Key a = f.a.sessions.self();
  Host& b = f.b;
  switch (mode % 6) {
    case 0:
      b.sessions.receive(a, data, len, b.now, b);
      break;
    case 1: {
      Bytes p = xored(f.traffic_ab, data, len);
      b.sessions.receive(a, p.data(), p.size(), b.now, b);
      break;
    }
    case 2: {
      Bytes p = xored(f.init_ab, data, len);
      b.sessions.receive(a, p.data(), p.size(), b.now, b);
      Host fresh(3, &f.wire);
      fresh.sessions.receive(a, p.data(), p.size(), fresh.now, fresh);
      break;
    }
    case 3:
      f.a.sessions.send_copy(b.sessions.self(), data, len, f.a.now, f.a);
      break;
    case 4: {
      Bytes buf(kPayloadHeadroom + len);
      std::memcpy(buf.data() + kPayloadHeadroom, data, len);
      b.payload.from_tun(buf.data() + kPayloadHeadroom, len, b.now, b);
      b.payload.path_found(a, b.now, b);
      break;
    }
    default:
      b.payload.from_network(a, data, len, b.now, b);
      break;
  }
  f.pump();
  b.now += 180 * kSecond;
  b.sessions.tick(b.now, b);
  b.payload.tick(b.now);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) { return gw::crypto::init() ? 1 : 0; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > 70000) return 0;
  run(data[0], data + 1, size - 1);
  return 0;
}
