// Session layer (spec §5): the 22 captured Init/Ack packets of session.json, and two Sessions instances
// driving the whole state machine over an in-memory "router" with a fake clock.
#include <cstdlib>
#include <deque>
#include <string>
#include <vector>

#include "../../core/planetary/session.h"
#include "../../core/planetary/wire.h"
#include "../../crypto/curve.h"
#include "../../crypto/secretbox.h"
#include "../harness.h"
#include "../json_mini.h"

using namespace gw::planetary;
using Bytes = std::vector<unsigned char>;

namespace {

std::string vector_dir() {
  const char* dir = std::getenv("YGG_VECTORS");
  return dir ? dir : "/work/shared/specs/yggdrasil-0.5-vectors";
}

Bytes seed_of_config(const std::string& file) {
  Bytes sk = json::hex(json::load(vector_dir() + "/configs/" + file)["PrivateKey"].s);
  return Bytes(sk.begin(), sk.begin() + 32);
}

Key key_of(const Bytes& seed) {
  Key k;
  gw::crypto::ed25519_public(seed.data(), k.data());
  return k;
}

bool same(const uint8_t* a, const Bytes& b) { return std::memcmp(a, b.data(), b.size()) == 0; }

constexpr uint64_t kUnixStart = 1795622379ull * kSecond;  // any wall time; seqs are derived from it

struct Packet {
  Key from, to;
  Bytes data;
};

struct Header {
  uint64_t sender_key_seq = 0, receiver_key_seq = 0, nonce = 0;
};

Header header_of(const Bytes& p) {
  Header h;
  size_t off = 1;
  off += get_uvarint(p.data() + off, p.size() - off, &h.sender_key_seq);
  off += get_uvarint(p.data() + off, p.size() - off, &h.receiver_key_seq);
  get_uvarint(p.data() + off, p.size() - off, &h.nonce);
  return h;
}

// One node: Sessions plus a sink that queues what it sends and records what it receives.
struct Node : SessionSink {
  Bytes seed;
  Key key;
  Sessions* sessions;
  std::deque<Packet>* wire;
  std::vector<std::string> got;

  Node(uint8_t id, std::deque<Packet>* w) : seed(32, id), key(key_of(seed)), sessions(nullptr), wire(w) { restart(); }
  ~Node() { delete sessions; }
  void restart() {
    delete sessions;
    sessions = new Sessions(seed.data(), SessionsConfig{kUnixStart});
  }
  void send_traffic(const Key& dest, const uint8_t* data, size_t len) override {
    wire->push_back({key, dest, Bytes(data, data + len)});
  }
  void deliver(const Key&, const uint8_t* msg, size_t len) override { got.emplace_back((const char*)msg, len); }
  void send(const Key& to, const std::string& m, uint64_t now) {
    sessions->send_copy(to, (const uint8_t*)m.data(), m.size(), now, *this);
  }
};

struct Pair {
  std::deque<Packet> wire;
  Node a{1, &wire}, b{2, &wire};
  uint64_t now = 5 * kSecond;

  Node& node(const Key& k) { return k == a.key ? a : b; }
  void deliver(const Packet& p) { node(p.to).sessions->receive(p.from, p.data.data(), p.data.size(), now, node(p.to)); }
  // Delivers everything in flight, including what delivery provokes; returns the packets carried.
  std::vector<Packet> pump() {
    std::vector<Packet> seen;
    while (!wire.empty()) {
      Packet p = wire.front();
      wire.pop_front();
      seen.push_back(p);
      deliver(p);
    }
    return seen;
  }
  std::vector<Packet> take() {
    std::vector<Packet> out(wire.begin(), wire.end());
    wire.clear();
    return out;
  }
};

}  // namespace

