// Two (or three) in-memory Devices with a fake clock: handshakes, data, timers, rekeying, cookies, roaming.
#include <algorithm>
#include <cstring>

#include "../crypto/hash.h"
#include "harness.h"
#include "wg_testnet.h"

using namespace wgtest;

namespace {

struct Pair {
  Net net;
  Node a, b;
  PeerRef ab, ba;  // a's handle for b, b's handle for a
  explicit Pair(const TimerConstants& tc = TimerConstants()) : a(net, 1, tc), b(net, 2, tc) {
    ab = a.connect(b);
    ba = b.connect(a);
  }
  // a sends one data packet, the handshake runs, the staged packet arrives at b.
  void handshake_from_a() {
    a.send_ip(*ab, 84, 1);
    net.pump();
  }
};

uint8_t tag_of(const std::vector<uint8_t>& pkt) { return pkt.size() > 20 ? pkt[20] : 0; }

}  // namespace

TEST(device_handshake_initiated_by_a) {
  Pair p;
  CHECK_EQ(p.a.send_ip(*p.ab, 84, 1), 0u);  // staged: no session yet
  CHECK_EQ(p.a.sent_initiations, 1u);
  p.net.pump();
  CHECK_EQ(p.b.delivered.size(), 1u);
  CHECK(p.b.delivered.size() == 1 && p.b.delivered[0].size() == 84 && tag_of(p.b.delivered[0]) == 1);
  CHECK_EQ(p.a.count_events(PeerEvent::kHandshakeComplete), 1u);
  CHECK_EQ(p.b.count_events(PeerEvent::kHandshakeComplete), 1u);  // b confirmed on the first data packet
  CHECK_EQ(p.b.send_ip(*p.ba, 100, 2), 1u);
  p.net.pump();
  CHECK(p.a.delivered.size() == 1 && p.a.delivered[0].size() == 100 && tag_of(p.a.delivered[0]) == 2);
  CHECK_EQ(p.ab->stats().handshakes_completed, 1u);
  CHECK_EQ(p.ab->stats().tx_bytes, 148u + 128u);  // initiation + one 84-byte packet padded to 96
  CHECK_EQ(p.ba->stats().rx_bytes, 148u + 128u);
  CHECK(p.ab->stats().last_handshake_unix_ns != 0);
}

// Bytes count every message on the wire; packets only transport messages carrying an inner packet,
// keepalives those carrying none; a message that fails authentication counts nowhere.
TEST(device_traffic_counters) {
  Pair p;
  p.handshake_from_a();  // a: initiation (148) + the staged 84-byte packet (128); b: response (92)
  std::vector<std::vector<uint8_t>> bufs(3, std::vector<uint8_t>(16 + 40 + kTransportTailroom));
  std::vector<Packet> batch;
  for (auto& b : bufs) b[16] = 0x45, b[16 + 3] = 40, batch.push_back({b.data(), 40, b.size()});
  CHECK_EQ(p.a.dev->encrypt(*p.ab, batch.data(), batch.size(), p.net.now, p.a), 3u);  // 3 × 80 on the wire
  p.a.dev->send_keepalive(*p.ab, p.net.now, p.a);                                     // 32
  p.net.pump();
  std::vector<Datagram> captured;
  p.net.filter = [&](Datagram& d) { return captured.push_back(d), false; };
  p.a.send_ip(*p.ab, 40, 9);  // 80
  p.net.pump();
  p.net.filter = nullptr;
  CHECK_EQ(captured.size(), 1u);
  if (captured.size() != 1) return;
  auto copy = captured[0].bytes;
  CHECK(p.b.dev->receive(captured[0].from, copy.data(), copy.size(), p.net.now, p.b) == RxResult::kDelivered);
  CHECK(p.b.dev->receive(captured[0].from, captured[0].bytes.data(), captured[0].bytes.size(), p.net.now, p.b) ==
        RxResult::kDropped);  // the replay
  run_until(p.net, p.net.now + 10 * kSecond);  // b's passive keepalive: 32
  CHECK_EQ(p.b.sent_keepalives, 1u);
  p.b.send_ip(*p.ba, 60, 1);  // 96
  p.net.pump();

  const PeerStats atx = p.ab->stats(), brx = p.ba->stats();
  CHECK_EQ(atx.tx_bytes, 148u + 128u + 3 * 80u + 32u + 80u);
  CHECK_EQ(atx.tx_packets, 5u);
  CHECK_EQ(atx.tx_keepalives, 1u);
  CHECK_EQ(brx.rx_bytes, atx.tx_bytes);
  CHECK_EQ(brx.rx_packets, 5u);
  CHECK_EQ(brx.rx_keepalives, 1u);
  CHECK_EQ(brx.tx_bytes, 92u + 32u + 96u);
  CHECK_EQ(brx.tx_packets, 1u);
  CHECK_EQ(brx.tx_keepalives, 1u);
  CHECK_EQ(atx.rx_bytes, brx.tx_bytes);
  CHECK_EQ(atx.rx_packets, 1u);
  CHECK_EQ(atx.rx_keepalives, 1u);
}

