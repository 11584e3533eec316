// Payload layer (spec §6) and the address derivation it relies on (§2.2–2.5): addresses.json,
// icmpv6-ptb.json, key store, checks, proto messages, and a TUN-to-TUN run over real Sessions.
#include <cstdlib>
#include <deque>
#include <string>
#include <vector>

#include "../../core/planetary/icmpv6.h"
#include "../../core/planetary/payload.h"
#include "../../crypto/curve.h"
#include "../harness.h"
#include "../json_mini.h"

using namespace gw::planetary;
using Bytes = std::vector<unsigned char>;

namespace {

std::string vector_path(const std::string& name) {
  const char* dir = std::getenv("YGG_VECTORS");
  return std::string(dir ? dir : "/work/shared/specs/yggdrasil-0.5-vectors") + "/" + name;
}

Key key_hex(const std::string& h) {
  Bytes b = json::hex(h);
  Key k{};
  std::memcpy(k.data(), b.data(), k.size());
  return k;
}

const Key kSelf = key_hex("04e01d73b669ac8e91e8f11215c5bbf72a5db4edd72f1f9a36014cf318f99cd1");  // node C
const Key kPeer = key_hex("2daf1d88b955c76ebae83f22170729c530e5ad379509a554f1d06cbdf0dcfacb");  // node A
const Key kOther = key_hex("14c2ebc0d88203dee7ec9f1e067a2b109bd8874de62871ff420486bed143d652");  // node B

struct Sent {
  Key dest;
  Bytes msg;
};

struct Sink : PayloadSink {
  std::vector<Sent> sent;
  std::vector<Key> lookups;
  std::vector<Bytes> tun;
  std::vector<std::pair<ProtoRequest, Bytes>> responses;
  std::vector<Key> peers;
  void send_message(const Key& dest, uint8_t* msg, size_t len) override {
    msg[-static_cast<ptrdiff_t>(kSessionHeadroom)] = 0;  // the headroom promise, checked by ASan
    sent.push_back({dest, Bytes(msg, msg + len)});
  }
  void lookup(const Key& partial) override { lookups.push_back(partial); }
  void write_tun(const uint8_t* p, size_t len) override { tun.emplace_back(p, p + len); }
  void proto_response(const Key&, ProtoRequest kind, const uint8_t* d, size_t n) override {
    responses.push_back({kind, Bytes(d, d + n)});
  }
  uint64_t routing_entries() override { return 7; }
  void peer_keys(std::vector<Key>* out) override { *out = peers; }
};

// An IPv6 packet with kPayloadHeadroom in front, as the engine reads the TUN.
struct Ip {
  Bytes buf;
  explicit Ip(const uint8_t src[16], const uint8_t dst[16], size_t len = 48, uint8_t fill = 0) {
    buf.assign(kPayloadHeadroom + len, fill);
    uint8_t* p = pkt();
    p[0] = 0x60;
    p[4] = uint8_t((len - 40) >> 8), p[5] = uint8_t(len - 40);
    p[6] = 59;
    p[7] = 64;
    std::memcpy(p + 8, src, 16);
    std::memcpy(p + 24, dst, 16);
  }
  uint8_t* pkt() { return buf.data() + kPayloadHeadroom; }
  size_t len() const { return buf.size() - kPayloadHeadroom; }
  Bytes bytes() { return Bytes(pkt(), pkt() + len()); }
  Bytes as_message() {
    Bytes m{kPayloadIpv6};
    Bytes b = bytes();
    m.insert(m.end(), b.begin(), b.end());
    return m;
  }
};

Address host_in(const Subnet& s, uint8_t last) {
  Address a{};
  std::memcpy(a.data(), s.data(), s.size());
  a[15] = last;
  return a;
}

}  // namespace