TEST(session_vectors_decrypt_and_rebuild) {
  json::Value v = json::load(vector_dir() + "/session.json");
  CHECK_EQ(v["vectors"].a.size(), 22u);
  for (const json::Value& t : v["vectors"].a) {
    Bytes recv_seed = seed_of_config(t["receiver_private_key_config"].s);
    std::string from = t["session_from"].s;
    Bytes send_seed = seed_of_config(std::string(1, char(std::tolower(from[0]))) + ".json");
    Key sender = key_of(send_seed), receiver = key_of(recv_seed);
    Bytes packet = json::hex(t["session_packet_hex"].s);
    CHECK_EQ(packet.size(), kSessionHelloSize);
    CHECK_EQ(packet[0], t["kind"].s == "Init" ? 1 : 2);

    uint8_t xpriv[32], xpub[32], box_key[32];
    CHECK(gw::crypto::ed25519_seed_to_x25519(recv_seed.data(), xpriv));
    CHECK(same(xpriv, json::hex(t["receiver_x25519_private(crypto_sign_ed25519_sk_to_curve25519)"].s)));
    CHECK(gw::crypto::ed25519_public_to_x25519(receiver.data(), xpub));
    CHECK(same(xpub, json::hex(t["receiver_x25519_public(crypto_sign_ed25519_pk_to_curve25519)"].s)));
    CHECK(gw::crypto::box_beforenm(packet.data() + 1, xpriv, box_key));
    Bytes precomputed = json::hex(t["box_precomputed_key(HSalsa20(X25519(eph,recv)))"].s);
    CHECK(same(box_key, precomputed));

    SessionHello hello;
    CHECK(open_session_hello(xpriv, sender, packet.data(), packet.size(), &hello));
    const json::Value& f = t["plaintext_fields"];
    CHECK(same(hello.current, json::hex(f["current"].s)));
    CHECK(same(hello.next, json::hex(f["next"].s)));
    CHECK_EQ(hello.key_seq, f["key_seq"].u64());
    CHECK_EQ(hello.seq, f["seq_unix_seconds"].u64());

    // Ed25519 is deterministic and the box key is given, so the captured bytes can be rebuilt exactly.
    uint8_t rebuilt[kSessionHelloSize];
    CHECK(seal_session_hello(packet[0], send_seed.data(), packet.data() + 1, precomputed.data(), hello, rebuilt));
    CHECK(same(rebuilt, packet));

    // Through the state machine: a new session, answered with an Ack the sender can open.
    std::deque<Packet> wire;
    struct Capture : SessionSink {
      std::deque<Packet>* w;
      Key self;
      void send_traffic(const Key& d, const uint8_t* p, size_t n) override { w->push_back({self, d, Bytes(p, p + n)}); }
      void deliver(const Key&, const uint8_t*, size_t) override {}
    } sink;
    sink.w = &wire;
    sink.self = receiver;
    Sessions s(recv_seed.data(), SessionsConfig{kUnixStart});
    s.receive(sender, packet.data(), packet.size(), 0, sink);
    CHECK(s.has_session(sender));
    CHECK_EQ(wire.size(), 1u);
    if (wire.size() == 1) {
      uint8_t sender_xpriv[32];
      gw::crypto::ed25519_seed_to_x25519(send_seed.data(), sender_xpriv);
      SessionHello ack;
      CHECK_EQ(wire[0].data[0], kSessionAck);
      CHECK(open_session_hello(sender_xpriv, receiver, wire[0].data.data(), wire[0].data.size(), &ack));
      CHECK_EQ(ack.key_seq, 1u);
      CHECK_EQ(ack.seq, kUnixStart / kSecond);
    }

    // Tampered, or claimed by another key: ignored without a word.
    Sessions s2(recv_seed.data());
    Bytes bad = packet;
    bad[100] ^= 1;
    wire.clear();
    s2.receive(sender, bad.data(), bad.size(), 0, sink);
    s2.receive(receiver, packet.data(), packet.size(), 0, sink);
    Bytes longer = packet;
    longer.push_back(0);
    s2.receive(sender, longer.data(), longer.size(), 0, sink);
    CHECK(wire.empty());
    CHECK_EQ(s2.session_count(), 0u);
  }
}