TEST(device_handshake_initiated_by_b) {
  Pair p;
  p.b.send_ip(*p.ba, 60, 7);
  p.net.pump();
  CHECK(p.a.delivered.size() == 1 && tag_of(p.a.delivered[0]) == 7);
  CHECK_EQ(p.a.sent_initiations, 0u);
  p.a.send_ip(*p.ab, 60, 8);
  p.net.pump();
  CHECK(p.b.delivered.size() == 1 && tag_of(p.b.delivered[0]) == 8);
}

TEST(device_initiator_confirms_with_keepalive) {
  Pair p;
  p.a.dev->send_keepalive(*p.ab, p.net.now, p.a);  // no session: starts a handshake instead
  p.net.pump();
  CHECK_EQ(p.a.sent_keepalives, 1u);  // key confirmation after the response
  CHECK_EQ(p.b.count_events(PeerEvent::kHandshakeComplete), 1u);
  CHECK(p.b.delivered.empty());
}

TEST(device_batch_encrypt_in_place) {
  Pair p;
  p.handshake_from_a();
  std::vector<std::vector<uint8_t>> bufs(8);
  std::vector<Packet> pkts;
  for (size_t i = 0; i < bufs.size(); ++i) {
    bufs[i].assign(16 + 200 + kTransportTailroom, 0);
    uint8_t* ip = bufs[i].data() + 16;
    ip[0] = 0x45, ip[3] = static_cast<uint8_t>(100 + i), ip[20] = static_cast<uint8_t>(i);
    pkts.push_back({bufs[i].data(), 100 + i, bufs[i].size()});
  }
  Packet small{bufs[0].data(), 100, 100};  // no room for header + tag
  CHECK_EQ(p.a.dev->encrypt(*p.ab, pkts.data(), pkts.size(), p.net.now, p.a), 8u);
  CHECK_EQ(pkts[3].len, 16u + 112u + 16u);
  CHECK_EQ(p.a.dev->encrypt(*p.ab, &small, 1, p.net.now, p.a), 0u);
  CHECK_EQ(p.a.dev->drop_count(DropReason::kBufferTooSmall), 1u);
  p.net.pump();
  CHECK_EQ(p.b.delivered.size(), 9u);
  for (size_t i = 1; i < p.b.delivered.size(); ++i) CHECK_EQ(p.b.delivered[i].size(), 100u + (i - 1));
}

TEST(device_staged_packets_flushed_in_order) {
  Pair p;
  p.net.filter = [](Datagram&) { return false; };  // lose the first initiation
  for (uint8_t i = 0; i < 5; ++i) p.a.send_ip(*p.ab, 40, i);
  p.net.pump();
  p.net.filter = nullptr;
  run_until(p.net, p.net.now + 6 * kSecond);  // retransmit
  CHECK_EQ(p.b.delivered.size(), 5u);
  for (size_t i = 0; i < p.b.delivered.size(); ++i) CHECK_EQ(tag_of(p.b.delivered[i]), i);
  // Overflow drops the oldest.
  Pair q;
  q.net.filter = [](Datagram&) { return false; };
  for (int i = 0; i < 130; ++i) q.a.send_ip(*q.ab, 40, static_cast<uint8_t>(i));
  CHECK_EQ(q.a.dev->drop_count(DropReason::kStagedOverflow), 2u);
}

