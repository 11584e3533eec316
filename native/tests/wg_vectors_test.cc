// Known-answer tests from /work/shared/specs/wireguard-vectors (override the directory with WG_VECTORS).
#include <cstdlib>
#include <cstring>
#include <string>

#include "../core/wireguard/cookie.h"
#include "../core/wireguard/keypair.h"
#include "../core/wireguard/messages.h"
#include "../core/wireguard/noise.h"
#include "../core/wireguard/peer.h"
#include "../core/wireguard/ratelimiter.h"
#include "../crypto/hash.h"
#include "harness.h"
#include "json_mini.h"
#include "wg_testnet.h"

using namespace gw::wg;

namespace {

json::Value vec(const char* name) {
  const char* dir = std::getenv("WG_VECTORS");
  return json::load(std::string(dir ? dir : "/work/shared/specs/wireguard-vectors") + "/" + name);
}

bool same(const uint8_t* a, const std::vector<uint8_t>& b) { return std::memcmp(a, b.data(), b.size()) == 0; }

// Deterministic Rng that replays fixed bytes (the cookie vector's nonce).
struct FixedBytes {
  std::vector<uint8_t> bytes;
  static bool fill(void* ctx, uint8_t* buf, size_t len) {
    auto* f = static_cast<FixedBytes*>(ctx);
    for (size_t i = 0; i < len; ++i) buf[i] = f->bytes.empty() ? 0 : f->bytes[i % f->bytes.size()];
    return true;
  }
};

}  // namespace

TEST(tai64n_vectors) {
  json::Value v = vec("tai64n.json");
  for (const json::Value& c : v["cases"].a) {
    uint64_t ns = c["unix_seconds"].u64() * 1000000000ull + c["nanoseconds"].u64();
    Tai64n t = tai64n_from_unix_ns(ns);
    CHECK(same(t.bytes, json::hex(c["tai64n"].s)));
  }
  Tai64n a = tai64n_from_unix_ns(1000 * kSecond), b = tai64n_from_unix_ns(1000 * kSecond + 20 * kMillisecond);
  CHECK(tai64n_after(b, a) && !tai64n_after(a, b) && !tai64n_after(a, a));
}

TEST(padding_vectors) {
  json::Value v = vec("padding.json");
  for (const json::Value& c : v["cases"].a) {
    CHECK_EQ(padded_length(c["inner_len"].u64(), c["mtu"].u64()), c["padded_len"].u64());
  }
}

namespace {

void run_replay(const std::vector<std::pair<uint64_t, bool>>& seq, uint64_t limit) {
  ReplayWindow w;
  size_t step = 0;
  for (auto& [counter, accept] : seq) {
    bool got = w.check_and_update(counter, limit);
    if (got != accept) std::printf("  step %zu counter %llu\n", step, (unsigned long long)counter);
    CHECK(got == accept);
    ++step;
  }
}

}  // namespace

TEST(replay_window_vectors) {
  json::Value v = vec("replay_window.json");
  uint64_t window = v["window"].u64(), limit = v["limit"].u64();
  CHECK_EQ(window, ReplayWindow::kWindowSize);
  CHECK_EQ(limit, ReplayWindow::kRejectAfterMessages);
  for (const json::Value& c : v["cases"].a) {
    std::vector<std::pair<uint64_t, bool>> seq;
    for (const json::Value& s : c["sequence"].a) seq.emplace_back(s[0].u64(), s[1].b);
    run_replay(seq, limit);
  }
  // The generated cases of gen_vectors.py replay_cases(), rebuilt here.
  using Seq = std::vector<std::pair<uint64_t, bool>>;
  Seq a, b, c, d, e, f;
  for (uint64_t i = 1; i <= window; ++i) a.emplace_back(i, true);
  a.insert(a.end(), {{0, true}, {0, false}});
  for (uint64_t i = 2; i <= window + 1; ++i) b.emplace_back(i, true);
  b.insert(b.end(), {{1, true}, {0, false}});
  for (uint64_t i = window + 1; i-- > 0;) c.emplace_back(i, true);
  for (uint64_t i = window + 1; i >= 1; --i) d.emplace_back(i, true);
  d.emplace_back(0, false);
  for (uint64_t i = window; i >= 1; --i) e.emplace_back(i, true), f.emplace_back(i, true);
  e.insert(e.end(), {{window + 1, true}, {0, false}});
  f.insert(f.end(), {{0, true}, {window + 1, true}});
  for (const Seq* s : {&a, &b, &c, &d, &e, &f}) run_replay(*s, limit);
}