TEST(session_handshake_matches_capture_trace) {
  Pair n;
  n.a.send(n.b.key, "ping", n.now);
  auto first = n.take();
  CHECK_EQ(first.size(), 1u);
  CHECK_EQ(first[0].data[0], kSessionInit);
  CHECK_EQ(n.a.sessions->buffer_count(), 1u);
  for (auto& p : first) n.deliver(p);
  auto rest = n.pump();
  // Init →, ← Ack, Ack → and the buffered message, as on the wire of the capture.
  CHECK_EQ(rest.size(), 3u);
  if (rest.size() == 3) {
    CHECK(rest[0].from == n.b.key && rest[0].data[0] == kSessionAck);
    CHECK(rest[1].from == n.a.key && rest[1].data[0] == kSessionAck);
    CHECK(rest[2].from == n.a.key && rest[2].data[0] == kSessionTraffic);
    Header h = header_of(rest[2].data);
    CHECK_EQ(h.sender_key_seq, 1u);
    CHECK_EQ(h.receiver_key_seq, 1u);
    CHECK_EQ(h.nonce, 1u);
    CHECK_EQ(rest[2].data.size(), 4 + 16 + 32 + 4u);
  }
  CHECK_EQ(n.b.got.size(), 1u);
  CHECK(n.b.got.size() == 1 && n.b.got[0] == "ping");
  CHECK_EQ(n.a.sessions->buffer_count(), 0u);

  // B answers from its next key (2/1), A follows (2/2), B does not ratchet again within the minute.
  n.b.send(n.a.key, "pong", n.now);
  auto r1 = n.pump();
  Header hb = header_of(r1.at(0).data);
  CHECK(hb.sender_key_seq == 2 && hb.receiver_key_seq == 1 && hb.nonce == 1);
  n.a.send(n.b.key, "x", n.now);
  Header ha = header_of(n.pump().at(0).data);
  CHECK(ha.sender_key_seq == 2 && ha.receiver_key_seq == 2 && ha.nonce == 1);
  n.b.send(n.a.key, "y", n.now);
  hb = header_of(n.pump().at(0).data);
  CHECK(hb.sender_key_seq == 2 && hb.receiver_key_seq == 1 && hb.nonce == 2);
  CHECK(n.a.got.size() == 2 && n.a.got[1] == "y");

  // Steady traffic; once B's ratchet (at 5 s) is more than a minute old it moves to 3/2 and A to 3/3.
  for (int i = 0; i < 5; i++) {
    n.now += 10 * kSecond;
    n.a.send(n.b.key, "a", n.now);
    n.b.send(n.a.key, "b", n.now);
    n.pump();
  }
  n.now = 65 * kSecond;  // exactly a minute: not yet
  n.a.send(n.b.key, "a", n.now);
  n.b.send(n.a.key, "b", n.now);
  auto exact = n.pump();
  CHECK_EQ(header_of(exact.at(1).data).sender_key_seq, 2u);
  n.now += kSecond;
  n.a.send(n.b.key, "a", n.now);
  n.pump();
  n.b.send(n.a.key, "b", n.now);
  hb = header_of(n.pump().at(0).data);
  CHECK(hb.sender_key_seq == 3 && hb.receiver_key_seq == 2 && hb.nonce == 1);
  n.a.send(n.b.key, "c", n.now);
  ha = header_of(n.pump().at(0).data);
  CHECK(ha.sender_key_seq == 3 && ha.receiver_key_seq == 3 && ha.nonce == 1);
  CHECK(n.b.got.back() == "c");
  CHECK_EQ(n.a.got.size(), 2u + 6u + 1u);
  CHECK_EQ(n.b.got.size(), 2u + 6u + 2u);
}

// Session up, both directions used once (so both have ratcheted as in the trace).
static void establish(Pair& n) {
  n.a.send(n.b.key, "1", n.now);
  n.pump();
  n.b.send(n.a.key, "2", n.now);
  n.pump();
  n.a.send(n.b.key, "3", n.now);
  n.pump();
  n.a.got.clear();
  n.b.got.clear();
}