TEST(device_rekey_after_time_only_initiator) {
  Pair p;
  p.handshake_from_a();
  uint64_t t0 = p.net.now;
  // Keep traffic flowing both ways; the responder never rekeys by time.
  for (uint64_t t = t0; t < t0 + 119 * kSecond; t += kSecond) {
    p.net.now = t;
    p.b.send_ip(*p.ba, 40, 1);
    p.a.send_ip(*p.ab, 40, 1);
    p.net.pump();
  }
  CHECK_EQ(p.a.sent_initiations, 1u);
  CHECK_EQ(p.b.sent_initiations, 0u);
  p.net.now = t0 + 121 * kSecond;
  p.b.send_ip(*p.ba, 40, 1);
  p.net.pump();
  CHECK_EQ(p.b.sent_initiations, 0u);
  p.a.send_ip(*p.ab, 40, 1);
  p.net.pump();
  CHECK_EQ(p.a.sent_initiations, 2u);
  CHECK_EQ(p.ab->stats().handshakes_completed, 2u);
  size_t before = p.b.delivered.size();
  p.a.send_ip(*p.ab, 40, 9);
  p.b.send_ip(*p.ba, 40, 9);
  p.net.pump();
  CHECK_EQ(p.b.delivered.size(), before + 1);
  CHECK_EQ(p.b.dev->drop_count(DropReason::kDecrypt), 0u);
}

TEST(device_rekey_after_messages_scaled) {
  TimerConstants tc;
  tc.rekey_after_messages = 10;
  tc.reject_after_messages = 20;
  Pair p(tc);
  p.handshake_from_a();  // counter 0 used
  p.net.now += 6 * kSecond;  // past the 5 s spacing between handshakes
  for (int i = 0; i < 9; ++i) p.a.send_ip(*p.ab, 40, 1);
  CHECK_EQ(p.a.sent_initiations, 1u);  // next counter 10 is not > 10 yet
  p.a.send_ip(*p.ab, 40, 1);
  CHECK_EQ(p.a.sent_initiations, 2u);
  p.net.pump();
  CHECK_EQ(p.ab->stats().handshakes_completed, 2u);
  // The responder also rekeys by messages (not only by time), and its limit is enforced.
  Pair q(tc);
  q.handshake_from_a();
  q.net.now += 6 * kSecond;
  q.net.filter = [](Datagram& d) { return d.bytes[0] == 4; };  // handshakes lost, data passes
  size_t sent = 0;
  for (int i = 0; i < 25; ++i) sent += q.b.send_ip(*q.ba, 40, 1);
  CHECK_EQ(sent, 20u);  // counters 0..19, then staged
  CHECK(q.b.sent_initiations >= 1u);
}

TEST(device_reject_after_time) {
  Pair p;
  p.handshake_from_a();
  uint64_t t0 = p.net.now;
  std::vector<Datagram> captured;
  p.net.filter = [&](Datagram& d) {
    if (d.bytes[0] == 4) captured.push_back(d);
    return false;
  };
  p.net.now = t0 + 179 * kSecond;
  p.a.send_ip(*p.ab, 40, 3);
  p.net.pump();
  p.net.filter = nullptr;
  CHECK_EQ(captured.size(), 1u);
  p.net.now = t0 + 180 * kSecond;
  p.b.dev->receive(captured[0].from, captured[0].bytes.data(), captured[0].bytes.size(), p.net.now, p.b);
  CHECK_EQ(p.b.dev->drop_count(DropReason::kKeypairExpired), 1u);
  // b's session is expired too: data is staged and b initiates.
  CHECK_EQ(p.b.send_ip(*p.ba, 40, 4), 0u);
  CHECK_EQ(p.b.sent_initiations, 1u);
  p.net.pump();
  CHECK(!p.a.delivered.empty() && tag_of(p.a.delivered.back()) == 4);
}

