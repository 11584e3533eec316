// In-memory network of WireGuard devices for tests and fuzzers: a fake clock, deterministic RNGs, and a
// datagram queue between nodes. Nothing here touches sockets or the real clock.
#pragma once

#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "../core/wireguard/device.h"
#include "../crypto/curve.h"

namespace wgtest {

using namespace gw::wg;

// xorshift64*: reproducible "randomness" for ephemerals, indices, nonces and jitter.
struct TestRng {
  uint64_t state;
  std::mutex mu;  // the device calls the Rng from any thread
  static bool fill(void* ctx, uint8_t* buf, size_t len) {
    auto* r = static_cast<TestRng*>(ctx);
    std::lock_guard<std::mutex> lock(r->mu);
    for (size_t i = 0; i < len; ++i) {
      r->state ^= r->state >> 12;
      r->state ^= r->state << 25;
      r->state ^= r->state >> 27;
      buf[i] = static_cast<uint8_t>((r->state * 2685821657736338717ull) >> 56);
    }
    return true;
  }
};

inline Endpoint make_endpoint(uint8_t last_octet, uint16_t port) {
  Endpoint e;
  e.family = 4;
  e.addr[0] = 192, e.addr[1] = 0, e.addr[2] = 2, e.addr[3] = last_octet;
  e.port = port;
  return e;
}

struct Datagram {
  Endpoint from, to;
  std::vector<uint8_t> bytes;
};

struct Node;

struct Net {
  uint64_t now = 1000 * kSecond;  // arbitrary non-zero monotonic origin
  std::deque<Datagram> wire;
  std::vector<Node*> nodes;
  // Return false to drop a datagram in flight (loss, capture).
  std::function<bool(Datagram&)> filter;
  void pump(size_t max = 10000);
};

struct Node : Sink {
  Net& net;
  TestRng rng;
  Endpoint addr;
  uint8_t priv[32], pub[32];
  std::unique_ptr<Device> dev;
  std::vector<std::vector<uint8_t>> delivered;
  std::vector<std::pair<Peer*, PeerEvent>> events;
  size_t sent_initiations = 0, sent_keepalives = 0, sent_cookies = 0;
  std::vector<uint64_t> initiation_times;
  bool allow_all_sources = true;

  // parallel: crypto workers for big batches (not owned), as the engine's CryptoWorkers.
  Node(Net& n, uint8_t id, const TimerConstants& tc = TimerConstants(), ParallelCrypto* parallel = nullptr)
      : net(n), rng{0x9e3779b97f4a7c15ull * id, {}} {
    addr = make_endpoint(id, static_cast<uint16_t>(51820 + id));
    TestRng::fill(&rng, priv, 32);
    gw::crypto::x25519_clamp(priv);
    gw::crypto::x25519_public(priv, pub);
    DeviceConfig cfg;
    cfg.timers = tc;
    cfg.rng.fill = &TestRng::fill;
    cfg.rng.ctx = &rng;
    cfg.wall_offset_ns = 1700000000ll * 1000000000ll;
    cfg.parallel = parallel;
    dev = std::make_unique<Device>(cfg);
    dev->set_private_key(priv);
    net.nodes.push_back(this);
  }

  PeerRef connect(Node& other) {
    PeerRef p = dev->add_peer(other.pub);
    dev->set_endpoint(*p, other.addr);
    return p;
  }

  void send(Peer*, const Endpoint& to, const uint8_t* data, size_t len) override {
    MessageType t = classify(data, len);
    if (t == MessageType::kInitiation) ++sent_initiations, initiation_times.push_back(net.now);
    if (t == MessageType::kCookieReply) ++sent_cookies;
    if (t == MessageType::kTransport && len == kTransportMinSize) ++sent_keepalives;
    net.wire.push_back({addr, to, std::vector<uint8_t>(data, data + len)});
  }
  bool allowed_source(Peer&, const uint8_t*, size_t) override { return allow_all_sources; }
  void deliver(Peer&, uint8_t* packet, size_t len) override { delivered.emplace_back(packet, packet + len); }
  void event(Peer& p, PeerEvent e) override { events.emplace_back(&p, e); }

  size_t count_events(PeerEvent e) const {
    size_t n = 0;
    for (auto& ev : events) n += ev.second == e;
    return n;
  }

  // Encrypts an IPv4 packet of `total` bytes (tag byte at offset 20) to peer. Returns packets sent.
  size_t send_ip(Peer& peer, size_t total = 84, uint8_t tag = 0) {
    std::vector<uint8_t> buf(kTransportHeaderSize + total + kTransportTailroom);
    uint8_t* ip = buf.data() + kTransportHeaderSize;
    ip[0] = 0x45;
    ip[2] = static_cast<uint8_t>(total >> 8), ip[3] = static_cast<uint8_t>(total);
    if (total > 20) ip[20] = tag;
    Packet p{buf.data(), total, buf.size()};
    return dev->encrypt(peer, &p, 1, net.now, *this);
  }

  void tick() { dev->tick(net.now, *this); }
};

inline void Net::pump(size_t max) {
  for (size_t i = 0; i < max && !wire.empty(); ++i) {
    Datagram d = std::move(wire.front());
    wire.pop_front();
    if (filter && !filter(d)) continue;
    for (Node* n : nodes) {
      if (n->addr.same_remote(d.to)) n->dev->receive(d.from, d.bytes.data(), d.bytes.size(), now, *n);
    }
  }
}

// Advances the fake clock to each deadline in turn (pumping the network after each tick) up to `until`.
inline void run_until(Net& net, uint64_t until) {
  for (;;) {
    uint64_t next = UINT64_MAX;
    for (Node* n : net.nodes) next = std::min(next, n->dev->next_deadline());
    if (next > until) break;
    if (next > net.now) net.now = next;
    for (Node* n : net.nodes) n->tick();
    net.pump();
  }
  net.now = until;
  for (Node* n : net.nodes) n->tick();
  net.pump();
}

}  // namespace wgtest