TEST(mac1_vectors) {
  json::Value v = vec("mac1.json");
  uint8_t key[32], mac[16];
  derive_mac1_key(json::hex(v["receiver_static_public"].s).data(), key);
  CHECK(same(key, json::hex(v["mac1_key"].s)));
  auto p116 = json::hex(v["msg_prefix_116"].s), p60 = json::hex(v["msg_prefix_60"].s);
  gw::crypto::blake2s_mac16(key, 32, p116.data(), p116.size(), mac);
  CHECK(same(mac, json::hex(v["mac1_over_116"].s)));
  gw::crypto::blake2s_mac16(key, 32, p60.data(), p60.size(), mac);
  CHECK(same(mac, json::hex(v["mac1_over_60"].s)));
  uint8_t k42[32];
  std::memset(k42, 0x42, 32);
  derive_mac1_key(k42, key);
  CHECK(same(key, json::hex(v["extra_mac1_key_for_public_key_42x32"].s)));
  derive_cookie_key(k42, key);
  CHECK(same(key, json::hex(v["cookie_key_for_public_key_42x32"].s)));
}

namespace {

// Drives both roles of the handshake vector through the production noise/cookie/keypair code.
void run_handshake_vector(const char* file) {
  json::Value v = vec(file);
  const json::Value& in = v["inputs"];
  auto h = [&](const char* k) { return json::hex(in[k].s); };
  LocalIdentity ini, res;
  CHECK(ini.set(h("initiator_static_private").data()));
  CHECK(res.set(h("responder_static_private").data()));
  CHECK(same(ini.public_key, h("initiator_static_public")));
  CHECK(same(res.public_key, h("responder_static_public")));

  // Initiator → message 1.
  Handshake hi;
  std::memcpy(hi.remote_static, res.public_key, 32);
  std::memcpy(hi.preshared_key, h("preshared_key").data(), 32);
  hi.precompute(ini);
  Tai64n ts;
  std::memcpy(ts.bytes, h("timestamp_tai64n").data(), 12);
  MsgInitiation init;
  CHECK(create_initiation(hi, ini, h("initiator_ephemeral_private").data(), ts,
                          static_cast<uint32_t>(in["initiator_sender_index"].u64()), &init));
  CookieGenerator to_responder;
  to_responder.init(res.public_key);
  to_responder.add_macs(bytes(init), sizeof init, 0);
  CHECK(same(bytes(init), json::hex(v["messages"]["initiation"].s)));

  // Responder consumes it and answers.
  CookieChecker checker;
  checker.init(res.public_key);
  CHECK(checker.check_mac1(bytes(init), sizeof init));
  ConsumedInitiation ci;
  CHECK(consume_initiation_static(res, init, &ci));
  CHECK(std::memcmp(ci.remote_static, ini.public_key, 32) == 0);
  Handshake hr;
  std::memcpy(hr.remote_static, ini.public_key, 32);
  std::memcpy(hr.preshared_key, h("preshared_key").data(), 32);
  hr.precompute(res);
  CHECK(consume_initiation_timestamp(hr, ci, init));
  CHECK(initiation_is_fresh(hr, ci, 0));
  commit_initiation(hr, ci, 0);
  MsgResponse resp;
  CHECK(create_response(hr, h("responder_ephemeral_private").data(),
                        static_cast<uint32_t>(in["responder_sender_index"].u64()), &resp));
  CookieGenerator to_initiator;
  to_initiator.init(ini.public_key);
  to_initiator.add_macs(bytes(resp), sizeof resp, 0);
  CHECK(same(bytes(resp), json::hex(v["messages"]["response"].s)));
  SessionKeys rk;
  CHECK(begin_session(hr, &rk));
  CHECK(same(rk.send, json::hex(v["session"]["responder_send_key"].s)));
  CHECK(same(rk.recv, json::hex(v["session"]["responder_receive_key"].s)));

  // The same initiation again is a replay.
  ConsumedInitiation again;
  CHECK(consume_initiation_static(res, init, &again) && consume_initiation_timestamp(hr, again, init));
  CHECK(!initiation_is_fresh(hr, again, kSecond));

  // Initiator consumes the response.
  CHECK(consume_response(hi, ini, resp));
  SessionKeys ik;
  CHECK(begin_session(hi, &ik));
  CHECK(same(ik.send, json::hex(v["session"]["initiator_send_key"].s)));
  CHECK(same(ik.recv, json::hex(v["session"]["initiator_receive_key"].s)));
  CHECK(ik.initiator && !rk.initiator);

  // Transport packets, sealed by the production path and opened by the peer's keypair.
  Keypair ki(ik, 0), kr(rk, 0);
  const json::Value& t = v["transport"];
  auto seal_and_compare = [&](Keypair& k, uint64_t ctr, const std::string& inner_hex, const std::string& want_hex) {
    auto inner = json::hex(inner_hex), want = json::hex(want_hex);
    std::vector<uint8_t> buf(kTransportHeaderSize + inner.size() + kTransportTailroom);
    if (!inner.empty()) std::memcpy(buf.data() + kTransportHeaderSize, inner.data(), inner.size());
    size_t wire = seal_transport(k, ctr, buf.data(), inner.size(), buf.size(), 1420);
    CHECK_EQ(wire, want.size());
    CHECK(wire == want.size() && std::memcmp(buf.data(), want.data(), wire) == 0);
    return want;
  };
  auto open_ok = [&](Keypair& k, std::vector<uint8_t> w) {
    const uint64_t counter = transport_counter(w.data());
    return k.decrypt(counter, w.data() + 16, w.size() - 32, Keypair::kLocked) &&
           k.accept_counter(counter, ReplayWindow::kRejectAfterMessages);
  };
  auto p0 = seal_and_compare(ki, 0, t["i_to_r_inner_plaintext"].s, t["i_to_r_counter0"].s);
  auto p1 = seal_and_compare(ki, 1, "", t["i_to_r_keepalive_counter1"].s);
  auto p2 = seal_and_compare(kr, 0, t["r_to_i_inner_plaintext"].s, t["r_to_i_counter0"].s);
  CHECK(open_ok(kr, p0) && open_ok(kr, p1) && open_ok(ki, p2));
  CHECK(!open_ok(kr, p0));  // replay
}

}  // namespace