TEST(device_retransmit_jitter_and_give_up) {
  Pair p;
  p.net.filter = [](Datagram&) { return false; };  // b is unreachable
  uint64_t t0 = p.net.now;
  p.a.send_ip(*p.ab, 40, 1);
  run_until(p.net, t0 + 200 * kSecond);
  const auto& times = p.a.initiation_times;
  CHECK_EQ(times.size(), 20u);  // 1 + 19 retries, then give up
  bool spacing_ok = true;
  for (size_t i = 1; i < times.size(); ++i) {
    uint64_t d = times[i] - times[i - 1];
    spacing_ok &= d >= 5 * kSecond && d < 5 * kSecond + 334 * kMillisecond;
  }
  CHECK(spacing_ok);
  CHECK(times.back() - t0 >= 95 * kSecond && times.back() - t0 < 102 * kSecond);
  CHECK_EQ(p.a.count_events(PeerEvent::kHandshakeGaveUp), 1u);
  CHECK_EQ(p.a.dev->drop_count(DropReason::kStagedDropped), 1u);
}

TEST(device_passive_keepalive) {
  Pair p;
  p.handshake_from_a();
  uint64_t t0 = p.net.now;
  size_t k0 = p.b.sent_keepalives;
  run_until(p.net, t0 + 9 * kSecond);
  CHECK_EQ(p.b.sent_keepalives, k0);
  run_until(p.net, t0 + 10 * kSecond);
  CHECK_EQ(p.b.sent_keepalives, k0 + 1);  // b got data and had nothing to say for 10 s
  run_until(p.net, t0 + 60 * kSecond);
  CHECK_EQ(p.b.sent_keepalives, k0 + 1);  // only once
  CHECK_EQ(p.a.sent_keepalives, 0u);
}

TEST(device_new_handshake_when_unanswered) {
  Pair p;
  p.handshake_from_a();
  uint64_t t0 = p.net.now;
  p.net.filter = [](Datagram&) { return false; };  // b goes silent
  p.net.now = t0 + kSecond;
  p.a.send_ip(*p.ab, 40, 1);
  // The timer was armed by the first data packet (t0), not re-armed by the second.
  run_until(p.net, t0 + 15 * kSecond - 1);
  CHECK_EQ(p.a.sent_initiations, 1u);
  run_until(p.net, t0 + 15 * kSecond + 334 * kMillisecond);
  CHECK_EQ(p.a.sent_initiations, 2u);  // keepalive_timeout + rekey_timeout (+ jitter) after the data
}

TEST(device_persistent_keepalive) {
  Pair p;
  p.handshake_from_a();
  uint64_t t0 = p.net.now;
  p.a.dev->set_persistent_keepalive(*p.ab, 25, t0, p.a);  // 0 → 25 sends one at once
  CHECK_EQ(p.a.sent_keepalives, 1u);
  p.net.pump();
  // b's passive keepalive at t0+10 is an authenticated traversal that re-arms the interval: 0, 35, 60, 85, 110.
  run_until(p.net, t0 + 109 * kSecond);
  CHECK_EQ(p.a.sent_keepalives, 4u);
  run_until(p.net, t0 + 110 * kSecond);
  CHECK_EQ(p.a.sent_keepalives, 5u);
  CHECK_EQ(p.ab->persistent_keepalive(), 25u);
  p.a.dev->set_persistent_keepalive(*p.ab, 0, p.net.now, p.a);
  run_until(p.net, t0 + 200 * kSecond);
  CHECK_EQ(p.a.sent_keepalives, 5u);
}

TEST(device_persistent_keepalive_starts_handshake) {
  Pair p;
  p.a.dev->set_persistent_keepalive(*p.ab, 10, p.net.now, p.a);
  CHECK_EQ(p.a.sent_initiations, 1u);
  p.net.pump();
  CHECK_EQ(p.b.count_events(PeerEvent::kHandshakeComplete), 1u);
}

TEST(device_zero_keys_after_3x_reject) {
  Pair p;
  p.handshake_from_a();
  uint64_t t0 = p.net.now;
  run_until(p.net, t0 + 539 * kSecond);
  CHECK_EQ(p.a.count_events(PeerEvent::kKeysZeroed), 0u);
  run_until(p.net, t0 + 541 * kSecond);
  CHECK_EQ(p.a.count_events(PeerEvent::kKeysZeroed), 1u);
  CHECK_EQ(p.b.count_events(PeerEvent::kKeysZeroed), 1u);
  // With no keys left, sending starts a fresh handshake.
  size_t n = p.a.sent_initiations;
  CHECK_EQ(p.a.send_ip(*p.ab, 40, 5), 0u);
  CHECK_EQ(p.a.sent_initiations, n + 1);
  p.net.pump();
  CHECK(!p.b.delivered.empty() && tag_of(p.b.delivered.back()) == 5);
}

