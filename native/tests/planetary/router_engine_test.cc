// The Router's contract with the engine: malformed or forged frames close the link with a reason,
// harmless ones do not, and snapshots reflect the link table.
#include <cstring>
#include <string>

#include "../../core/planetary/address.h"
#include "router_sim.h"

using namespace rtest;

namespace {

struct Probe {
  SimNet net{2, 21};
  LinkId ab = 0;
  Probe() {
    ab = net.connect(0, 1);
    net.run(3);
  }
  // Feeds one frame to node 1 on its end of the link; returns the close reason, or "" if none.
  std::string feed(const Bytes& frame) {
    size_t before = net.closes.size();
    LinkId at_b = net.ends.at(ab).other;
    net.r(1).handle_frame(at_b, frame.data(), frame.size(), net.now, *net.nodes[1]);
    net.pump();
    return net.closes.size() == before ? "" : net.closes.back();
  }
};

Bytes with_type(uint8_t type, Bytes body) {
  body.insert(body.begin(), type);
  return body;
}

}  // namespace

TEST(router_malformed_frames_close_link) {
  Probe p;
  CHECK(p.feed({}).find("empty") != std::string::npos);
  CHECK(p.feed({10}).find("unrecognized") != std::string::npos);
  CHECK(p.feed(with_type(kFrameSigReq, {1})).find("SigReq") != std::string::npos);
  CHECK(p.feed(with_type(kFrameSigReq, {1, 2, 3})).find("SigReq") != std::string::npos);  // trailing byte
  CHECK(p.feed(with_type(kFrameSigRes, {1, 2, 3})).find("SigRes") != std::string::npos);
  CHECK(p.feed(with_type(kFrameAnnounce, Bytes(100))).find("Announce") != std::string::npos);
  CHECK(p.feed(with_type(kFrameBloom, Bytes(31, 0xff))).find("Bloom") != std::string::npos);
  CHECK(p.feed(with_type(kFramePathLookup, Bytes(64))).find("PathLookup") != std::string::npos);
  CHECK(p.feed(with_type(kFramePathNotify, {0, 1})).find("PathNotify") != std::string::npos);
  CHECK(p.feed(with_type(kFramePathBroken, {0, 1})).find("PathBroken") != std::string::npos);
  CHECK(p.feed(with_type(kFrameTraffic, {0, 0, 1})).find("Traffic") != std::string::npos);
  CHECK(p.feed(with_type(kFrameTraffic, Bytes(200, 0x80))).find("Traffic") != std::string::npos);
}

TEST(router_forged_signatures_close_link) {
  Probe p;
  // Well-formed SigRes and Announce whose signatures do not verify.
  SigRes res;
  res.req = {5, 6};
  res.port = 1;
  Bytes f;
  encode(res, &f);
  CHECK(p.feed(f).find("signature") != std::string::npos);
  Announce a;
  a.key = a.parent = p.net.key(0);
  f.clear();
  encode(a, &f);
  CHECK(p.feed(f).find("signature") != std::string::npos);
  // port 0 with key ≠ parent is invalid even before signatures.
  a.parent = p.net.key(1);
  f.clear();
  encode(a, &f);
  CHECK(p.feed(f).find("signature") != std::string::npos);
}

TEST(router_harmless_frames_keep_link) {
  Probe p;
  CHECK(p.feed({kFrameDummy}).empty());
  CHECK(p.feed({kFrameKeepAlive}).empty());
  // A SigRes for a request we never made is valid but ignored; an empty bloom is fine.
  Bloom empty;
  Bytes f;
  encode(empty, &f);
  CHECK(p.feed(f).empty());
  // Traffic for nobody reachable yields a PathBroken, not a close.
  Traffic t;
  t.path = {7, 7};
  t.from = {};
  t.source = p.net.key(0);
  t.dest[0] = 0x42;
  const uint8_t payload[] = {1, 2, 3};
  t.payload = payload;
  t.payload_len = sizeof payload;
  f.clear();
  encode(t, &f);
  CHECK(p.feed(f).empty());
  // Lookup for a key nobody has, from an on-tree peer: no answer, no close.
  PathLookup l;
  l.source = p.net.key(0);
  l.dest[0] = 0x01;
  f.clear();
  encode(l, &f);
  CHECK(p.feed(f).empty());
  CHECK(p.net.r(1).peers().size() == 1);
}

TEST(router_snapshots) {
  SimNet net(3, 22);
  net.connect(0, 1);
  net.connect(1, 2, 3);
  net.run(4);
  RouterSelfInfo s = net.r(2).self_info();
  CHECK(s.key == net.key(2) && s.root == net.key(0) && s.coords.size() == 2 && s.routing_entries >= 3);
  auto peers = net.r(1).peers();
  CHECK_EQ(peers.size(), 2u);
  for (const auto& p : peers) CHECK(p.on_tree && p.cost >= 1 && (p.key != net.key(2) || p.priority == 3));
  CHECK(net.r(2).tree().size() >= 3);
  CHECK(net.r(2).next_deadline() > net.now);
}

TEST(router_lookup_by_address_partial_key) {
  SimNet net(4, 23);
  net.connect(0, 1);
  net.connect(1, 2);
  net.connect(1, 3);
  net.run(8);
  Address a = address_for_key(net.key(3));
  net.r(2).lookup(partial_key_for_prefix(a.data(), a.size()), net.now, *net.nodes[2]);
  net.pump();
  CHECK(net.nodes[2]->found.count(net.key(3)));
  // A lookup is throttled per transformed destination for a second.
  int lookups = net.type_count[kFramePathLookup];
  net.r(2).lookup(net.key(3), net.now, *net.nodes[2]);
  net.pump();
  CHECK_EQ(net.type_count[kFramePathLookup], lookups);
}

TEST(router_peer_latency_is_the_sigreq_round_trip) {
  // Node 0's SigReq is answered 5 ms after it was sent: getPeers' latency is that round trip, and the
  // cost is the first lag, twice the round trip, in whole milliseconds (yggdrasil 0.5.12 shows 1.70ms, 3).
  SimNet net(2, 24);
  LinkId la = net.next_link++, lb = net.next_link++;
  net.ends[la] = {0, lb};
  net.ends[lb] = {1, la};
  net.r(0).add_link(la, net.key(1), 0, net.now, *net.nodes[0]);
  net.r(1).add_link(lb, net.key(0), 0, net.now, *net.nodes[1]);
  net.now += 5'300'000;
  net.pump();
  auto peers = net.r(0).peers();
  CHECK_EQ(peers.size(), 1u);
  CHECK_EQ(peers[0].latency, uint64_t{5'300'000});
  CHECK_EQ(peers[0].cost, 10u);
}
