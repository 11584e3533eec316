#include "session.h"

#include <algorithm>
#include <cstring>

#include "../../crypto/curve.h"
#include "../../crypto/secretbox.h"
#include "wire.h"

namespace gw::planetary {

namespace {

constexpr size_t kBoxKeyLen = 32;
constexpr size_t kTag = crypto::kBoxOverhead;
constexpr size_t kSignedLen = 3 * kBoxKeyLen + 16;              // E ‖ current ‖ next ‖ keySeq ‖ seq
constexpr size_t kHelloPlainLen = kSigLen + kSignedLen - kBoxKeyLen;  // sig ‖ current ‖ next ‖ keySeq ‖ seq

void put_u64be(uint8_t* p, uint64_t v) {
  for (int i = 7; i >= 0; i--, v >>= 8) p[i] = static_cast<uint8_t>(v);
}

uint64_t get_u64be(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
  return v;
}

void make_nonce(uint64_t n, uint8_t out[crypto::kXNonceLen]) {
  std::memset(out, 0, 16);
  put_u64be(out + 16, n);
}

// A small-order key gives no usable shared secret (the reference would derive a publicly known one).
// A random key instead makes every packet under it fail, which the state machine repairs with an Init.
void derive_shared(const uint8_t pub[32], const uint8_t priv[32], uint8_t out[32]) {
  if (!crypto::box_beforenm(pub, priv, out)) crypto::random_bytes(out, 32);
}

SessionHello make_hello(const uint8_t current[32], const uint8_t next[32], uint64_t key_seq, uint64_t seq) {
  SessionHello hello;
  std::memcpy(hello.current, current, 32);
  std::memcpy(hello.next, next, 32);
  hello.key_seq = key_seq;
  hello.seq = seq;
  return hello;
}

}  // namespace

bool seal_session_hello(uint8_t type, const uint8_t sender_seed[32], const uint8_t eph_pub[32],
                        const uint8_t box_key[32], const SessionHello& hello, uint8_t out[kSessionHelloSize]) {
  uint8_t signed_part[kSignedLen];
  std::memcpy(signed_part, eph_pub, 32);
  std::memcpy(signed_part + 32, hello.current, 32);
  std::memcpy(signed_part + 64, hello.next, 32);
  put_u64be(signed_part + 96, hello.key_seq);
  put_u64be(signed_part + 104, hello.seq);
  uint8_t plain[kHelloPlainLen];
  if (!crypto::ed25519_sign(sender_seed, signed_part, kSignedLen, plain)) return false;
  std::memcpy(plain + kSigLen, signed_part + 32, kSignedLen - 32);
  uint8_t nonce[crypto::kXNonceLen];
  make_nonce(0, nonce);
  out[0] = type;
  std::memcpy(out + 1, eph_pub, 32);
  return crypto::secretbox_seal(box_key, nonce, plain, kHelloPlainLen, out + 33);
}

bool open_session_hello(const uint8_t x25519_priv[32], const Key& sender, const uint8_t* data, size_t len,
                        SessionHello* out) {
  if (len != kSessionHelloSize) return false;
  uint8_t key[32], nonce[crypto::kXNonceLen], plain[kHelloPlainLen];
  if (!crypto::box_beforenm(data + 1, x25519_priv, key)) return false;
  make_nonce(0, nonce);
  bool opened = crypto::secretbox_open(key, nonce, data + 33, kHelloPlainLen, plain);
  crypto::wipe(key, sizeof key);
  if (!opened) return false;
  uint8_t signed_part[kSignedLen];
  std::memcpy(signed_part, data + 1, 32);
  std::memcpy(signed_part + 32, plain + kSigLen, kSignedLen - 32);
  if (!crypto::ed25519_verify(sender.data(), signed_part, kSignedLen, plain)) return false;
  std::memcpy(out->current, signed_part + 32, 32);
  std::memcpy(out->next, signed_part + 64, 32);
  out->key_seq = get_u64be(signed_part + 96);
  out->seq = get_u64be(signed_part + 104);
  return true;
}

// ---------------------------------------------------------------------------------------------------------

Sessions::BoxPair::~BoxPair() { crypto::wipe(priv, sizeof priv); }

bool Sessions::BoxPair::generate() {
  return crypto::random_bytes(priv, sizeof priv) && crypto::x25519_public(priv, pub);
}

Sessions::Session::~Session() {
  crypto::wipe(recv_shared, 32);
  crypto::wipe(send_shared, 32);
  crypto::wipe(next_send_shared, 32);
  crypto::wipe(next_recv_shared, 32);
}

Sessions::Sessions(const uint8_t ed25519_seed[32], const SessionsConfig& config) : config_(config) {
  std::memcpy(seed_, ed25519_seed, 32);
  ok_ = crypto::ed25519_public(seed_, self_.data()) && crypto::ed25519_seed_to_x25519(seed_, x25519_priv_);
}

Sessions::~Sessions() {
  crypto::wipe(seed_, sizeof seed_);
  crypto::wipe(x25519_priv_, sizeof x25519_priv_);
}

// ------------------------------------------------------------------------------------------ key schedule

void Sessions::fix_shared(Session& s, uint64_t recv_nonce, uint64_t send_nonce) {
  derive_shared(s.current, s.recv.priv, s.recv_shared);
  derive_shared(s.current, s.send.priv, s.send_shared);
  derive_shared(s.next, s.send.priv, s.next_send_shared);
  derive_shared(s.next, s.recv.priv, s.next_recv_shared);
  s.next_send_nonce = s.next_recv_nonce = 0;
  s.recv_nonce = recv_nonce;
  s.send_nonce = send_nonce;
}

void Sessions::rotate_own(Session& s) {
  s.recv = s.send;
  s.send = s.nxt;
  s.nxt.generate();
  s.local_key_seq++;
}

void Sessions::update(Session& s, const SessionHello& hello, uint64_t now) {
  std::memcpy(s.current, hello.current, 32);
  std::memcpy(s.next, hello.next, 32);
  s.seq = hello.seq;
  s.remote_key_seq = hello.key_seq;
  rotate_own(s);
  // The send nonce is deliberately not rolled back (as the reference): the new send key is one the peer
  // may already have seen traffic under.
  fix_shared(s, 0, s.send_nonce);
  s.expires = now + kSessionTimeout;
}

void Sessions::ratchet(Session& s, const uint8_t inner_key[32], uint64_t nonce, uint64_t now) {
  std::memcpy(s.current, s.next, 32);
  std::memcpy(s.next, inner_key, 32);
  s.remote_key_seq++;
  rotate_own(s);
  fix_shared(s, nonce, 0);
  s.rotated_once = true;
  s.rotated = now;
}

// --------------------------------------------------------------------------------------------- sending

void Sessions::send_hello(uint8_t type, const Key& dest, const SessionHello& hello, SessionSink& sink) {
  uint8_t recipient[32], box_key[32];
  BoxPair eph;
  if (!crypto::ed25519_public_to_x25519(dest.data(), recipient) || !eph.generate() ||
      !crypto::box_beforenm(recipient, eph.priv, box_key))
    return;
  uint8_t packet[kSessionHelloSize];
  bool sealed = seal_session_hello(type, seed_, eph.pub, box_key, hello, packet);
  crypto::wipe(box_key, sizeof box_key);
  if (sealed) sink.send_traffic(dest, packet, sizeof packet);
}

void Sessions::send_own_hello(uint8_t type, const Key& dest, const Session& s, uint64_t now, SessionSink& sink) {
  send_hello(type, dest, make_hello(s.send.pub, s.nxt.pub, s.local_key_seq, unix_seconds(now)), sink);
}

// Traffic for a session we do not have: the sender may be spoofed or replayed, so nothing is stored; if it
// is real it answers with an Ack and the session is built from that.
void Sessions::send_throwaway_init(const Key& dest, uint64_t now, SessionSink& sink) {
  BoxPair current, next;
  if (current.generate() && next.generate())
    send_hello(kSessionInit, dest, make_hello(current.pub, next.pub, 0, unix_seconds(now)), sink);
}

void Sessions::send(const Key& dest, uint8_t* msg, size_t len, uint64_t now, SessionSink& sink) {
  if (!ok_) return;
  auto it = sessions_.find(dest);
  if (it == sessions_.end()) return buffer_and_init(dest, msg, len, now, sink);
  encrypt_traffic(dest, it->second, msg, len, now, sink);
}

void Sessions::send_copy(const Key& dest, const uint8_t* msg, size_t len, uint64_t now, SessionSink& sink) {
  if (tx_copy_.size() < kSessionHeadroom + len) tx_copy_.resize(kSessionHeadroom + len);
  std::memcpy(tx_copy_.data() + kSessionHeadroom, msg, len);
  send(dest, tx_copy_.data() + kSessionHeadroom, len, now, sink);
}

void Sessions::buffer_and_init(const Key& dest, const uint8_t* msg, size_t len, uint64_t now, SessionSink& sink) {
  auto [it, created] = buffers_.try_emplace(dest);
  Buffer& buf = it->second;
  if (created && !(buf.current.generate() && buf.next.generate())) {
    buffers_.erase(it);
    return;
  }
  if (created) buf.seq = unix_seconds(now);
  // Only the newest message survives (the reference keeps one).
  buf.data.resize(kSessionHeadroom + len);
  std::memcpy(buf.data.data() + kSessionHeadroom, msg, len);
  buf.has_data = true;
  buf.expires = now + kSessionTimeout;
  // The same Init each time, so a late Ack to an earlier copy still matches the buffered keys; its seq
  // stays that of the first attempt, as in the reference.
  send_hello(kSessionInit, dest, make_hello(buf.current.pub, buf.next.pub, 0, buf.seq), sink);
}

void Sessions::encrypt_traffic(const Key& dest, Session& s, uint8_t* msg, size_t len, uint64_t now,
                               SessionSink& sink) {
  if (++s.send_nonce == 0) {
    rotate_own(s);
    // The reference restarts at nonce 0 here, which the peer's `recvNonce < n` check then drops; 1 is the
    // first nonce it accepts under the new key.
    fix_shared(s, 0, 1);
  }
  uint8_t* inner = msg - kBoxKeyLen;
  std::memcpy(inner, s.nxt.pub, kBoxKeyLen);
  uint8_t* boxed = inner - kTag;
  uint8_t nonce[crypto::kXNonceLen];
  make_nonce(s.send_nonce, nonce);
  if (!crypto::secretbox_seal(s.send_shared, nonce, inner, kBoxKeyLen + len, boxed)) return;
  uint8_t header[1 + 3 * kMaxUvarintLen];
  size_t n = 0;
  header[n++] = kSessionTraffic;
  n += put_uvarint(header + n, s.local_key_seq);
  n += put_uvarint(header + n, s.remote_key_seq);
  n += put_uvarint(header + n, s.send_nonce);
  uint8_t* packet = boxed - n;
  std::memcpy(packet, header, n);
  s.tx_bytes += len;
  s.tx_packets++;
  s.expires = now + kSessionTimeout;
  sink.send_traffic(dest, packet, n + kTag + kBoxKeyLen + len);
}

// ------------------------------------------------------------------------------------------- receiving

void Sessions::receive(const Key& source, const uint8_t* data, size_t len, uint64_t now, SessionSink& sink) {
  if (!ok_ || len == 0) return;
  switch (data[0]) {
    case kSessionInit:
    case kSessionAck: {
      SessionHello hello;
      if (open_session_hello(x25519_priv_, source, data, len, &hello)) handle_hello(data[0], source, hello, now, sink);
      return;
    }
    case kSessionTraffic:
      return handle_traffic(source, data, len, now, sink);
    default:
      return;  // dummy and unknown types
  }
}

Sessions::Session& Sessions::create_session(const Key& source, const SessionHello& hello, uint64_t now,
                                            Buffer* taken) {
  Session& s = sessions_[source];
  s.seq = hello.seq - 1;  // so that this very message counts as newer
  std::memcpy(s.current, hello.current, 32);
  std::memcpy(s.next, hello.next, 32);
  s.recv.generate();
  s.send.generate();
  s.nxt.generate();
  s.since = now;
  s.expires = now + kSessionTimeout;
  auto buf = buffers_.find(source);
  if (buf != buffers_.end()) {
    // Our Init advertised these keys; the peer already encrypts to them.
    s.send = buf->second.current;
    s.nxt = buf->second.next;
    taken->data.swap(buf->second.data);
    taken->has_data = buf->second.has_data;
    buffers_.erase(buf);
  }
  fix_shared(s, 0, 0);
  return s;
}

void Sessions::handle_hello(uint8_t type, const Key& source, const SessionHello& hello, uint64_t now,
                            SessionSink& sink) {
  auto it = sessions_.find(source);
  bool existed = it != sessions_.end();
  Buffer taken;
  Session& s = existed ? it->second : create_session(source, hello, now, &taken);
  // An Ack that creates the session is answered like an Init: the peer learns our real keys only then.
  bool answer = type == kSessionInit || !existed;
  if (hello.seq > s.seq) {
    update(s, hello, now);
    if (answer) send_own_hello(kSessionAck, source, s, now, sink);
  }
  if (taken.has_data) {
    size_t len = taken.data.size() - kSessionHeadroom;
    encrypt_traffic(source, s, taken.data.data() + kSessionHeadroom, len, now, sink);
  }
}

void Sessions::handle_traffic(const Key& source, const uint8_t* data, size_t len, uint64_t now,
                              SessionSink& sink) {
  auto it = sessions_.find(source);
  if (it == sessions_.end()) return send_throwaway_init(source, now, sink);
  Session& s = it->second;
  if (len < kSessionTrafficMinSize) return;
  uint64_t rks, lks, nonce;
  size_t off = 1, n;
  if (!(n = get_uvarint(data + off, len - off, &rks))) return;
  off += n;
  if (!(n = get_uvarint(data + off, len - off, &lks))) return;
  off += n;
  if (!(n = get_uvarint(data + off, len - off, &nonce))) return;
  off += n;
  // Room for the tag and the inner key (the reference would index past a shorter plaintext).
  if (len - off < kTag + kBoxKeyLen) return;

  bool from_current = rks == s.remote_key_seq, from_next = rks == s.remote_key_seq + 1;
  bool to_recv = lks + 1 == s.local_key_seq, to_send = lks == s.local_key_seq;
  const uint8_t* key;
  uint64_t* counter;
  if (from_current && to_recv) {
    key = s.recv_shared, counter = &s.recv_nonce;
  } else if (from_next && to_send) {
    key = s.next_send_shared, counter = &s.next_send_nonce;
  } else if (from_next && to_recv) {
    key = s.next_recv_shared, counter = &s.next_recv_nonce;
  } else {
    return send_own_hello(kSessionInit, source, s, now, sink);
  }
  if (!(*counter < nonce)) return;  // replay, or reordered: there is no window

  size_t plain_len = len - off - kTag;
  if (rx_.size() < plain_len) rx_.resize(plain_len);
  uint8_t nonce24[crypto::kXNonceLen];
  make_nonce(nonce, nonce24);
  if (!crypto::secretbox_open(key, nonce24, data + off, plain_len, rx_.data()))
    return send_own_hello(kSessionInit, source, s, now, sink);

  *counter = nonce;
  // The peer has moved to its next key; follow, but at most once a minute (§5.6), which is what keeps
  // the two sides from ratcheting each other on every packet.
  if (from_next && (!s.rotated_once || now - s.rotated > kSessionTimeout)) ratchet(s, rx_.data(), nonce, now);
  s.rx_bytes += plain_len - kBoxKeyLen;
  s.rx_packets++;
  s.expires = now + kSessionTimeout;
  sink.deliver(source, rx_.data() + kBoxKeyLen, plain_len - kBoxKeyLen);
}

// -------------------------------------------------------------------------------------------- timers

void Sessions::tick(uint64_t now, SessionSink&) {
  std::erase_if(sessions_, [now](const auto& kv) { return now >= kv.second.expires; });
  std::erase_if(buffers_, [now](const auto& kv) { return now >= kv.second.expires; });
}

uint64_t Sessions::next_deadline() const {
  uint64_t next = kNoDeadline;
  for (const auto& [key, s] : sessions_) next = std::min(next, s.expires);
  for (const auto& [key, b] : buffers_) next = std::min(next, b.expires);
  return next;
}

void Sessions::snapshot(uint64_t now, std::vector<SessionStats>* out) const {
  out->clear();
  for (const auto& [key, s] : sessions_)
    out->push_back({key, s.rx_bytes, s.tx_bytes, s.rx_packets, s.tx_packets, now - s.since});
}

}  // namespace gw::planetary