TEST(device_reordered_and_replayed_transport) {
  Pair p;
  p.handshake_from_a();
  std::vector<Datagram> captured;
  p.net.filter = [&](Datagram& d) {
    captured.push_back(d);
    return false;
  };
  for (uint8_t i = 0; i < 50; ++i) p.a.send_ip(*p.ab, 40, i);
  p.net.pump();
  p.net.filter = nullptr;
  std::reverse(captured.begin(), captured.end());
  size_t before = p.b.delivered.size();
  for (auto& d : captured) {
    auto copy = d.bytes;
    p.b.dev->receive(d.from, copy.data(), copy.size(), p.net.now, p.b);
  }
  CHECK_EQ(p.b.delivered.size(), before + 50);
  for (auto& d : captured) p.b.dev->receive(d.from, d.bytes.data(), d.bytes.size(), p.net.now, p.b);
  // The buffers were decrypted in place above only for the copies; the originals are replays.
  CHECK_EQ(p.b.dev->drop_count(DropReason::kReplay), 50u);
  CHECK_EQ(p.b.delivered.size(), before + 50);
}

TEST(device_cookie_under_load) {
  Pair p;
  p.b.dev->set_handshake_backlog(1000, p.net.now);
  p.a.send_ip(*p.ab, 40, 1);
  p.net.pump();
  CHECK_EQ(p.b.sent_cookies, 1u);
  CHECK_EQ(p.b.dev->drop_count(DropReason::kCookieReplySent), 1u);
  CHECK(p.b.delivered.empty());
  CHECK_EQ(p.a.dev->drop_count(DropReason::kCookieReplyInvalid), 0u);
  // Still under load at the retransmit; the retry carries mac2 and is answered.
  uint64_t retry_at = p.net.now + 5 * kSecond + 334 * kMillisecond;
  p.b.dev->set_handshake_backlog(1000, retry_at - kMillisecond);
  run_until(p.net, retry_at);
  CHECK_EQ(p.b.sent_cookies, 1u);
  CHECK_EQ(p.a.sent_initiations, 2u);
  CHECK(p.b.delivered.size() == 1 && tag_of(p.b.delivered[0]) == 1);
  CHECK(p.b.dev->under_load(p.net.now - 1));
}

TEST(device_rate_limited_under_load) {
  Pair p;
  p.b.dev->set_handshake_backlog(1000, p.net.now);
  p.a.send_ip(*p.ab, 40, 1);
  p.net.pump();  // cookie reply stored by a
  std::vector<Datagram> captured;
  p.net.filter = [&](Datagram& d) {
    captured.push_back(d);
    return false;
  };
  run_until(p.net, p.net.now + 5 * kSecond + 334 * kMillisecond);  // retry with mac2, captured
  CHECK_EQ(captured.size(), 1u);
  p.b.dev->set_handshake_backlog(1000, p.net.now);
  for (int i = 0; i < 8; ++i) {
    auto copy = captured[0].bytes;
    p.b.dev->receive(captured[0].from, copy.data(), copy.size(), p.net.now, p.b);
  }
  CHECK_EQ(p.b.dev->drop_count(DropReason::kCookieReplySent), 1u);  // only the first, mac2-less one
  CHECK_EQ(p.b.dev->drop_count(DropReason::kHandshakeReplay), 4u);  // burst of 5: one accepted, 4 replays
  CHECK_EQ(p.b.dev->drop_count(DropReason::kRateLimited), 3u);
}