TEST(address_vectors) {
  json::Value v = json::load(vector_path("addresses.json"));
  CHECK(v["vectors"].a.size() >= 8u);
  for (const json::Value& t : v["vectors"].a) {
    Key k = key_hex(t["public_key"].s);
    Address a = address_for_key(k);
    Subnet s = subnet_for_key(k);
    Bytes want_a = json::hex(t["address_hex"].s), want_s = json::hex(t["subnet_prefix_hex"].s);
    CHECK(std::memcmp(a.data(), want_a.data(), 16) == 0);
    CHECK(std::memcmp(s.data(), want_s.data(), 8) == 0);
    CHECK(partial_key_for_prefix(a.data(), 16) == key_hex(t["partial_key_from_address"].s));
    CHECK(partial_key_for_prefix(s.data(), 8) == key_hex(t["partial_key_from_subnet_aka_bloom_transform"].s));
  }
}

TEST(payload_ptb_vector_byte_exact) {
  json::Value v = json::load(vector_path("icmpv6-ptb.json"));
  Bytes want = json::hex(v["ptb"]["packet_hex"].s);
  // Node C (IfMTU 1280) received a 2048-byte packet from A; only its first 512 bytes are quoted.
  Bytes offending(2048, 0xab);
  std::memcpy(offending.data(), want.data() + 48, 512);
  Payload p(kSelf, 1280);
  Sink sink;
  p.path_found(kPeer, 0, sink);
  Bytes msg{kPayloadIpv6};
  msg.insert(msg.end(), offending.begin(), offending.end());
  p.from_network(kPeer, msg.data(), msg.size(), 0, sink);
  CHECK(sink.tun.empty());
  CHECK_EQ(sink.sent.size(), 1u);
  if (sink.sent.size() == 1) {
    CHECK(sink.sent[0].dest == kPeer);
    CHECK(sink.sent[0].msg[0] == kPayloadIpv6);
    CHECK(Bytes(sink.sent[0].msg.begin() + 1, sink.sent[0].msg.end()) == want);
  }
  // Short offending packets are quoted whole.
  uint8_t out[icmpv6::kPtbMaxLen];
  CHECK_EQ(icmpv6::packet_too_big(offending.data(), 100, 1280, out), 148u);
  // A packet that fits goes to the TUN; the MTU is clamped to the reference's [1280, 65535].
  CHECK_EQ(Payload(kSelf, 100).tun_mtu(), 1280u);
  CHECK_EQ(Payload(kSelf, 1u << 20).tun_mtu(), 65535u);
}

TEST(payload_ptb_waits_for_lookup_when_key_unknown) {
  Payload p(kSelf, 1280);
  Sink sink;
  Ip big(address_for_key(kPeer).data(), p.address().data(), 1400);
  Bytes msg = big.as_message();
  p.from_network(kPeer, msg.data(), msg.size(), 0, sink);
  CHECK(sink.sent.empty());
  CHECK_EQ(sink.lookups.size(), 1u);
  CHECK_EQ(p.pending_packets(), 1u);
  p.path_found(kPeer, 0, sink);
  CHECK(sink.sent.size() == 1 && sink.sent[0].msg.size() == 1 + 40 + 8 + 512);
}