TEST(handshake_vector_nopsk) { run_handshake_vector("handshake_nopsk.json"); }
TEST(handshake_vector_psk) { run_handshake_vector("handshake_psk.json"); }

// The wireguard-go-verified initiation bytes are accepted by a Device holding the responder key.
TEST(handshake_vector_through_device) {
  json::Value v = vec("handshake_nopsk.json");
  const json::Value& in = v["inputs"];
  DeviceConfig cfg;
  wgtest::TestRng rng{42, {}};
  cfg.rng.fill = &wgtest::TestRng::fill;
  cfg.rng.ctx = &rng;
  Device dev(cfg);
  CHECK(dev.set_private_key(json::hex(in["responder_static_private"].s).data()));
  PeerRef p = dev.add_peer(json::hex(in["initiator_static_public"].s).data());
  wgtest::Net net;
  struct CaptureSink : Sink {
    std::vector<std::vector<uint8_t>> sent;
    void send(Peer*, const Endpoint&, const uint8_t* d, size_t n) override { sent.emplace_back(d, d + n); }
    bool allowed_source(Peer&, const uint8_t*, size_t) override { return true; }
    void deliver(Peer&, uint8_t*, size_t) override {}
  } sink;
  auto msg = json::hex(v["messages"]["initiation"].s);
  CHECK(dev.receive(wgtest::make_endpoint(7, 51820), msg.data(), msg.size(), net.now, sink) == RxResult::kHandshake);
  CHECK(sink.sent.size() == 1 && sink.sent[0].size() == kResponseSize);
  CHECK(p->endpoint().port == 51820);
  auto again = json::hex(v["messages"]["initiation"].s);
  CHECK(dev.receive(wgtest::make_endpoint(7, 51820), again.data(), again.size(), net.now + kSecond, sink) ==
        RxResult::kDropped);
  CHECK_EQ(dev.drop_count(DropReason::kHandshakeReplay), 1u);
}