TEST(device_tampered_messages) {
  Pair p;
  std::vector<Datagram> seen;
  int flip_type = 0;
  p.net.filter = [&](Datagram& d) {
    seen.push_back(d);
    if (d.bytes[0] == flip_type) {
      d.bytes[d.bytes.size() / 2] ^= 0x40;
      flip_type = 0;  // tamper once
    }
    return true;
  };
  flip_type = 1;
  p.a.send_ip(*p.ab, 40, 1);
  p.net.pump();
  CHECK_EQ(p.b.dev->drop_count(DropReason::kMac1), 1u);
  // Initiation with a correct mac1 but a corrupted ciphertext fails decryption, not mac1.
  {
    auto init = seen[0].bytes;
    init[50] ^= 1;
    uint8_t key[32];
    derive_mac1_key(p.b.pub, key);
    gw::crypto::blake2s_mac16(key, 32, init.data(), 116, init.data() + 116);
    p.b.dev->receive(p.a.addr, init.data(), init.size(), p.net.now, p.b);
    CHECK_EQ(p.b.dev->drop_count(DropReason::kHandshakeDecrypt), 1u);
  }
  flip_type = 2;
  run_until(p.net, p.net.now + 6 * kSecond);
  CHECK_EQ(p.a.dev->drop_count(DropReason::kMac1), 1u);  // tampered response
  run_until(p.net, p.net.now + 6 * kSecond);
  CHECK_EQ(p.a.count_events(PeerEvent::kHandshakeComplete), 1u);
  CHECK(!p.b.delivered.empty());
  flip_type = 4;
  size_t before = p.b.delivered.size();
  p.a.send_ip(*p.ab, 40, 2);
  p.a.send_ip(*p.ab, 40, 3);
  p.net.pump();
  CHECK_EQ(p.b.dev->drop_count(DropReason::kDecrypt), 1u);
  CHECK(p.b.delivered.size() == before + 1 && tag_of(p.b.delivered.back()) == 3);
  // Tampered cookie reply.
  MsgCookieReply reply{};
  init_header(&reply);
  store_le32(reply.receiver_index, load_le32(seen.back().bytes.data() + 4));
  uint8_t raw[64];
  std::memcpy(raw, bytes(reply), 64);
  p.a.dev->receive(p.b.addr, raw, 64, p.net.now, p.a);
  CHECK(p.a.dev->drop_count(DropReason::kCookieReplyInvalid) + p.a.dev->drop_count(DropReason::kUnknownIndex) == 1u);
  // Garbage of every size is dropped without effect.
  uint8_t junk[200] = {4};
  for (size_t n = 0; n < sizeof junk; ++n) p.b.dev->receive(p.a.addr, junk, n, p.net.now, p.b);
  CHECK(p.b.dev->drop_count(DropReason::kInvalidMessage) > 0);
  p.a.send_ip(*p.ab, 40, 4);
  p.net.pump();
  CHECK(tag_of(p.b.delivered.back()) == 4);
}

TEST(device_wrong_peer_key_never_handshakes) {
  Net net;
  Node a(net, 1), b(net, 2), impostor(net, 3);
  PeerRef ab = a.dev->add_peer(impostor.pub);  // a believes b has the impostor's key
  a.dev->set_endpoint(*ab, b.addr);
  b.connect(a);
  a.send_ip(*ab, 40, 1);
  run_until(net, net.now + 30 * kSecond);
  CHECK(a.sent_initiations >= 5u);
  CHECK_EQ(b.dev->drop_count(DropReason::kMac1), a.sent_initiations);
  CHECK_EQ(a.count_events(PeerEvent::kHandshakeComplete), 0u);
  // b does not know a at all: mac1 passes, the peer lookup fails.
  Net net2;
  Node c(net2, 1), d(net2, 2);
  PeerRef cd = c.connect(d);
  c.send_ip(*cd, 40, 1);
  net2.pump();
  CHECK_EQ(d.dev->drop_count(DropReason::kUnknownPeer), 1u);
}

TEST(device_low_order_peer_key_is_inert) {
  Net net;
  Node a(net, 1);
  uint8_t zero[32] = {};
  PeerRef p = a.dev->add_peer(zero);
  a.dev->set_endpoint(*p, make_endpoint(9, 9));
  a.dev->set_persistent_keepalive(*p, 1, net.now, a);
  run_until(net, net.now + 10 * kSecond);
  CHECK_EQ(a.sent_initiations, 0u);
  CHECK(net.wire.empty());
}