TEST(payload_outbound_checks_and_key_store) {
  Payload p(kSelf);
  Sink sink;
  Address peer_addr = address_for_key(kPeer);
  const uint8_t link_local[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  const uint8_t global[16] = {0x20, 0x01, 0x0d, 0xb8};
  Ip wrong_src(link_local, peer_addr.data());
  p.from_tun(wrong_src.pkt(), wrong_src.len(), 0, sink);
  Ip wrong_dst(p.address().data(), global);
  p.from_tun(wrong_dst.pkt(), wrong_dst.len(), 0, sink);
  Ip not_v6(p.address().data(), peer_addr.data());
  not_v6.pkt()[0] = 0x45;
  p.from_tun(not_v6.pkt(), not_v6.len(), 0, sink);
  p.from_tun(Ip(p.address().data(), peer_addr.data()).pkt(), 39, 0, sink);
  CHECK(sink.sent.empty() && sink.lookups.empty() && p.pending_packets() == 0);

  // Miss: one lookup of the partial key, one pending packet (the newest), throttled for a second.
  Ip first(p.address().data(), peer_addr.data(), 48, 1), second(p.address().data(), peer_addr.data(), 48, 2);
  p.from_tun(first.pkt(), first.len(), 0, sink);
  p.from_tun(second.pkt(), second.len(), kSecond / 2, sink);
  CHECK_EQ(sink.lookups.size(), 1u);
  CHECK(sink.lookups.at(0) == partial_key_for_prefix(peer_addr.data(), 16));
  CHECK_EQ(p.pending_packets(), 1u);
  Ip foreign_src(host_in(subnet_for_key(kPeer), 9).data(), peer_addr.data());  // not our /64
  p.from_tun(foreign_src.pkt(), foreign_src.len(), kSecond / 2, sink);
  CHECK_EQ(p.pending_packets(), 1u);
  Ip again(p.address().data(), peer_addr.data(), 48, 2);
  p.from_tun(again.pkt(), again.len(), kSecond, sink);
  CHECK_EQ(sink.lookups.size(), 2u);  // the throttle ends after a second

  // The path is found: the newest packet goes out, later ones go straight through.
  p.path_found(kPeer, kSecond, sink);
  CHECK_EQ(sink.sent.size(), 1u);
  CHECK(sink.sent.size() == 1 && sink.sent[0].dest == kPeer && sink.sent[0].msg == again.as_message());
  CHECK_EQ(p.pending_packets(), 0u);
  Ip hit(host_in(p.subnet(), 5).data(), peer_addr.data());  // a host of our /64 may send too
  p.from_tun(hit.pkt(), hit.len(), 2 * kSecond, sink);
  CHECK(sink.sent.size() == 2 && sink.sent[1].msg == hit.as_message());
  CHECK_EQ(sink.lookups.size(), 2u);

  // Entries live two minutes after their last use; the throttle entry goes first.
  CHECK_EQ(p.next_deadline(), 2 * kSecond);
  p.tick(2 * kSecond);
  CHECK_EQ(p.next_deadline(), 2 * kSecond + kKeyStoreTimeout);
  p.tick(2 * kSecond + kKeyStoreTimeout);
  CHECK_EQ(p.known_keys(), 0u);
  p.from_tun(hit.pkt(), hit.len(), 200 * kSecond, sink);
  CHECK_EQ(sink.lookups.size(), 3u);
  p.tick(200 * kSecond + kKeyStoreTimeout);
  CHECK_EQ(p.pending_packets(), 0u);
  CHECK_EQ(p.next_deadline(), kNoDeadline);
}

TEST(payload_subnet_routing) {
  Payload p(kSelf);
  Sink sink;
  Subnet peer_net = subnet_for_key(kPeer);
  Address behind = host_in(peer_net, 0x42);
  behind[9] = 0x17;
  Ip pkt(p.address().data(), behind.data());
  p.from_tun(pkt.pkt(), pkt.len(), 0, sink);
  CHECK_EQ(sink.lookups.size(), 1u);
  CHECK(sink.lookups.at(0) == partial_key_for_prefix(peer_net.data(), 8));
  // The address of the same node shares the transformed key, hence the lookup throttle.
  Ip to_addr(p.address().data(), address_for_key(kPeer).data());
  p.from_tun(to_addr.pkt(), to_addr.len(), 0, sink);
  CHECK_EQ(sink.lookups.size(), 1u);
  CHECK_EQ(p.pending_packets(), 2u);
  // A node whose subnet differs gets its own lookup.
  Ip to_other(p.address().data(), host_in(subnet_for_key(kOther), 1).data());
  p.from_tun(to_other.pkt(), to_other.len(), 0, sink);
  CHECK_EQ(sink.lookups.size(), 2u);
  p.path_found(kPeer, 0, sink);
  CHECK_EQ(sink.sent.size(), 2u);
  for (const Sent& s : sink.sent) CHECK(s.dest == kPeer);
  CHECK_EQ(p.pending_packets(), 1u);
}

TEST(payload_inbound_checks) {
  Payload p(kSelf);
  Sink sink;
  Address peer_addr = address_for_key(kPeer), other_addr = address_for_key(kOther);
  auto recv = [&](Ip& ip) {
    Bytes m = ip.as_message();
    p.from_network(kPeer, m.data(), m.size(), 0, sink);
  };
  Ip good(peer_addr.data(), p.address().data());
  recv(good);
  CHECK(sink.tun.size() == 1 && sink.tun[0] == good.bytes());
  Ip from_their_net(host_in(subnet_for_key(kPeer), 3).data(), host_in(p.subnet(), 4).data());
  recv(from_their_net);
  CHECK_EQ(sink.tun.size(), 2u);

  Payload q(kSelf);
  Sink sink2;
  Ip not_for_us(peer_addr.data(), other_addr.data());
  Bytes m = not_for_us.as_message();
  q.from_network(kPeer, m.data(), m.size(), 0, sink2);
  CHECK(sink2.tun.empty());
  CHECK_EQ(q.known_keys(), 0u);  // dropped before learning
  Ip spoofed(other_addr.data(), q.address().data());
  m = spoofed.as_message();
  q.from_network(kPeer, m.data(), m.size(), 0, sink2);
  CHECK(sink2.tun.empty());
  CHECK_EQ(q.known_keys(), 1u);  // learned anyway: the sender is authenticated
  // Replies to it now need no lookup.
  Ip reply(q.address().data(), peer_addr.data());
  q.from_tun(reply.pkt(), reply.len(), 0, sink2);
  CHECK(sink2.lookups.empty() && sink2.sent.size() == 1);

  const uint8_t empty[1] = {0}, unknown[] = {7, 0x60}, short_ip[] = {1, 0x60, 0, 0};
  q.from_network(kPeer, empty, 0, 0, sink2);
  q.from_network(kPeer, unknown, sizeof unknown, 0, sink2);
  q.from_network(kPeer, short_ip, sizeof short_ip, 0, sink2);
  Ip v4(peer_addr.data(), q.address().data());
  v4.pkt()[0] = 0x45;
  m = v4.as_message();
  q.from_network(kPeer, m.data(), m.size(), 0, sink2);
  CHECK(sink2.tun.empty() && sink2.sent.size() == 1);
}

TEST(payload_proto_nodeinfo_and_debug) {
  Payload p(kSelf);
  Sink sink;
  CHECK(p.set_nodeinfo("{\"name\":\"c\"}"));
  CHECK(!p.set_nodeinfo(std::string(kMaxNodeInfoLen + 1, 'x')));
  const uint8_t req[] = {2, 1};
  p.from_network(kPeer, req, sizeof req, 0, sink);
  CHECK(sink.sent.size() == 1 && sink.sent[0].dest == kPeer);
  std::string nodeinfo = "\x02\x02{\"name\":\"c\"}";
  CHECK(sink.sent.at(0).msg == Bytes(nodeinfo.begin(), nodeinfo.end()));

  const uint8_t get_self[] = {2, 255, 1};
  p.from_network(kPeer, get_self, sizeof get_self, 0, sink);
  std::string self = std::string("\x02\xff\x02", 3) +
                     "{\"key\":\"04e01d73b669ac8e91e8f11215c5bbf72a5db4edd72f1f9a36014cf318f99cd1\","
                     "\"routing_entries\":\"7\"}";
  CHECK(sink.sent.at(1).msg == Bytes(self.begin(), self.end()));

  sink.peers.assign(3000, kOther);
  const uint8_t get_peers[] = {2, 255, 3};
  p.from_network(kPeer, get_peers, sizeof get_peers, 0, sink);
  CHECK_EQ(sink.sent.at(2).msg.size(), 3 + 2047 * 32u);  // truncated so 2 + len ≤ 65535

  // Our requests: responses only from the asked key, once, within a minute.
  sink.sent.clear();
  p.request(kPeer, ProtoRequest::kNodeInfo, 0, sink);
  p.request(kPeer, ProtoRequest::kGetPeers, 0, sink);
  CHECK(sink.sent.size() == 2 && sink.sent[0].msg == (Bytes{2, 1}) && sink.sent[1].msg == (Bytes{2, 255, 3}));
  const uint8_t res[] = {2, 2, '{', '}'};
  p.from_network(kOther, res, sizeof res, 0, sink);
  CHECK(sink.responses.empty());
  p.from_network(kPeer, res, sizeof res, kSecond, sink);
  p.from_network(kPeer, res, sizeof res, kSecond, sink);
  CHECK(sink.responses.size() == 1 && sink.responses[0].first == ProtoRequest::kNodeInfo &&
        sink.responses[0].second == (Bytes{'{', '}'}));
  const uint8_t peers_res[] = {2, 255, 4, 1, 2};
  p.from_network(kPeer, peers_res, sizeof peers_res, kProtoRequestTimeout, sink);
  CHECK_EQ(sink.responses.size(), 1u);  // too late
  p.tick(kProtoRequestTimeout);
  CHECK_EQ(p.next_deadline(), kNoDeadline);
}

// TUN → Payload → Sessions → "router" → Sessions → Payload → TUN, glued the way the engine will be.
namespace {
struct Host : PayloadSink, SessionSink {
  Bytes seed;
  Sessions sessions;
  Payload payload;
  std::deque<std::pair<Key, Bytes>>* wire;
  std::vector<Bytes> tun;
  std::vector<Key> lookups;
  std::string nodeinfo;
  uint64_t now = 0;
  Host(uint8_t id, std::deque<std::pair<Key, Bytes>>* w)
      : seed(32, id), sessions(seed.data(), SessionsConfig{1700000000 * kSecond}), payload(sessions.self()), wire(w) {}
  void send_message(const Key& dest, uint8_t* msg, size_t len) override { sessions.send(dest, msg, len, now, *this); }
  void lookup(const Key& partial) override { lookups.push_back(partial); }
  void write_tun(const uint8_t* p, size_t len) override { tun.emplace_back(p, p + len); }
  void proto_response(const Key&, ProtoRequest, const uint8_t* d, size_t n) override { nodeinfo.assign((const char*)d, n); }
  void send_traffic(const Key& dest, const uint8_t* data, size_t len) override {
    (void)dest;
    wire->push_back({sessions.self(), Bytes(data, data + len)});
  }
  void deliver(const Key& source, const uint8_t* msg, size_t len) override {
    payload.from_network(source, msg, len, now, *this);
  }
};
}  // namespace

TEST(payload_end_to_end_over_sessions) {
  std::deque<std::pair<Key, Bytes>> wire;
  Host a(11, &wire), b(12, &wire);
  auto pump = [&] {
    while (!wire.empty()) {
      auto [from, data] = wire.front();
      wire.pop_front();
      Host& to = from == a.sessions.self() ? b : a;
      to.sessions.receive(from, data.data(), data.size(), to.now, to);
    }
  };
  Ip ping(a.payload.address().data(), b.payload.address().data(), 100, 0x5a);
  Bytes sent = ping.bytes();
  a.payload.from_tun(ping.pkt(), ping.len(), 0, a);
  CHECK_EQ(a.lookups.size(), 1u);
  a.payload.path_found(b.sessions.self(), 0, a);  // the router's PathNotify
  pump();
  CHECK(b.tun.size() == 1 && b.tun[0] == sent);
  // B replies without a lookup: the inbound packet taught it A's key.
  Ip pong(b.payload.address().data(), a.payload.address().data(), 1300, 0xa5);
  Bytes reply = pong.bytes();
  b.payload.from_tun(pong.pkt(), pong.len(), 0, b);
  pump();
  CHECK(b.lookups.empty());
  CHECK(a.tun.size() == 1 && a.tun[0] == reply);
  // NodeInfo across the wire.
  b.payload.set_nodeinfo("{\"name\":\"b\"}");
  a.payload.request(b.sessions.self(), ProtoRequest::kNodeInfo, 0, a);
  pump();
  CHECK(a.nodeinfo == "{\"name\":\"b\"}");
  CHECK_EQ(a.tun.size(), 1u);
}
