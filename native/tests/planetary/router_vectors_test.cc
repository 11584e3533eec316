// Codec, address and bloom checks against the bytes the real yggdrasil 0.5.12 produced.
#include <cstring>

#include "../../core/planetary/address.h"
#include "../../core/planetary/bloom.h"
#include "../../core/planetary/frames.h"
#include "router_test_util.h"

using namespace gw::planetary;
using namespace rtest;

namespace {

struct CapturedFrame {
  std::string dir;  // "B->A"
  uint8_t type;
  Bytes frame;  // type ‖ body, length prefix stripped
  const json::Value* decoded;
};

// Frames whose hex is complete (the captures cut frames above 400 bytes).
std::vector<CapturedFrame> captured(const json::Value& cap) {
  std::vector<CapturedFrame> out;
  for (const auto& stream : cap.a) {
    for (const auto& f : stream["frames"].a) {
      if (f["raw_hex"].s.find('.') != std::string::npos) continue;
      Bytes raw = json::hex(f["raw_hex"].s);
      uint64_t len;
      size_t n = get_uvarint(raw.data(), raw.size(), &len);
      if (n == 0 || n + len != raw.size()) continue;
      out.push_back({stream["sender"].s + "->" + stream["receiver"].s, raw[n], Bytes(raw.begin() + n, raw.end()),
                     &f["decoded"]});
    }
  }
  return out;
}

template <typename Msg>
bool roundtrip(const Bytes& frame, Msg* m) {
  if (!decode(frame.data() + 1, frame.size() - 1, m)) return false;
  Bytes again;
  encode(*m, &again);
  return again == frame;
}

Key sender_key(const std::string& name) {
  static const std::map<std::string, std::string> keys = {
      {"A", "2daf1d88b955c76ebae83f22170729c530e5ad379509a554f1d06cbdf0dcfacb"},
      {"B", "14c2ebc0d88203dee7ec9f1e067a2b109bd8874de62871ff420486bed143d652"},
      {"C", "04e01d73b669ac8e91e8f11215c5bbf72a5db4edd72f1f9a36014cf318f99cd1"}};
  return key_from_hex(keys.at(name));
}

// Returns false on a decode/re-encode mismatch or a signature that does not verify.
bool check_frame(const CapturedFrame& f, int* sigs) {
  Key from = sender_key(f.dir.substr(0, 1)), to = sender_key(f.dir.substr(3, 1));
  switch (f.type) {
    case kFrameKeepAlive:
      return f.frame.size() == 1;
    case kFrameSigReq: {
      SigReq m;
      return roundtrip(f.frame, &m) && m.nonce == (*f.decoded)["nonce"].u64();
    }
    case kFrameSigRes: {
      SigRes m;
      if (!roundtrip(f.frame, &m)) return false;
      uint8_t msg[kMaxSigBytes];
      size_t n = sig_bytes(to, from, m.req.seq, m.req.nonce, m.port, msg);
      ++*sigs;
      return gw::crypto::ed25519_verify(from.data(), msg, n, m.psig.data());
    }
    case kFrameAnnounce: {
      Announce m;
      ++*sigs;
      return roundtrip(f.frame, &m) && m.verify();
    }
    case kFrameBloom: {
      Bloom m;
      return roundtrip(f.frame, &m);
    }
    case kFramePathLookup: {
      PathLookup m;
      return roundtrip(f.frame, &m);
    }
    case kFramePathNotify: {
      PathNotify m;
      if (!roundtrip(f.frame, &m)) return false;
      Bytes msg;
      m.info.signed_bytes(&msg);
      ++*sigs;
      return gw::crypto::ed25519_verify(m.source.data(), msg.data(), msg.size(), m.info.sig.data());
    }
    case kFramePathBroken: {
      PathBroken m;
      return roundtrip(f.frame, &m);
    }
    case kFrameTraffic: {
      Traffic m;
      return roundtrip(f.frame, &m) && m.watermark == (*f.decoded)["watermark"].u64();
    }
  }
  return false;
}

void check_capture(const char* file, size_t min_frames) {
  json::Value cap = load(file);
  std::vector<CapturedFrame> frames = captured(cap);
  CHECK(frames.size() >= min_frames);
  int sigs = 0, bad = 0;
  for (const auto& f : frames) {
    if (check_frame(f, &sigs)) continue;
    if (++bad < 5) std::printf("  %s %s type %u: %s\n", file, f.dir.c_str(), f.type, to_hex(f.frame.data(), f.frame.size()).c_str());
  }
  CHECK_EQ(bad, 0);
  CHECK(sigs > 10);
}

}  // namespace

TEST(router_address_vectors) {
  json::Value v = load("addresses.json");
  CHECK_EQ(v["vectors"].a.size(), 11u);
  for (const auto& t : v["vectors"].a) {
    Key k = key_from_hex(t["public_key"].s);
    Address a = address_for_key(k);
    Subnet s = subnet_for_key(k);
    CHECK(to_hex(a.data(), a.size()) == t["address_hex"].s);
    CHECK(to_hex(s.data(), s.size()) == t["subnet_prefix_hex"].s);
    Key pk = partial_key_for_prefix(a.data(), a.size());
    CHECK(to_hex(pk.data(), pk.size()) == t["partial_key_from_address"].s);
    Key x = bloom_transform(k);
    CHECK(to_hex(x.data(), x.size()) == t["partial_key_from_subnet_aka_bloom_transform"].s);
    // A lookup for an address-derived partial key must match the node's own transform.
    CHECK(bloom_transform(pk) == x);
    auto pos = Bloom::positions(x);
    for (size_t i = 0; i < pos.size(); i++) CHECK_EQ(pos[i], t["bloom_positions_of_transformed_key"][i].u64());
  }
}

