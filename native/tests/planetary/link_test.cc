// Tests for the planetary link layer (core/planetary/link), TCP and TLS transports (io/tcp, io/tls):
// handshake vectors, in-memory link pairs under arbitrary chunkings, the §3.5 timer rules on a fake
// clock, loopback TLS, and interop with the real yggdrasil 0.5.12 in a private network namespace.
// Vectors: $YGG_VECTORS (default /work/shared/specs/yggdrasil-0.5-vectors); the real node:
// $YGG_BIN (default /opt/gridwire-peers/bin/yggdrasil). Run one test: link_test <substring>.
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <random>
#include <utility>
#include <string>
#include <vector>

#include "../../core/planetary/link.h"
#include "../../core/planetary/wire.h"
#include "../../crypto/crypto.h"
#include "../../crypto/curve.h"
#include "../../crypto/hash.h"
#include "../../io/tcp.h"
#include "../../io/tls.h"
#include "../harness.h"
#include "../json_mini.h"

using namespace gw::planetary;
using gw::io::Endpoint;
using gw::io::TlsConn;
using gw::io::TlsContext;
using gw::io::TlsRole;
using gw::io::TlsStatus;

namespace {

using ByteVec = std::vector<uint8_t>;

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}
std::string vectors_dir() { return env_or("YGG_VECTORS", "/work/shared/specs/yggdrasil-0.5-vectors"); }
std::string ygg_bin() { return env_or("YGG_BIN", "/opt/gridwire-peers/bin/yggdrasil"); }