TEST(session_replay_reorder_tamper_refused) {
  Pair n;
  establish(n);
  n.a.send(n.b.key, "p1", n.now);
  n.a.send(n.b.key, "p2", n.now);
  auto ps = n.take();
  CHECK_EQ(ps.size(), 2u);
  n.deliver(ps[1]);
  n.deliver(ps[0]);  // older nonce after a newer one: no reorder window
  n.deliver(ps[1]);  // replay
  CHECK(n.b.got.size() == 1 && n.b.got[0] == "p2");
  CHECK(n.wire.empty());  // replays are dropped silently

  n.a.send(n.b.key, "p3", n.now);
  Packet t = n.take().at(0);
  t.data.back() ^= 0x80;
  n.deliver(t);
  CHECK_EQ(n.b.got.size(), 1u);
  auto out = n.take();  // a failed decryption asks for a fresh handshake
  CHECK(out.size() == 1 && out[0].data[0] == kSessionInit && out[0].from == n.b.key);

  // Untouched, the same nonce still goes through: a forgery does not burn it.
  t.data.back() ^= 0x80;
  n.deliver(t);
  CHECK(n.b.got.size() == 2 && n.b.got[1] == "p3");

  // Header too short for a box, dummy and unknown types: ignored.
  const uint8_t short_traffic[] = {3, 1, 1, 1, 0, 0};
  const uint8_t dummy[] = {0}, unknown[] = {9, 1, 2};
  n.b.sessions->receive(n.a.key, short_traffic, sizeof short_traffic, n.now, n.b);
  n.b.sessions->receive(n.a.key, dummy, sizeof dummy, n.now, n.b);
  n.b.sessions->receive(n.a.key, unknown, sizeof unknown, n.now, n.b);
  n.b.sessions->receive(n.a.key, dummy, 0, n.now, n.b);
  CHECK(n.wire.empty());
}

TEST(session_resyncs_after_init) {
  Pair n;
  establish(n);
  // A tampered packet makes B send an Init; one second on, A accepts it and the session carries on.
  n.a.send(n.b.key, "x", n.now);
  Packet t = n.take().at(0);
  t.data[10] ^= 1;
  n.deliver(t);
  n.now += kSecond;
  n.pump();
  n.a.send(n.b.key, "after", n.now);
  n.b.send(n.a.key, "back", n.now);
  n.pump();
  CHECK(!n.b.got.empty() && n.b.got.back() == "after");
  CHECK(!n.a.got.empty() && n.a.got.back() == "back");
}

TEST(session_unknown_traffic_gets_throwaway_init) {
  Pair n;
  Bytes junk(60, 0x42);
  junk[0] = kSessionTraffic;
  n.b.sessions->receive(n.a.key, junk.data(), junk.size(), n.now, n.b);
  auto out = n.take();
  CHECK(out.size() == 1 && out[0].data[0] == kSessionInit && out[0].data.size() == kSessionHelloSize);
  CHECK_EQ(n.b.sessions->session_count(), 0u);
  CHECK_EQ(n.b.sessions->buffer_count(), 0u);
  // A answering that Init builds a session; B builds its own from A's Ack and both heal.
  n.deliver(out[0]);
  n.pump();
  CHECK(n.a.sessions->has_session(n.b.key) && n.b.sessions->has_session(n.a.key));
  n.now += kSecond;
  n.a.send(n.b.key, "m", n.now);
  n.pump();
  n.now += kSecond;
  n.a.send(n.b.key, "m2", n.now);
  n.b.send(n.a.key, "r", n.now);
  n.pump();
  CHECK(!n.b.got.empty() && n.b.got.back() == "m2");
  CHECK(!n.a.got.empty() && n.a.got.back() == "r");
}

TEST(session_only_newest_buffered_message_survives) {
  Pair n;
  n.a.send(n.b.key, "old", n.now);
  n.a.send(n.b.key, "new", n.now);
  auto inits = n.take();
  CHECK_EQ(inits.size(), 2u);
  // Both Inits carry the same keys and seq (each with its own ephemeral key).
  CHECK(std::memcmp(inits[0].data.data() + 1, inits[1].data.data() + 1, 32) != 0);
  for (auto& p : inits) n.deliver(p);
  n.pump();
  CHECK(n.b.got.size() == 1 && n.b.got[0] == "new");
}