TEST(cookie_vector) {
  json::Value v = vec("cookie.json");
  json::Value hs = vec("handshake_nopsk.json");
  auto rpub = json::hex(v["responder_static_public"].s);
  uint8_t key[32];
  derive_cookie_key(rpub.data(), key);
  CHECK(same(key, json::hex(v["cookie_encryption_key_HASH(LABEL_COOKIE||S_r_pub)"].s)));

  CookieChecker checker;
  checker.init(rpub.data());
  checker.set_secret_for_test(json::hex(v["cookie_secret"].s).data(), 0);
  FixedBytes nonce{json::hex(v["nonce24"].s)};
  Rng rng;
  rng.fill = &FixedBytes::fill;
  rng.ctx = &nonce;
  Endpoint src = wgtest::make_endpoint(7, 51820);
  uint8_t sb[18];
  CHECK(endpoint_source_bytes(src, sb) == 6 && same(sb, json::hex(v["source_bytes_ip_then_port_be"].s)));

  auto init = json::hex(hs["messages"]["initiation"].s);
  MsgCookieReply reply;
  CHECK(checker.create_reply(init.data(), init.size(), load_le32(init.data() + 4), src, kSecond, rng, &reply));
  CHECK(same(bytes(reply), json::hex(v["cookie_reply"].s)));

  // The initiator (which sent exactly that mac1) stores the cookie and re-sends with mac2.
  CookieGenerator gen;
  gen.init(rpub.data());
  gen.add_macs(init.data(), init.size(), kSecond);
  MsgCookieReply tampered = reply;
  tampered.encrypted_cookie[3] ^= 1;
  CHECK(!gen.consume_reply(tampered, kSecond));
  CHECK(gen.consume_reply(reply, kSecond));
  CHECK(!gen.consume_reply(reply, kSecond));  // one cookie per mac1
  gen.add_macs(init.data(), init.size(), 2 * kSecond);
  CHECK(same(init.data(), json::hex(v["initiation_resent_with_mac2"].s)));
  CHECK(same(init.data() + 132, json::hex(v["mac2"].s)));
  CHECK(checker.check_mac2(init.data(), init.size(), src, 2 * kSecond, rng));
  CHECK(!checker.check_mac2(init.data(), init.size(), wgtest::make_endpoint(8, 51820), 2 * kSecond, rng));
  // The cookie expires after 120 s: mac2 goes back to zero.
  gen.add_macs(init.data(), init.size(), kSecond + kCookieRefreshTimeNs);
  uint8_t zero[16] = {};
  CHECK(std::memcmp(init.data() + 132, zero, 16) == 0);
}