TEST(device_simultaneous_initiation_converges) {
  Pair p;
  p.a.send_ip(*p.ab, 40, 1);
  p.b.send_ip(*p.ba, 40, 2);
  CHECK(p.a.sent_initiations == 1u && p.b.sent_initiations == 1u);
  run_until(p.net, p.net.now + 12 * kSecond);
  CHECK(!p.a.delivered.empty() && !p.b.delivered.empty());
  size_t da = p.a.delivered.size(), db = p.b.delivered.size();
  p.a.send_ip(*p.ab, 40, 3);
  p.b.send_ip(*p.ba, 40, 4);
  p.net.pump();
  CHECK_EQ(p.a.delivered.size(), da + 1);
  CHECK_EQ(p.b.delivered.size(), db + 1);
}

TEST(device_roaming_updates_endpoint) {
  Pair p;
  p.handshake_from_a();
  CHECK(p.ba->endpoint().same_remote(p.a.addr));
  size_t ev = p.b.count_events(PeerEvent::kEndpointChanged);
  p.a.addr.port = 40000;  // a moves
  p.a.send_ip(*p.ab, 40, 1);
  p.net.pump();
  CHECK_EQ(p.ba->endpoint().port, 40000u);
  CHECK_EQ(p.b.count_events(PeerEvent::kEndpointChanged), ev + 1);
  size_t before = p.a.delivered.size();
  p.b.send_ip(*p.ba, 40, 2);
  p.net.pump();
  CHECK_EQ(p.a.delivered.size(), before + 1);  // replies follow the new address
  // Unauthenticated packets never move the endpoint.
  uint8_t junk[64] = {4};
  p.b.dev->receive(make_endpoint(66, 6666), junk, sizeof junk, p.net.now, p.b);
  CHECK_EQ(p.ba->endpoint().port, 40000u);
}

TEST(device_source_check) {
  Pair p;
  p.b.allow_all_sources = false;
  p.handshake_from_a();
  CHECK(p.b.delivered.empty());
  CHECK_EQ(p.b.dev->drop_count(DropReason::kSourceNotAllowed), 1u);
}

TEST(device_private_key_change) {
  Pair p;
  p.handshake_from_a();
  // Taking a's key removes b's peer entry for a (own key) and stops sending on old sessions.
  p.b.dev->set_private_key(p.a.priv);
  CHECK(p.ba->removed());
  CHECK(!p.b.dev->find_peer(p.a.pub));
  CHECK(!p.b.dev->add_peer(p.a.pub));
  p.b.dev->set_private_key(p.b.priv);
  size_t n = p.a.sent_initiations;
  p.net.now += 6 * kSecond;
  // The same key again changes nothing (wireguard-go and the kernel compare first): `wg syncconf` always
  // sends the private key, and must not cost every peer its session.
  p.a.dev->set_private_key(p.a.priv);
  CHECK_EQ(p.a.send_ip(*p.ab, 40, 1), 1u);  // sealed on the session it had
  CHECK_EQ(p.a.sent_initiations, n);
  // A different key does force the next send to handshake.
  uint8_t other[32] = {9, 8, 7};
  p.a.dev->set_private_key(other);
  CHECK_EQ(p.a.send_ip(*p.ab, 40, 1), 0u);  // staged behind a new handshake
  CHECK_EQ(p.a.sent_initiations, n + 1);
  // Removed peers are inert.
  CHECK(p.a.dev->remove_peer(p.b.pub));
  CHECK(!p.a.dev->remove_peer(p.b.pub));
  CHECK_EQ(p.a.send_ip(*p.ab, 40, 1), 0u);
  CHECK_EQ(p.a.dev->drop_count(DropReason::kPeerRemoved), 1u);
}

TEST(device_psk_mismatch_fails_at_response) {
  Pair p;
  uint8_t psk[32] = {1, 2, 3};
  p.a.dev->set_preshared_key(*p.ab, psk);
  p.a.send_ip(*p.ab, 40, 1);
  p.net.pump();
  CHECK_EQ(p.a.dev->drop_count(DropReason::kHandshakeDecrypt), 1u);
  p.b.dev->set_preshared_key(*p.ba, psk);
  run_until(p.net, p.net.now + 6 * kSecond);
  CHECK(p.b.delivered.size() == 1);
}