TEST(session_restart_of_one_side) {
  Pair n;
  establish(n);
  n.now += 2 * kSecond;
  n.b.restart();
  // The first messages may be lost while both sides resynchronise (as with the reference); within a few
  // seconds of one message per second both directions work again.
  bool a_to_b = false, b_to_a = false;
  for (int i = 0; i < 6 && !(a_to_b && b_to_a); i++) {
    n.a.got.clear();
    n.b.got.clear();
    n.a.send(n.b.key, "to-b", n.now);
    n.b.send(n.a.key, "to-a", n.now);
    n.pump();
    a_to_b = !n.b.got.empty();
    b_to_a = !n.a.got.empty();
    n.now += kSecond;
  }
  CHECK(a_to_b && b_to_a);
  n.now += kSecond;
  n.a.restart();
  a_to_b = b_to_a = false;
  for (int i = 0; i < 6 && !(a_to_b && b_to_a); i++) {
    n.a.got.clear();
    n.b.got.clear();
    n.b.send(n.a.key, "to-a", n.now);
    n.a.send(n.b.key, "to-b", n.now);
    n.pump();
    a_to_b = !n.b.got.empty();
    b_to_a = !n.a.got.empty();
    n.now += kSecond;
  }
  CHECK(a_to_b && b_to_a);
}

TEST(session_timeouts_and_deadlines) {
  Pair n;
  CHECK_EQ(n.a.sessions->next_deadline(), kNoDeadline);
  establish(n);
  uint64_t t0 = n.now;
  CHECK_EQ(n.a.sessions->next_deadline(), t0 + kSessionTimeout);
  n.now = t0 + kSessionTimeout - 1;
  n.a.sessions->tick(n.now, n.a);
  CHECK(n.a.sessions->has_session(n.b.key));
  // Traffic in either direction restarts the minute.
  n.b.send(n.a.key, "keep", n.now);
  n.pump();
  n.a.sessions->tick(t0 + kSessionTimeout, n.a);
  CHECK(n.a.sessions->has_session(n.b.key));
  n.a.sessions->tick(n.now + kSessionTimeout, n.a);
  CHECK(!n.a.sessions->has_session(n.b.key));

  // A buffered message toward a silent key is dropped a minute after the last attempt.
  Node c(3, &n.wire);
  n.a.send(c.key, "void", n.now);
  n.take();
  CHECK_EQ(n.a.sessions->buffer_count(), 1u);
  CHECK_EQ(n.a.sessions->next_deadline(), n.now + kSessionTimeout);
  n.a.sessions->tick(n.now + kSessionTimeout, n.a);
  CHECK_EQ(n.a.sessions->buffer_count(), 0u);
}

TEST(session_stats_and_in_place_send) {
  Pair n;
  establish(n);
  // In place: the packet is built inside the headroom and nothing outside it is touched.
  Bytes buf(8 + kSessionHeadroom + 5 + 8, 0xee);
  uint8_t* msg = buf.data() + 8 + kSessionHeadroom;
  std::memcpy(msg, "hello", 5);
  n.a.sessions->send(n.b.key, msg, 5, n.now, n.a);
  for (size_t i = 0; i < 8; i++) CHECK(buf[i] == 0xee && buf[buf.size() - 1 - i] == 0xee);
  n.pump();
  CHECK(n.b.got.size() == 1 && n.b.got[0] == "hello");
  std::vector<SessionStats> stats;
  n.a.sessions->snapshot(n.now + kSecond, &stats);
  CHECK_EQ(stats.size(), 1u);
  if (stats.size() == 1) {
    CHECK(stats[0].key == n.b.key);
    CHECK_EQ(stats[0].tx_packets, 3u);
    CHECK_EQ(stats[0].tx_bytes, 1u + 1u + 5u);
    CHECK_EQ(stats[0].rx_packets, 1u);
    CHECK_EQ(stats[0].uptime_ns, kSecond);
  }
}