TEST(router_bloom_vectors) {
  json::Value v = load("bloom.json");
  for (const auto& t : v["vectors"].a) {
    Key x = key_from_hex(t["transformed_key"].s);
    CHECK(bloom_transform(key_from_hex(t["public_key"].s)) == x);
    Murmur128 h = murmur3_x64_128(x.data(), x.size());
    CHECK(h.h1 == std::strtoull(t["murmur3_x64_128(transformed)"][0].s.c_str(), nullptr, 16));
    CHECK(h.h2 == std::strtoull(t["murmur3_x64_128(transformed)"][1].s.c_str(), nullptr, 16));
    Bloom b;
    b.add(x);
    CHECK(b.test(x));
    Bytes frame;
    encode(b, &frame);
    Bytes want = json::hex(t["captured_frame_hex_from_real_node"].s);
    CHECK(Bytes(want.begin() + 1, want.end()) == frame);  // want carries the 1-byte length prefix
    Bloom back;
    CHECK(decode(frame.data() + 1, frame.size() - 1, &back) && back == b);
  }
}

TEST(router_murmur_tails) {
  // Every tail length goes through a different branch; check against independently computed values.
  const uint8_t data[] = "The quick brown fox jumps over the lazy dog";
  Murmur128 h = murmur3_x64_128(data, 43);
  CHECK(h.h1 == 0xe34bbc7bbc071b6cull && h.h2 == 0x7a433ca9c49a9347ull);
  Murmur128 e = murmur3_x64_128(data, 0);
  CHECK(e.h1 == 0 && e.h2 == 0);
}

TEST(router_bloom_codec_edges) {
  Bloom b;
  Bytes frame;
  encode(b, &frame);
  CHECK(to_hex(frame.data(), frame.size()) == "05" + std::string(32, 'f') + std::string(32, '0'));
  // A word flagged both all-zero and all-one is an error; so is a missing or extra word.
  Bytes both = frame;
  both[1 + 16] = 0x80;
  Bloom out;
  CHECK(!decode(both.data() + 1, both.size() - 1, &out));
  Bytes extra = frame;
  extra.push_back(0);
  CHECK(!decode(extra.data() + 1, extra.size() - 1, &out));
  Bytes ones = frame;
  ones[1] = 0x7f, ones[1 + 16] = 0x80;  // word 0 all ones
  CHECK(decode(ones.data() + 1, ones.size() - 1, &out) && out.words()[0] == ~uint64_t{0});
}

TEST(router_capture_ab_roundtrip) { check_capture("capture-2node-ab.json", 400); }
TEST(router_capture_bc_roundtrip) { check_capture("capture-3node-bc.json", 100); }

TEST(router_annotated_frames) {
  // §9.2 A → B PathLookup: dest is B's address-derived partial key, from = [1].
  Bytes f = json::hex(
      "062daf1d88b955c76ebae83f22170729c530e5ad379509a554f1d06cbdf0dcfacb14c2ebc0d88203dee7ec9f1e067a2fffffffffffffff"
      "ffffffffffffffffffff0100");
  PathLookup l;
  CHECK(roundtrip(f, &l));
  Address b_addr = address_for_key(sender_key("B"));
  CHECK(l.dest == partial_key_for_prefix(b_addr.data(), b_addr.size()));
  CHECK(l.from == Path{1});
  // Signed message of A's Announce adopting B (seq 2, port 1).
  uint8_t msg[kMaxSigBytes];
  size_t n = sig_bytes(sender_key("A"), sender_key("B"), 2, 17644953070610102731ull, 1, msg);
  CHECK(to_hex(msg, n) ==
        "2daf1d88b955c76ebae83f22170729c530e5ad379509a554f1d06cbdf0dcfacb14c2ebc0d88203dee7ec9f1e067a2b109bd8874de62871"
        "ff420486bed143d65202cbf39ce1caeaddeff40101");
  // Notify info input for seq 1795622379 at the root.
  NotifyInfo info{1795622379, {}, {}};
  Bytes m;
  info.signed_bytes(&m);
  CHECK(to_hex(m.data(), m.size()) == "eb8b9cd80600");
}

TEST(router_frame_rejects) {
  Traffic t;
  const uint8_t no_keys[] = {0, 0, 1};
  CHECK(!decode(no_keys, sizeof no_keys, &t));
  SigReq r;
  const uint8_t trailing[] = {2, 3, 0};
  CHECK(!decode(trailing, sizeof trailing, &r));
  const uint8_t overlong[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0};
  CHECK(!decode(overlong, sizeof overlong, &r));
  Announce a;
  CHECK(!decode(trailing, sizeof trailing, &a));
}
