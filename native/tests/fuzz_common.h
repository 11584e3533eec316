// Shared libFuzzer fixture: three in-memory devices where a↔b have a live session and c has an initiation
// pending towards b. It captures one real message of each type so inputs can be applied as mutations of a
// valid message (reaching the AEAD/state code) as well as raw datagrams (reaching the decoders).
// Rebuilt for every input so a crash reproduces from its input alone.
//
// Input layout: byte 0 selects the mode, the rest is the payload.
//   mode 0: payload is the datagram, as is
//   mode 1: payload is XORed into the captured template (valid message when the payload is all zero)
//   mode 2: template header, payload as the body, mac1 recomputed (handshake types) / payload sealed as the
//           inner packet of a genuine transport message (transport)
//   mode 3: mode 1 while the receiver is under load (mac2 / cookie path)
#pragma once

#include <cstring>
#include <vector>

#include "../core/wireguard/cookie.h"
#include "../crypto/hash.h"
#include "wg_testnet.h"

namespace wgfuzz {

using namespace wgtest;

struct Fixture {
  Net net;
  Node a{net, 1}, b{net, 2}, c{net, 3};
  PeerRef ab, ba, cb, bc;
  std::vector<uint8_t> transport_ab, init_cb, cookie_bc, resp_bc;

  std::vector<Datagram> capture(const std::function<void()>& fn) {
    std::vector<Datagram> got;
    net.filter = [&](Datagram& d) {
      got.push_back(d);
      return false;
    };
    fn();
    net.pump();
    net.filter = nullptr;
    return got;
  }

  Fixture() {
    ab = a.connect(b), ba = b.connect(a), cb = c.connect(b), bc = b.connect(c);
    a.send_ip(*ab, 84, 1);
    net.pump();
    transport_ab = capture([&] { a.send_ip(*ab, 60, 2); }).at(0).bytes;
    init_cb = capture([&] { c.send_ip(*cb, 60, 3); }).at(0).bytes;
    b.dev->set_handshake_backlog(1000, net.now);
    cookie_bc = capture([&] { deliver(b, c.addr, init_cb); }).at(0).bytes;
    net.now += 2 * kSecond;
    resp_bc = capture([&] { deliver(b, c.addr, init_cb); }).at(0).bytes;
  }

  void deliver(Node& to, const Endpoint& from, std::vector<uint8_t> msg) {
    to.dev->receive(from, msg.data(), msg.size(), net.now, to);
    net.pump();
  }
};

inline std::vector<uint8_t> xor_into(const std::vector<uint8_t>& tmpl, const uint8_t* p, size_t n) {
  std::vector<uint8_t> out = tmpl;
  for (size_t i = 0; i < n && i < out.size(); ++i) out[i] ^= p[i];
  return out;
}

// Template header (type + first index), fuzzed body, valid mac1 for `receiver_pub`.
inline std::vector<uint8_t> with_mac1(const std::vector<uint8_t>& tmpl, const uint8_t* p, size_t n,
                                      const uint8_t receiver_pub[32]) {
  std::vector<uint8_t> out = tmpl;
  size_t body = out.size() - 32 - 8;
  for (size_t i = 0; i < body; ++i) out[8 + i] = i < n ? p[i] : 0;
  uint8_t key[32];
  gw::wg::derive_mac1_key(receiver_pub, key);
  gw::crypto::blake2s_mac16(key, 32, out.data(), out.size() - 32, out.data() + out.size() - 32);
  return out;
}

// Runs one input against `to` using `tmpl` as the template.
inline void run(Fixture& f, Node& to, const Endpoint& from, const std::vector<uint8_t>& tmpl, const uint8_t* data,
                size_t size) {
  if (size == 0) return;
  const uint8_t* p = data + 1;
  size_t n = size - 1;
  switch (data[0] & 3) {
    case 0: f.deliver(to, from, std::vector<uint8_t>(p, p + n)); break;
    case 1: f.deliver(to, from, xor_into(tmpl, p, n)); break;
    case 2: f.deliver(to, from, with_mac1(tmpl, p, n, to.pub)); break;
    case 3:
      to.dev->set_handshake_backlog(1000, f.net.now);
      f.deliver(to, from, xor_into(tmpl, p, n));
      break;
  }
}

}  // namespace wgfuzz