TEST(cookie_secret_rotates) {
  uint8_t pub[32] = {1};
  CookieChecker checker;
  checker.init(pub);
  wgtest::TestRng r{7, {}};
  Rng rng;
  rng.fill = &wgtest::TestRng::fill;
  rng.ctx = &r;
  uint8_t msg[kInitiationSize] = {1};
  Endpoint src = wgtest::make_endpoint(9, 1000);
  MsgCookieReply a, b, c;
  checker.create_reply(msg, sizeof msg, 1, src, 0, rng, &a);
  // Same secret within 120 s: decrypting both replies yields the same cookie.
  checker.create_reply(msg, sizeof msg, 1, src, 119 * kSecond, rng, &b);
  checker.create_reply(msg, sizeof msg, 1, src, 121 * kSecond, rng, &c);
  uint8_t ck[32], ca[16], cb[16], cc[16];
  derive_cookie_key(pub, ck);
  const uint8_t* ad = msg + kInitiationMac1Offset;
  CHECK(gw::crypto::xchacha_open(ck, a.nonce, ad, 16, a.encrypted_cookie, 16, ca));
  CHECK(gw::crypto::xchacha_open(ck, b.nonce, ad, 16, b.encrypted_cookie, 16, cb));
  CHECK(gw::crypto::xchacha_open(ck, c.nonce, ad, 16, c.encrypted_cookie, 16, cc));
  CHECK(std::memcmp(ca, cb, 16) == 0);
  CHECK(std::memcmp(ca, cc, 16) != 0);
}

TEST(messages_classify_and_decode) {
  uint8_t buf[200] = {};
  buf[0] = 1;
  CHECK(classify(buf, 148) == MessageType::kInitiation);
  CHECK(classify(buf, 147) == MessageType::kInvalid);
  buf[1] = 1;  // reserved byte set
  CHECK(classify(buf, 148) == MessageType::kInvalid);
  buf[1] = 0, buf[0] = 2;
  CHECK(classify(buf, 92) == MessageType::kResponse && classify(buf, 93) == MessageType::kInvalid);
  buf[0] = 3;
  CHECK(classify(buf, 64) == MessageType::kCookieReply);
  buf[0] = 4;
  CHECK(classify(buf, 32) == MessageType::kTransport && classify(buf, 31) == MessageType::kInvalid);
  buf[0] = 5;
  CHECK(classify(buf, 148) == MessageType::kInvalid && classify(buf, 0) == MessageType::kInvalid);
  MsgResponse r;
  buf[0] = 2;
  CHECK(decode(buf, 92, &r) && !decode(buf, 148, &r));
  // Inner packet trimming.
  uint8_t ip[64] = {0x45, 0, 0, 40};
  CHECK_EQ(inner_packet_length(ip, 48), 40u);
  CHECK_EQ(inner_packet_length(ip, 39), 0u);
  ip[3] = 19;
  CHECK_EQ(inner_packet_length(ip, 48), 0u);
  uint8_t ip6[64] = {0x60, 0, 0, 0, 0, 8};
  CHECK_EQ(inner_packet_length(ip6, 64), 48u);
  CHECK_EQ(inner_packet_length(ip6, 47), 0u);
}

TEST(ratelimiter_burst_then_refill) {
  RateLimiter rl;
  Endpoint a = wgtest::make_endpoint(1, 1), b = wgtest::make_endpoint(2, 1);
  uint64_t t = 5 * kSecond;
  int ok = 0;
  for (int i = 0; i < 10; ++i) ok += rl.allow(a, t);
  CHECK_EQ(ok, 5);
  CHECK(rl.allow(b, t));  // per source
  Endpoint a_other_port = wgtest::make_endpoint(1, 2);
  CHECK(!rl.allow(a_other_port, t));  // keyed by address, not port
  CHECK(rl.allow(a, t + 50 * kMillisecond));  // one token per 50 ms
  CHECK(!rl.allow(a, t + 60 * kMillisecond));
  CHECK(rl.allow(a, t + 10 * kSecond));
}

TEST(send_counter_limits) {
  SessionKeys keys{};
  Keypair k(keys, 0);
  uint64_t first = 99;
  CHECK(k.reserve_counters(3, 10, &first) && first == 0);
  CHECK(k.reserve_counters(7, 10, &first) && first == 3);
  CHECK(!k.reserve_counters(1, 10, &first));
  CHECK(!k.reserve_counters(1, 10, &first));
  Keypair k2(keys, 0);
  CHECK(!k2.reserve_counters(UINT64_MAX, ReplayWindow::kRejectAfterMessages, &first));
}