ByteVec unhex(const std::string& h) {
  auto v = json::hex(h);
  return ByteVec(v.begin(), v.end());
}
std::string tohex(const uint8_t* p, size_t n) {
  std::string s;
  char b[3];
  for (size_t i = 0; i < n; i++) std::snprintf(b, 3, "%02x", p[i]), s += b;
  return s;
}
Bytes span_of(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

LinkIdentity identity_from_private(const std::string& hex128) {
  ByteVec k = unhex(hex128);
  LinkIdentity id;
  std::memcpy(id.seed, k.data(), 32);
  std::memcpy(id.public_key.data(), k.data() + 32, 32);
  return id;
}
LinkIdentity identity_from_config(const std::string& file) {
  return identity_from_private(json::load(vectors_dir() + "/configs/" + file)["PrivateKey"].s);
}
LinkIdentity random_identity() {
  LinkIdentity id;
  gw::crypto::random_bytes(id.seed, 32);
  gw::crypto::ed25519_public(id.seed, id.public_key.data());
  return id;
}

LinkOptions options(const std::string& password = "", uint8_t priority = 0, std::vector<Key> pins = {}) {
  LinkOptions o;
  o.set_password(span_of(password));
  o.priority = priority;
  o.pinned_keys = std::move(pins);
  return o;
}

// Records everything a Link asks of its sink; optionally reacts to frames like a router would.
struct Recorder : LinkSink {
  ByteVec out;
  std::vector<ByteVec> frames;
  bool is_up = false, closed = false;
  Key peer{};
  uint8_t prio = 0;
  LinkError err = LinkError::kNone;
  std::string reason;
  int closes = 0;
  void (*on_frame)(Recorder&, Bytes) = nullptr;
  Link* link = nullptr;

  void write(Bytes head, Bytes body) override {
    out.insert(out.end(), head.begin(), head.end());
    out.insert(out.end(), body.begin(), body.end());
  }
  void up(const Key& k, uint8_t p) override { is_up = true, peer = k, prio = p; }
  void frame(Bytes f) override {
    frames.emplace_back(f.begin(), f.end());
    if (on_frame) on_frame(*this, f);
  }
  void close(LinkError e, const char* r) override { closed = true, err = e, reason = r, closes++; }
  ByteVec take() { return std::exchange(out, {}); }
};

// Feeds bytes in chunks: size 0 = one call with everything, otherwise random sizes in [1, max_chunk].
void feed(Link& l, Recorder& r, const ByteVec& bytes, uint64_t now, size_t max_chunk = 0, uint32_t seed = 1) {
  std::mt19937 rng(seed);
  size_t i = 0;
  while (i < bytes.size()) {
    size_t n = max_chunk == 0 ? bytes.size() - i : std::min(bytes.size() - i, 1 + rng() % max_chunk);
    l.on_bytes(bytes.data() + i, n, now, r);
    i += n;
  }
}

// Two links wired back to back in memory.
struct Pair {
  LinkIdentity ida, idb;
  Recorder ra, rb;
  Link a, b;
  Pair(LinkOptions oa = {}, LinkOptions ob = {}, LinkIdentity ia = random_identity(), LinkIdentity ib = random_identity())
      : ida(ia), idb(ib), a(ida, std::move(oa), LinkDirection::kOutbound), b(idb, std::move(ob), LinkDirection::kInbound) {
    ra.link = &a, rb.link = &b;
  }
  void start(uint64_t now) {
    a.start(now, ra);
    b.start(now, rb);
  }
  // Delivers what each side has written so far to the other.
  void exchange(uint64_t now, size_t chunk = 0) {
    ByteVec ab = ra.take(), ba = rb.take();
    feed(b, rb, ab, now, chunk);
    feed(a, ra, ba, now, chunk);
  }
  bool handshake(uint64_t now = 0) {
    start(now);
    exchange(now);
    return a.is_up() && b.is_up();
  }
};

ByteVec frame_bytes(const ByteVec& frame) {
  uint8_t h[10];
  size_t n = put_uvarint(h, frame.size());
  ByteVec out(h, h + n);
  out.insert(out.end(), frame.begin(), frame.end());
  return out;
}

ByteVec random_frame(std::mt19937& rng, size_t max_len) {
  ByteVec f(1 + rng() % max_len);
  for (auto& b : f) b = static_cast<uint8_t>(rng());
  f[0] = static_cast<uint8_t>(2 + rng() % 254);  // router types only; 0/1 belong to the link
  return f;
}

const json::Value& handshake_vectors() {
  static json::Value v = json::load(vectors_dir() + "/handshakes.json");
  return v["vectors"];
}

// The preamble of a vector after `edit`, fed to a fresh link expecting `password`.
Recorder refuse(ByteVec pre, const std::string& password) {
  Recorder r;
  Link l(random_identity(), options(password), LinkDirection::kInbound);
  l.start(0, r);
  l.on_bytes(pre.data(), pre.size(), 0, r);
  return r;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Handshake vectors

TEST(preamble_vectors_rebuild) {
  for (const json::Value& v : handshake_vectors().a) {
    LinkIdentity id = identity_from_config(v["private_key_config"].s);
    ByteVec want = unhex(v["hex"].s);
    uint8_t got[kPreambleLen];
    CHECK(build_preamble(id, 0, span_of(v["password"].s), got));
    CHECK_EQ(want.size(), kPreambleLen);
    CHECK(std::memcmp(got, want.data(), kPreambleLen) == 0);
    uint8_t h[64];
    gw::crypto::blake2b512(reinterpret_cast<const uint8_t*>(v["password"].s.data()), v["password"].s.size(),
                           id.public_key.data(), 32, h);
    CHECK(tohex(h, 64) == v["blake2b512"].s);
  }
}

TEST(preamble_vectors_verify) {
  for (const json::Value& v : handshake_vectors().a) {
    ByteVec pre = unhex(v["hex"].s);
    Preamble p;
    CHECK(check_preamble(pre.data(), pre.size(), span_of(v["password"].s), &p) == LinkError::kNone);
    CHECK(tohex(p.key.data(), 32) == v["parsed"]["public_key"].s);
    CHECK_EQ(p.priority, v["parsed"]["priority"].u64());
    // E's listener (password hunter2) refuses every client vector signed with another password.
    bool other_pw = v["password"].s != "hunter2";
    if (v["private_key_config"].s == "k7.json")
      CHECK((check_preamble(pre.data(), pre.size(), span_of("hunter2"), &p) == LinkError::kPasswordMismatch) ==
            other_pw);
  }
}

TEST(preamble_vectors_through_link) {
  for (const json::Value& v : handshake_vectors().a) {
    ByteVec pre = unhex(v["hex"].s);
    for (size_t chunk : {size_t{0}, size_t{1}, size_t{7}}) {
      Recorder r;
      Link l(random_identity(), options(v["password"].s, 2), LinkDirection::kOutbound);
      l.start(0, r);
      CHECK_EQ(r.out.size(), kPreambleLen);
      feed(l, r, pre, 0, chunk);
      CHECK(l.is_up() && r.is_up && !r.closed);
      CHECK(tohex(r.peer.data(), 32) == v["parsed"]["public_key"].s);
      CHECK_EQ(r.prio, 2);  // max(ours 2, theirs 0)
    }
  }
}

TEST(preamble_tampered_refused) {
  const json::Value& v = handshake_vectors()[0];  // node B, no password
  ByteVec pre = unhex(v["hex"].s);
  auto edited = [&](size_t off, uint8_t val) {
    ByteVec p = pre;
    p[off] = val;
    return p;
  };
  CHECK(refuse(edited(0, 'M'), "").err == LinkError::kNotYggdrasil);
  CHECK(refuse(edited(5, 63), "").err == LinkError::kBadPreamble);   // L < 64
  CHECK(refuse(edited(60, 0x91), "").err == LinkError::kPasswordMismatch);  // signature byte
  CHECK(refuse(edited(30, 0x00), "").err == LinkError::kPasswordMismatch);  // key byte
  CHECK(refuse(pre, "hunter2").err == LinkError::kPasswordMismatch);
  Recorder minor4 = refuse(edited(17, 4), "");  // the signature covers only the key, so this verifies
  CHECK(minor4.err == LinkError::kIncompatibleVersion);
  CHECK(minor4.reason == "remote node incompatible version (local 0.5, remote 0.4)");
  CHECK(refuse(edited(11, 1), "").err == LinkError::kIncompatibleVersion);  // major 1
  CHECK(refuse(edited(21, 33), "").err == LinkError::kBadPreamble);         // key TLV length corrupted
  CHECK(refuse(edited(12, 7), "").err == LinkError::kIncompatibleVersion);  // minor TLV retyped: no minor
  for (const Recorder& r : {refuse(edited(0, 'M'), ""), minor4}) CHECK(r.closes == 1 && !r.is_up);
}

TEST(preamble_unknown_tlv_and_priority) {
  const json::Value& v = handshake_vectors()[1];  // node A
  ByteVec pre = unhex(v["hex"].s);
  // An extra unknown TLV before the signature, with L adjusted: skipped (forward compatibility).
  ByteVec longer(pre.begin(), pre.end() - 64);
  for (uint8_t b : {0x00, 0x63, 0x00, 0x03, 0xaa, 0xbb, 0xcc}) longer.push_back(b);
  longer.insert(longer.end(), pre.end() - 64, pre.end());
  longer[5] = static_cast<uint8_t>(longer.size() - 6);
  longer[53 + 4 + 1] = 9;  // remote priority 9
  Recorder r;
  Link l(random_identity(), options("", 4), LinkDirection::kInbound);
  l.start(0, r);
  feed(l, r, longer, 0, 5);
  CHECK(r.is_up);
  CHECK_EQ(r.prio, 9);
  // Our priority goes into TLV 3 and leaves the signature unchanged (it signs the key only).
  LinkIdentity id = identity_from_config("a.json");
  uint8_t p0[kPreambleLen], p7[kPreambleLen];
  build_preamble(id, 0, {}, p0);
  build_preamble(id, 7, {}, p7);
  CHECK_EQ(p7[58], 7);
  CHECK(std::memcmp(p0, p7, 58) == 0 && std::memcmp(p0 + 59, p7 + 59, kPreambleLen - 59) == 0);
}

// ---------------------------------------------------------------------------------------------------
// Link pairs in memory

TEST(pair_frames_any_chunking) {
  std::mt19937 rng(7);
  for (size_t chunk : {size_t{0}, size_t{1}, size_t{3}, size_t{100}, size_t{5000}}) {
    Pair p;
    p.start(0);
    // B's preamble reaches A alone; A's preamble and A's frames reach B coalesced.
    feed(p.a, p.ra, p.rb.take(), 0, chunk);
    CHECK(p.a.is_up());
    std::vector<ByteVec> sent;
    for (int i = 0; i < 40; i++) sent.push_back(random_frame(rng, i % 10 == 0 ? 3000 : 40));
    sent.push_back(random_frame(rng, 1));
    ByteVec big = random_frame(rng, 1);
    big.resize(kMaxFrameLen, 0x5a);
    sent.push_back(big);
    for (const ByteVec& f : sent) CHECK(p.a.send_frame(f, 0, p.ra));
    feed(p.b, p.rb, p.ra.take(), 0, chunk, static_cast<uint32_t>(chunk));
    CHECK(p.b.is_up() && !p.rb.closed);
    CHECK(p.rb.frames == sent);
  }
}

TEST(pair_keepalive_and_dummy_not_delivered) {
  Pair p;
  CHECK(p.handshake());
  ByteVec in = {0x01, 0x01, 0x03, 0x00, 0xde, 0xad, 0x02, 0x0a, 0x00, 0x01, 0xff};
  feed(p.b, p.rb, in, 0, 1);
  CHECK_EQ(p.rb.frames.size(), 2u);  // type 10 and type 255 go to the router; KeepAlive and Dummy stop here
  CHECK(p.rb.frames[0] == (ByteVec{0x0a, 0x00}));
  CHECK(p.rb.frames[1] == (ByteVec{0xff}));
  CHECK(!p.rb.closed);
}

TEST(pair_password) {
  {
    Pair p(options("hunter2"), options("hunter2"));
    CHECK(p.handshake());
  }
  {
    Pair p(options("hunter2"), options(""));
    CHECK(!p.handshake());
    CHECK(p.ra.err == LinkError::kPasswordMismatch && p.rb.err == LinkError::kPasswordMismatch);
    CHECK(p.ra.reason == "password does not match remote side");
  }
  {
    Pair p(options("hunter2"), options("hunter3"));
    CHECK(!p.handshake());
  }
  LinkOptions o;
  CHECK(o.set_password(span_of(std::string(64, 'x'))));
  CHECK(!o.set_password(span_of(std::string(65, 'x'))));
  CHECK_EQ(o.password_len, 64);
  std::string pw64(64, 'q');
  Pair p(options(pw64), options(pw64));
  CHECK(p.handshake());
}

TEST(pair_key_pinning) {
  LinkIdentity ib = random_identity(), other = random_identity();
  {
    Pair p(options("", 0, {other.public_key, ib.public_key}), {}, random_identity(), ib);
    CHECK(p.handshake());
  }
  {
    Pair p(options("", 0, {other.public_key}), {}, random_identity(), ib);
    CHECK(!p.handshake());
    CHECK(p.ra.err == LinkError::kPinnedKeyMismatch && !p.ra.is_up);
    CHECK(p.b.is_up());  // only the pinning side refuses
  }
  {
    LinkIdentity same = random_identity();
    Pair p({}, {}, same, same);
    CHECK(!p.handshake());
    CHECK(p.ra.err == LinkError::kOwnKey);
  }
}

TEST(pair_priority_is_max) {
  Pair p(options("", 3), options("", 7));
  CHECK(p.handshake());
  CHECK_EQ(p.ra.prio, 7);
  CHECK_EQ(p.rb.prio, 7);
  CHECK_EQ(p.a.priority(), 7);
}

TEST(frame_length_errors) {
  struct Case {
    ByteVec bytes;
    LinkError err;
  };
  ByteVec ok_max = {0xfe, 0xff, 0x07, 0x05};  // 131070: accepted
  ok_max.resize(3 + kMaxFrameLen, 0);
  std::vector<Case> cases = {
      {{0x00}, LinkError::kEmptyFrame},
      {{0xff, 0xff, 0x07}, LinkError::kOversizedFrame},  // 131071
      {{0x80, 0x80, 0x80, 0x80, 0x01}, LinkError::kOversizedFrame},
      {{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, LinkError::kBadLength},  // 11 bytes
      {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, LinkError::kBadLength},        // > 2^64
      {{0x02, 0x05, 0x01, 0x00}, LinkError::kEmptyFrame},  // a good frame, then an empty one
      {ok_max, LinkError::kNone},
      {{0x81, 0x00, 0x07}, LinkError::kNone},  // non-minimal 1, like Go's ReadUvarint accepts
  };
  for (const Case& c : cases) {
    for (size_t chunk : {size_t{0}, size_t{1}}) {
      Pair p;
      CHECK(p.handshake());
      feed(p.b, p.rb, c.bytes, 0, chunk);
      CHECK(p.rb.err == c.err);
      CHECK_EQ(p.rb.closed, c.err != LinkError::kNone);
      CHECK(p.rb.closes <= 1);
    }
  }
}

TEST(send_frame_rules) {
  Pair p;
  ByteVec f = {0x02, 0x01};
  p.start(0);
  CHECK(!p.a.send_frame(f, 0, p.ra));  // not up yet
  p.exchange(0);
  CHECK(!p.a.send_frame({}, 0, p.ra));
  ByteVec big(kMaxFrameLen + 1, 0x02);
  CHECK(!p.a.send_frame(big, 0, p.ra));
  CHECK(p.ra.out.empty());
  big.pop_back();
  CHECK(p.a.send_frame(big, 0, p.ra));
  CHECK_EQ(p.ra.out.size(), 3 + kMaxFrameLen);
  CHECK(p.a.send_frame(f, 0, p.ra));
  CHECK(p.ra.out[3 + kMaxFrameLen] == 0x02);
}

TEST(router_stop_discards_rest) {
  Pair p;
  CHECK(p.handshake());
  p.rb.on_frame = [](Recorder& r, Bytes f) {
    if (f[0] == 0x0a) r.link->stop();
  };
  ByteVec in = {0x01, 0x02, 0x01, 0x0a, 0x01, 0x03};
  CHECK(!p.b.on_bytes(in.data(), in.size(), 0, p.rb));
  CHECK_EQ(p.rb.frames.size(), 2u);
  CHECK(!p.rb.closed);  // the owner decided; no close() echo
  CHECK(p.b.is_closed());
}

// ---------------------------------------------------------------------------------------------------
// §3.5 timers on a fake clock

TEST(timer_handshake_deadline) {
  Recorder r;
  Link l(random_identity(), {}, LinkDirection::kOutbound);
  const uint64_t t0 = 5 * kSecond;
  l.start(t0, r);
  CHECK_EQ(l.next_deadline(), t0 + 6 * kSecond);
  l.tick(t0 + 6 * kSecond - 1, r);
  CHECK(!r.closed);
  l.tick(t0 + 6 * kSecond, r);
  CHECK(r.err == LinkError::kHandshakeTimeout);
  CHECK_EQ(l.next_deadline(), kNoDeadline);
}

TEST(timer_idle_link_has_no_deadline) {
  Pair p;
  CHECK(p.handshake(1));
  CHECK_EQ(p.a.next_deadline(), kNoDeadline);
  p.a.tick(1000 * kSecond, p.ra);
  CHECK(!p.ra.closed && p.ra.out.empty());
}

TEST(timer_peer_timeout_3s) {
  Pair p;
  CHECK(p.handshake());
  const uint64_t t = 10 * kSecond;
  ByteVec f = {0x04, 0x00};
  p.a.send_frame(f, t, p.ra);
  CHECK_EQ(p.a.next_deadline(), t + 3 * kSecond);
  p.a.send_frame(f, t + 2 * kSecond, p.ra);  // a second send does not push the deadline
  CHECK_EQ(p.a.next_deadline(), t + 3 * kSecond);
  ByteVec ka = {0x01};
  p.a.send_frame(ka, t + 2 * kSecond, p.ra);  // nor does a keepalive
  p.a.tick(t + 3 * kSecond - 1, p.ra);
  CHECK(!p.ra.closed);
  p.a.tick(t + 3 * kSecond, p.ra);
  CHECK(p.ra.err == LinkError::kPeerTimeout);
  CHECK(!p.a.send_frame(f, t + 4 * kSecond, p.ra));
}

TEST(timer_any_frame_disarms_timeout) {
  Pair p;
  CHECK(p.handshake());
  const uint64_t t = 10 * kSecond;
  p.a.send_frame(ByteVec{0x04}, t, p.ra);
  ByteVec keepalive = {0x01, 0x01};
  feed(p.a, p.ra, keepalive, t + 2 * kSecond);
  CHECK_EQ(p.a.next_deadline(), kNoDeadline);  // a received keepalive schedules nothing either
  p.a.tick(t + 10 * kSecond, p.ra);
  CHECK(!p.ra.closed);
  // A partial frame is not "hearing something": the deadline stays armed until a frame completes.
  p.a.send_frame(ByteVec{0x04}, t + 20 * kSecond, p.ra);
  ByteVec partial = {0x03, 0x05};
  feed(p.a, p.ra, partial, t + 21 * kSecond);
  CHECK_EQ(p.a.next_deadline(), t + 23 * kSecond);
}

TEST(timer_keepalive_1s_after_receive) {
  Pair p;
  CHECK(p.handshake());
  p.rb.take();
  const uint64_t t = 10 * kSecond;
  ByteVec f = frame_bytes({0x05, 0x00});
  feed(p.b, p.rb, f, t);
  CHECK_EQ(p.b.next_deadline(), t + kSecond);
  feed(p.b, p.rb, f, t + kSecond / 2);  // already pending: not rescheduled
  CHECK_EQ(p.b.next_deadline(), t + kSecond);
  p.b.tick(t + kSecond - 1, p.rb);
  CHECK(p.rb.out.empty());
  p.b.tick(t + kSecond, p.rb);
  CHECK(p.rb.out == (ByteVec{0x01, 0x01}));
  CHECK_EQ(p.b.next_deadline(), kNoDeadline);  // a keepalive arms no read deadline
  p.b.tick(t + 5 * kSecond, p.rb);
  CHECK(!p.rb.closed);
}

TEST(timer_send_cancels_keepalive) {
  Pair p;
  CHECK(p.handshake());
  p.rb.take();
  const uint64_t t = 10 * kSecond;
  feed(p.b, p.rb, frame_bytes({0x05}), t);
  p.b.send_frame(ByteVec{0x06, 0x01}, t + kSecond / 2, p.rb);
  CHECK_EQ(p.b.next_deadline(), t + kSecond / 2 + 3 * kSecond);  // only the read deadline remains
  p.rb.take();
  p.b.tick(t + 2 * kSecond, p.rb);
  CHECK(p.rb.out.empty());
  // A reply sent from inside frame() cancels the keepalive scheduled for that same frame.
  p.rb.on_frame = [](Recorder& r, Bytes) { r.link->send_frame(ByteVec{0x03}, 20 * kSecond, r); };
  feed(p.b, p.rb, frame_bytes({0x02}), 20 * kSecond);
  CHECK_EQ(p.b.next_deadline(), 23 * kSecond);  // the frame disarmed the old deadline, the reply armed one
}

TEST(timer_pair_stays_up_on_keepalives) {
  // Both sides send router traffic every 2.5 s; only link keepalives answer. Nothing may time out.
  Pair p;
  CHECK(p.handshake());
  for (uint64_t t = kSecond; t < 60 * kSecond; t += 100 * kMillisecond) {
    if (t % (2500 * kMillisecond) == 0) p.a.send_frame(ByteVec{0x04}, t, p.ra), p.b.send_frame(ByteVec{0x05}, t, p.rb);
    p.a.tick(t, p.ra);
    p.b.tick(t, p.rb);
    p.exchange(t, 2);
  }
  CHECK(p.a.is_up() && p.b.is_up());
  CHECK_EQ(p.ra.frames.size(), 23u);
}

// ---------------------------------------------------------------------------------------------------
// Transports on loopback

namespace {

uint64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * kSecond + uint64_t(ts.tv_nsec);
}

Endpoint ep(const char* text) {
  Endpoint e;
  Endpoint::parse(text, &e);
  return e;
}

int wait_fd(int fd, short events, int ms) {
  pollfd p{fd, events, 0};
  return poll(&p, 1, ms);
}

// A Link driven over a real socket, optionally through TLS: the engine in miniature.
struct Conn : LinkSink {
  const char* name;
  int fd = -1;
  bool connecting = false;
  std::unique_ptr<TlsConn> tls;
  bool transport_ready = false;
  Link link;
  ByteVec out;
  bool is_up = false, closed = false, eof = false;
  LinkError err = LinkError::kNone;
  std::string reason;
  size_t frames = 0, keepalives_sent = 0;
  Key peer{};
  uint8_t prio = 0;
  uint64_t up_at = 0;

  Conn(const char* n, const LinkIdentity& id, LinkOptions o, LinkDirection d) : name(n), link(id, std::move(o), d) {}
  ~Conn() {
    if (fd >= 0) ::close(fd);
  }

  void write(Bytes head, Bytes body) override {
    if (body.size() == 1 && body[0] == kFrameKeepAlive) keepalives_sent++;
    out.insert(out.end(), head.begin(), head.end());
    out.insert(out.end(), body.begin(), body.end());
  }
  void up(const Key& k, uint8_t p) override { is_up = true, peer = k, prio = p, up_at = mono_ns(); }
  void frame(Bytes) override { frames++; }
  void close(LinkError e, const char* r) override {
    closed = true, err = e, reason = r;
    std::printf("  [%s] link closed: %s\n", name, r);
  }

  bool dead() const { return closed || eof; }

  void step(uint64_t now) {
    if (dead() || !ready(now)) return;
    flush();
    read_all(now);
    link.tick(now, *this);
    flush();
  }

 private:
  bool ready(uint64_t now) {
    if (transport_ready) return true;
    if (connecting) {
      int r = gw::io::tcp_connect_result(fd);
      if (r == -EINPROGRESS) return false;
      if (r != 0) return fail_io("connect failed");
      connecting = false;
    }
    if (tls) {
      TlsStatus s = tls->handshake();
      if (s == TlsStatus::kWantRead || s == TlsStatus::kWantWrite) return false;
      if (s != TlsStatus::kOk) return fail_io(tls->error());
    }
    transport_ready = true;
    link.start(now, *this);
    return true;
  }
  bool fail_io(const char* why) {
    std::printf("  [%s] transport: %s\n", name, why);
    eof = true;
    return false;
  }
  void flush() {
    while (!out.empty()) {
      ssize_t n;
      if (tls) {
        auto r = tls->write(out.data(), out.size());
        n = r.status == TlsStatus::kOk ? ssize_t(r.bytes) : r.status == TlsStatus::kError ? -EIO : -EAGAIN;
      } else {
        n = gw::io::tcp_write(fd, out.data(), out.size());
      }
      if (n == -EAGAIN) return;
      if (n < 0) return (void)fail_io("write failed");
      out.erase(out.begin(), out.begin() + n);
    }
  }
  void read_all(uint64_t now) {
    uint8_t buf[16384];
    while (!dead()) {
      ssize_t n;
      if (tls) {
        auto r = tls->read(buf, sizeof buf);
        n = r.status == TlsStatus::kOk ? ssize_t(r.bytes) : r.status == TlsStatus::kClosed ? 0
            : r.status == TlsStatus::kError ? -EIO : -EAGAIN;
      } else {
        n = gw::io::tcp_read(fd, buf, sizeof buf);
      }
      if (n == -EAGAIN) return;
      if (n <= 0) return (void)fail_io(n == 0 ? "peer closed the connection" : "read failed");
      link.on_bytes(buf, size_t(n), now, *this);
    }
  }
};

std::unique_ptr<Conn> make_conn(const char* name, int fd, bool connecting, const TlsContext* tls, TlsRole role,
                                const LinkIdentity& id, LinkOptions o) {
  auto c = std::make_unique<Conn>(name, id, std::move(o),
                                  role == TlsRole::kClient ? LinkDirection::kOutbound : LinkDirection::kInbound);
  c->fd = fd;
  c->connecting = connecting;
  if (tls) {
    c->tls = std::make_unique<TlsConn>();
    const char* e = c->tls->open(*tls, fd, role);
    if (e) std::printf("  [%s] tls open: %s\n", name, e);
  }
  return c;
}

// Steps all conns every few ms until `done` says so or `ms` pass.
template <typename Done>
void run_loop(std::vector<Conn*> conns, int ms, Done done) {
  uint64_t end = mono_ns() + uint64_t(ms) * kMillisecond;
  while (mono_ns() < end && !done()) {
    std::vector<pollfd> fds;
    for (Conn* c : conns) fds.push_back({c->fd, short(POLLIN | (c->out.empty() && !c->connecting ? 0 : POLLOUT)), 0});
    poll(fds.data(), fds.size(), 5);
    for (Conn* c : conns) c->step(mono_ns());
  }
}

int tls_version(const Conn& c) { return c.tls ? SSL_version(c.tls->ssl()) : 0; }

}  // namespace

TEST(tcp_listen_connect_rw) {
  for (const char* listen_at : {"127.0.0.1:0", "[::]:0"}) {
    uint16_t port = 0;
    int lfd = gw::io::tcp_listen(ep(listen_at), 16, &port);
    CHECK(lfd >= 0);
    CHECK(port != 0);
    CHECK_EQ(gw::io::tcp_accept(lfd, nullptr), -EAGAIN);
    char to[64];
    std::snprintf(to, sizeof to, "127.0.0.1:%u", port);  // the v6 wildcard listener is dual-stack
    int cfd = gw::io::tcp_connect(ep(to));
    CHECK(cfd >= 0);
    wait_fd(cfd, POLLOUT, 1000);
    CHECK_EQ(gw::io::tcp_connect_result(cfd), 0);
    wait_fd(lfd, POLLIN, 1000);
    Endpoint peer;
    int sfd = gw::io::tcp_accept(lfd, &peer);
    CHECK(sfd >= 0);
    CHECK(peer.family() == AF_INET);  // v4-mapped is normalised
    uint8_t buf[64];
    CHECK_EQ(gw::io::tcp_read(sfd, buf, sizeof buf), -EAGAIN);
    gw::io::IovBatch batch;
    uint8_t a[] = {1, 2}, b[] = {3, 4, 5};
    CHECK(batch.add(a, 2) && batch.add(b, 0) && batch.add(b, 3));
    CHECK_EQ(batch.pending_bytes(), 5u);
    CHECK_EQ(batch.flush(cfd), 5);
    CHECK(batch.empty());
    wait_fd(sfd, POLLIN, 1000);
    CHECK_EQ(gw::io::tcp_read(sfd, buf, sizeof buf), 5);
    CHECK(buf[0] == 1 && buf[4] == 5);
    ::close(cfd);
    wait_fd(sfd, POLLIN, 1000);
    CHECK_EQ(gw::io::tcp_read(sfd, buf, sizeof buf), 0);
    ::close(sfd);
    ::close(lfd);
  }
}

TEST(tcp_connect_refused_and_short_write) {
  int fd = gw::io::tcp_connect(ep("127.0.0.1:1"));
  CHECK(fd >= 0);
  wait_fd(fd, POLLOUT, 1000);
  CHECK_EQ(gw::io::tcp_connect_result(fd), -ECONNREFUSED);
  ::close(fd);
  // Fill a socket until EAGAIN so IovBatch keeps a partial tail.
  uint16_t port = 0;
  int lfd = gw::io::tcp_listen(ep("127.0.0.1:0"), 4, &port);
  char to[64];
  std::snprintf(to, sizeof to, "127.0.0.1:%u", port);
  int cfd = gw::io::tcp_connect(ep(to));
  wait_fd(cfd, POLLOUT, 1000);
  std::vector<uint8_t> big(1 << 20, 0x11);
  gw::io::IovBatch batch;
  for (int i = 0; i < 16; i++) batch.add(big.data(), big.size());
  ssize_t total = 0, n;
  while ((n = batch.flush(cfd)) > 0) total += n;
  CHECK_EQ(n, -EAGAIN);
  CHECK_EQ(size_t(total) + batch.pending_bytes(), 16u * big.size());
  CHECK(!batch.empty());
  ::close(cfd);
  ::close(lfd);
}

namespace {
// A certificate the real 0.5.12 served (throw-away key generated with -genconf), for byte comparison.
constexpr char kRealSeed[] = "884e0109687d539a3bcb3a9ba0ea884de0679ceee412816756315998a1de59c5";
constexpr char kRealCert[] =
    "3082017c3082012ea003020102020101300506032b6570304b314930470603550403134038626362386436373338333361393764"
    "3263656230356462626137373538613861366637346230383836303833663865323036653737663664373634636234393020170d"
    "3236313132353137303733385a180f39393939313233313233353935395a304b3149304706035504031340386263623864363733"
    "38333361393764326365623035646262613737353861386136663734623038383630383366386532303665373766366437363463"
    "623439302a300506032b65700321008bcb8d673833a97d2ceb05dbba7758a8a6f74b0886083f8e206e77f6d764cb49a335303330"
    "0e0603551d0f0101ff0404030205a030130603551d25040c300a06082b06010505070301300c0603551d130101ff040230003005"
    "06032b6570034100440bd8ca00f3031bb9e3170b4a6c33c5d7a4f4573f45e82264a8071e0028cd6f16fdba1320da65d7f0a0dc93"
    "3eb522a266b260b1b59d60df474f4acb85cdcd02";

int64_t asn1_unix(const ASN1_TIME* t) {
  tm parts{};
  ASN1_TIME_to_tm(t, &parts);
  return timegm(&parts);
}

ByteVec cert_der(X509* cert) {
  ByteVec der(size_t(i2d_X509(cert, nullptr)));
  uint8_t* p = der.data();
  i2d_X509(cert, &p);
  return der;
}
}  // namespace

TEST(tls_certificate_matches_reference) {
  ByteVec seed = unhex(kRealSeed), want = unhex(kRealCert);
  const uint8_t* p = want.data();
  X509* real = d2i_X509(nullptr, &p, long(want.size()));
  CHECK(real != nullptr);
  TlsContext ctx;
  CHECK(ctx.init(seed.data(), asn1_unix(X509_get0_notBefore(real))) == nullptr);
  uint8_t der[1024];
  size_t n = ctx.certificate_der(der, sizeof der);
  CHECK(n == want.size() && std::memcmp(der, want.data(), n) == 0);  // Ed25519 is deterministic
  X509_free(real);
}

TEST(tls_loopback_link) {
  LinkIdentity ia = random_identity(), ib = random_identity();
  TlsContext ca, cb;
  CHECK(ca.init(ia.seed) == nullptr && cb.init(ib.seed) == nullptr);
  uint16_t port = 0;
  int lfd = gw::io::tcp_listen(ep("127.0.0.1:0"), 4, &port);
  char to[64];
  std::snprintf(to, sizeof to, "127.0.0.1:%u", port);
  auto client = make_conn("tls-client", gw::io::tcp_connect(ep(to)), true, &ca, TlsRole::kClient, ia,
                          options("pw", 1, {ib.public_key}));
  wait_fd(lfd, POLLIN, 1000);
  auto server = make_conn("tls-server", gw::io::tcp_accept(lfd, nullptr), false, &cb, TlsRole::kServer, ib,
                          options("pw"));
  run_loop({client.get(), server.get()}, 3000, [&] { return client->is_up && server->is_up; });
  CHECK(client->is_up && server->is_up);
  CHECK(client->peer == ib.public_key && server->peer == ia.public_key);
  CHECK_EQ(tls_version(*client), TLS1_3_VERSION);
  X509* peer_cert = SSL_get_peer_certificate(client->tls->ssl());
  CHECK(peer_cert != nullptr);
  char cn[80] = "";
  X509_NAME_get_text_by_NID(X509_get_subject_name(peer_cert), NID_commonName, cn, sizeof cn);
  CHECK(std::string(cn) == tohex(ib.public_key.data(), 32));
  X509_free(peer_cert);
  // Router traffic each way, then keepalives keep both sides alive past the 3 s timeout.
  client->link.send_frame(ByteVec{0x04, 1, 2, 3}, mono_ns(), *client);
  server->link.send_frame(ByteVec{0x05}, mono_ns(), *server);
  run_loop({client.get(), server.get()}, 3500, [] { return false; });
  CHECK(!client->dead() && !server->dead());
  CHECK(client->frames == 1 && server->frames == 1);
  CHECK(client->keepalives_sent == 1 && server->keepalives_sent == 1);
  ::close(lfd);
}

TEST(tls_server_refuses_tls12) {
  LinkIdentity ib = random_identity();
  TlsContext cb, ca;
  CHECK(cb.init(ib.seed) == nullptr && ca.init(random_identity().seed) == nullptr);
  uint16_t port = 0;
  int lfd = gw::io::tcp_listen(ep("127.0.0.1:0"), 4, &port);
  char to[64];
  std::snprintf(to, sizeof to, "127.0.0.1:%u", port);
  auto client = make_conn("tls12-client", gw::io::tcp_connect(ep(to)), true, &ca, TlsRole::kClient,
                          random_identity(), {});
  SSL_set_max_proto_version(client->tls->ssl(), TLS1_2_VERSION);
  wait_fd(lfd, POLLIN, 1000);
  auto server = make_conn("tls-server", gw::io::tcp_accept(lfd, nullptr), false, &cb, TlsRole::kServer, ib, {});
  run_loop({client.get(), server.get()}, 2000, [&] { return client->eof && server->eof; });
  CHECK(client->eof && server->eof && !client->is_up && !server->is_up);
  ::close(lfd);
}

// ---------------------------------------------------------------------------------------------------
// Interop with the real yggdrasil 0.5.12

namespace {

bool write_file(const std::string& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return false;
  std::fputs(text.c_str(), f);
  return std::fclose(f) == 0;
}

std::string read_cmd(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

bool lo_up() {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq ifr{};
  std::strcpy(ifr.ifr_name, "lo");
  bool ok = s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags |= IFF_UP, ioctl(s, SIOCSIFFLAGS, &ifr) == 0);
  if (s >= 0) ::close(s);
  return ok;
}

// Everything the interop test creates, undone in the destructor on every path: the node is killed
// (and would die with us anyway: PDEATHSIG), we return to the original namespace (the private one
// vanishes with its last process), the scratch directory goes.
struct Sandbox {
  std::string dir;
  int orig_ns = -1;
  pid_t node = -1;

  bool enter() {
    char tmpl[] = "/tmp/gwlink-XXXXXX";
    if (!mkdtemp(tmpl)) return false;
    dir = tmpl;
    orig_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    return orig_ns >= 0 && unshare(CLONE_NEWNET) == 0 && lo_up();
  }
  bool start_node(const std::string& bin, const std::string& conf) {
    node = fork();
    if (node == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      int log = open((dir + "/node.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(log, 1), dup2(log, 2);
      execl(bin.c_str(), "yggdrasil", "-useconffile", conf.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    return node > 0;
  }
  void stop_node() {
    if (node <= 0) return;
    kill(node, SIGTERM);
    for (int i = 0; i < 300 && waitpid(node, nullptr, WNOHANG) == 0; i++) usleep(10000);
    if (kill(node, 0) == 0) kill(node, SIGKILL), waitpid(node, nullptr, 0);
    node = -1;
  }
  std::string log() const { return read_cmd("cat " + dir + "/node.log"); }
  ~Sandbox() {
    stop_node();
    if (orig_ns >= 0) setns(orig_ns, CLONE_NEWNET), ::close(orig_ns);
    if (!dir.empty()) read_cmd("rm -rf " + dir);
  }
};

constexpr uint16_t kNodeTcp = 41001, kNodeTls = 41002, kNodePw = 41003;

std::string node_config(const std::string& priv, const std::string& dir, uint16_t our_tcp, uint16_t our_tls) {
  char buf[2048];
  std::snprintf(buf, sizeof buf,
                "{\n \"PrivateKey\": \"%s\",\n"
                " \"Peers\": [\"tcp://127.0.0.1:%u\", \"tls://127.0.0.1:%u\"],\n \"InterfacePeers\": {},\n"
                " \"Listen\": [\"tcp://127.0.0.1:%u\", \"tls://127.0.0.1:%u\", \"tcp://127.0.0.1:%u?password=hunter2\"],\n"
                " \"MulticastInterfaces\": [],\n \"AllowedPublicKeys\": [],\n \"IfName\": \"none\",\n"
                " \"IfMTU\": 65535,\n \"NodeInfoPrivacy\": false,\n \"NodeInfo\": null,\n"
                " \"AdminListen\": \"unix://%s/admin.sock\"\n}\n",
                priv.c_str(), our_tcp, our_tls, kNodeTcp, kNodeTls, kNodePw, dir.c_str());
  return buf;
}

bool wait_listening(uint16_t port, int ms) {
  char to[32];
  std::snprintf(to, sizeof to, "127.0.0.1:%u", port);
  for (uint64_t end = mono_ns() + uint64_t(ms) * kMillisecond; mono_ns() < end; usleep(50000)) {
    int fd = gw::io::tcp_connect(ep(to));
    wait_fd(fd, POLLOUT, 200);
    bool ok = gw::io::tcp_connect_result(fd) == 0;
    ::close(fd);
    if (ok) return true;
  }
  return false;
}

int dial(uint16_t port) {
  char to[32];
  std::snprintf(to, sizeof to, "127.0.0.1:%u", port);
  return gw::io::tcp_connect(ep(to));
}

// The peer entries of `getPeers -json` that carry our key and are up. The output is one flat object
// per peer, so splitting on '{' is enough.
int peers_up_with_key(const std::string& json_text, const std::string& key_hex) {
  int n = 0;
  size_t pos = 0;
  while ((pos = json_text.find('{', pos + 1)) != std::string::npos) {
    std::string obj = json_text.substr(pos, json_text.find('}', pos) - pos);
    if (obj.find("\"" + key_hex + "\"") != std::string::npos && obj.find("\"up\": true") != std::string::npos) n++;
  }
  return n;
}

}  // namespace

TEST(interop_real_yggdrasil) {
  std::string bin = ygg_bin();
  if (access(bin.c_str(), X_OK) != 0) return (void)std::printf("  skip: %s not found\n", bin.c_str());
  if (geteuid() != 0) return (void)std::printf("  skip: needs root for a private network namespace\n");
  Sandbox sb;
  CHECK(sb.enter());
  if (harness::failures()) return;

  LinkIdentity me = random_identity();
  std::string node_priv = json::load(vectors_dir() + "/configs/a.json")["PrivateKey"].s;
  LinkIdentity node = identity_from_private(node_priv);
  TlsContext tls;
  CHECK(tls.init(me.seed) == nullptr);
  uint16_t our_tcp = 0, our_tls = 0;
  int ltcp = gw::io::tcp_listen(ep("127.0.0.1:0"), 8, &our_tcp), ltls = gw::io::tcp_listen(ep("127.0.0.1:0"), 8, &our_tls);
  std::string conf = sb.dir + "/node.json";
  CHECK(write_file(conf, node_config(node_priv, sb.dir, our_tcp, our_tls)));
  CHECK(sb.start_node(bin, conf));
  bool listening = wait_listening(kNodeTcp, 10000) && wait_listening(kNodeTls, 2000);
  CHECK(listening);
  if (!listening) return (void)std::printf("%s", sb.log().c_str());

  // Outbound over tcp:// (pinned to the node's key, priority 3) and tls://, plus the node's own dials
  // to our listeners (its Peers), plus a password listener with the right and a wrong password.
  std::vector<std::unique_ptr<Conn>> conns;
  conns.push_back(make_conn("out-tcp", dial(kNodeTcp), true, nullptr, TlsRole::kClient, me,
                            options("", 3, {node.public_key})));
  conns.push_back(make_conn("out-tls", dial(kNodeTls), true, &tls, TlsRole::kClient, me, {}));
  conns.push_back(make_conn("out-pw", dial(kNodePw), true, nullptr, TlsRole::kClient, me, options("hunter2")));
  auto wrong_pw = make_conn("out-wrongpw", dial(kNodePw), true, nullptr, TlsRole::kClient, me, options("wrongpw"));
  for (int lfd : {ltcp, ltls}) {
    CHECK(wait_fd(lfd, POLLIN, 5000) == 1);
    bool is_tls = lfd == ltls;
    conns.push_back(make_conn(is_tls ? "in-tls" : "in-tcp", gw::io::tcp_accept(lfd, nullptr), false,
                              is_tls ? &tls : nullptr, TlsRole::kServer, me, {}));
  }
  std::vector<Conn*> all;
  for (auto& c : conns) all.push_back(c.get());
  auto all_up = [&] { return std::all_of(all.begin(), all.end(), [](Conn* c) { return c->is_up || c->dead(); }); };
  all.push_back(wrong_pw.get());
  run_loop(all, 8000, all_up);
  all.pop_back();
  for (Conn* c : all) CHECK(c->is_up && c->peer == node.public_key);
  CHECK(wrong_pw->err == LinkError::kPasswordMismatch || wrong_pw->eof);
  CHECK(!wrong_pw->is_up);
  CHECK_EQ(conns[0]->prio, 3);

  // Stay up ≥ 5 s answering only with keepalives, then ask the node who its peers are.
  run_loop(all, 5500, [&] { return std::any_of(all.begin(), all.end(), [](Conn* c) { return c->dead(); }); });
  std::string key_hex = tohex(me.public_key.data(), 32);
  std::string ctl = bin.substr(0, bin.rfind('/') + 1) + "yggdrasilctl";
  std::string peers = read_cmd(ctl + " -json -endpoint unix://" + sb.dir + "/admin.sock getPeers 2>&1");
  run_loop(all, 500, [&] { return std::any_of(all.begin(), all.end(), [](Conn* c) { return c->dead(); }); });
  int listed = peers_up_with_key(peers, key_hex);
  CHECK_EQ(listed, int(all.size()));
  CHECK(peers.find("\"priority\": 3") != std::string::npos);  // the node also takes max(0, our 3)
  CHECK(sb.log().find("Disconnected") == std::string::npos);
  for (Conn* c : all) {
    CHECK(!c->dead());
    CHECK(c->frames > 0 && c->keepalives_sent > 0);
    CHECK(mono_ns() - c->up_at >= 5 * kSecond);
    std::printf("  %-8s up %.1f s, %zu frames in, %zu keepalives out, priority %u%s\n", c->name,
                double(mono_ns() - c->up_at) / 1e9, c->frames, c->keepalives_sent, c->prio,
                c->tls ? (tls_version(*c) == TLS1_3_VERSION ? ", TLS 1.3" : ", TLS ?") : "");
  }
  std::printf("  getPeers lists our key on %d up links\n", listed);

  // Our certificate code reproduces the node's own certificate byte for byte from its key.
  X509* cert = SSL_get_peer_certificate(conns[1]->tls->ssl());
  CHECK(cert != nullptr);
  if (cert) {
    TlsContext mirror;
    CHECK(mirror.init(node.seed, asn1_unix(X509_get0_notBefore(cert))) == nullptr);
    CHECK(cert_der(cert) == cert_der(mirror.certificate()));
    X509_free(cert);
  }
  if (harness::failures() || std::getenv("LINK_TEST_VERBOSE")) std::printf("--- getPeers ---\n%s--- node log ---\n%s", peers.c_str(), sb.log().c_str());
  conns.clear();
  wrong_pw.reset();
  ::close(ltcp);
  ::close(ltls);
}

int main(int argc, char** argv) {
  if (const char* err = gw::crypto::init()) {
    std::printf("crypto init failed: %s\n", err);
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  return harness::run_all(argc > 1 ? argv[1] : nullptr);
}
