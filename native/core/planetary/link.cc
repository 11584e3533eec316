#include "link.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>

#include "../../crypto/curve.h"
#include "../../crypto/hash.h"
#include "wire.h"

namespace gw::planetary {
namespace {

constexpr uint8_t kMagic[4] = {'m', 'e', 't', 'a'};
constexpr size_t kHeaderLen = 6;
constexpr uint16_t kMajor = 0;
constexpr uint16_t kMinor = 5;

enum : uint16_t { kTlvMajor = 0, kTlvMinor = 1, kTlvKey = 2, kTlvPriority = 3 };

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

uint8_t* put_be16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
  return p + 2;
}

uint8_t* put_tlv(uint8_t* p, uint16_t type, const uint8_t* v, uint16_t len) {
  p = put_be16(put_be16(p, type), len);
  std::memcpy(p, v, len);
  return p + len;
}

// The signed message is a hash of our key under the link password, so a peer can only verify it
// when both ends share the password; the TLVs themselves are not covered.
bool preamble_hash(const Key& key, Bytes password, uint8_t out[crypto::kBlake2bLen]) {
  return crypto::blake2b512(password.data(), password.size(), key.data(), key.size(), out);
}

void apply_tlv(uint16_t type, const uint8_t* v, uint16_t len, Preamble* out) {
  switch (type) {
    case kTlvMajor:
      if (len == 2) out->has_major = true, out->major = be16(v);
      break;
    case kTlvMinor:
      if (len == 2) out->has_minor = true, out->minor = be16(v);
      break;
    case kTlvKey:
      if (len == kKeyLen) out->has_key = true, std::memcpy(out->key.data(), v, kKeyLen);
      break;
    case kTlvPriority:
      if (len == 1) out->priority = v[0];
      break;
    default:  // unknown TLVs are skipped: newer minors may add fields
      break;
  }
}

// Walks TLVs while a full TLV header remains; a length running past the end ends the walk silently,
// as the reference does.
void parse_tlvs(const uint8_t* p, size_t n, Preamble* out) {
  while (n >= 4) {
    uint16_t type = be16(p), len = be16(p + 2);
    if (len > n - 4) return;
    apply_tlv(type, p + 4, len, out);
    p += 4 + len;
    n -= 4 + len;
  }
}

}  // namespace

const char* link_error_name(LinkError e) {
  switch (e) {
    case LinkError::kNone: return "no error";
    case LinkError::kNotYggdrasil: return "remote side is not Yggdrasil";
    case LinkError::kBadPreamble: return "malformed handshake preamble";
    case LinkError::kPasswordMismatch: return "password does not match remote side";
    case LinkError::kIncompatibleVersion: return "remote node incompatible version";
    case LinkError::kOwnKey: return "remote key is our own key";
    case LinkError::kPinnedKeyMismatch: return "remote key does not match any pinned key";
    case LinkError::kEmptyFrame: return "empty frame (ErrEmptyMessage)";
    case LinkError::kOversizedFrame: return "frame longer than 131070 bytes (ErrOversizedMessage)";
    case LinkError::kBadLength: return "frame length uvarint overflows";
    case LinkError::kHandshakeTimeout: return "handshake not completed within 6 s";
    case LinkError::kPeerTimeout: return "peer silent for 3 s after we sent a frame";
    case LinkError::kInternal: return "could not sign our preamble";
  }
  return "unknown link error";
}

bool LinkOptions::set_password(Bytes pw) {
  if (pw.size() > kMaxPasswordLen) return false;
  std::copy(pw.begin(), pw.end(), password.begin());
  password_len = static_cast<uint8_t>(pw.size());
  return true;
}

bool build_preamble(const LinkIdentity& id, uint8_t priority, Bytes password, uint8_t out[kPreambleLen]) {
  static constexpr uint8_t kMajorBe[2] = {0, kMajor}, kMinorBe[2] = {0, kMinor};
  std::memcpy(out, kMagic, sizeof kMagic);
  uint8_t* p = put_be16(out + 4, kPreambleLen - kHeaderLen);
  p = put_tlv(p, kTlvMajor, kMajorBe, 2);
  p = put_tlv(p, kTlvMinor, kMinorBe, 2);
  p = put_tlv(p, kTlvKey, id.public_key.data(), kKeyLen);
  p = put_tlv(p, kTlvPriority, &priority, 1);
  uint8_t h[crypto::kBlake2bLen];
  return preamble_hash(id.public_key, password, h) && crypto::ed25519_sign(id.seed, h, sizeof h, p);
}

size_t preamble_total_len(const uint8_t head[kHeaderLen], LinkError* err) {
  if (std::memcmp(head, kMagic, sizeof kMagic) != 0) {
    *err = LinkError::kNotYggdrasil;
    return 0;
  }
  uint16_t rest = be16(head + 4);
  if (rest < kSigLen) {
    *err = LinkError::kBadPreamble;
    return 0;
  }
  *err = LinkError::kNone;
  return kHeaderLen + rest;
}

LinkError check_preamble(const uint8_t* data, size_t len, Bytes password, Preamble* out) {
  LinkError err = LinkError::kBadPreamble;
  if (len < kHeaderLen || preamble_total_len(data, &err) != len) return err;
  *out = Preamble{};
  size_t tlv_len = len - kHeaderLen - kSigLen;
  parse_tlvs(data + kHeaderLen, tlv_len, out);
  std::memcpy(out->sig.data(), data + kHeaderLen + tlv_len, kSigLen);
  if (!out->has_key) return LinkError::kBadPreamble;
  uint8_t h[crypto::kBlake2bLen];
  if (!preamble_hash(out->key, password, h) || !crypto::ed25519_verify(out->key.data(), h, sizeof h, out->sig.data()))
    return LinkError::kPasswordMismatch;
  if (!out->has_major || !out->has_minor || out->major != kMajor || out->minor != kMinor)
    return LinkError::kIncompatibleVersion;
  return LinkError::kNone;
}

Link::Link(const LinkIdentity& id, LinkOptions opts, LinkDirection dir)
    : opts_(std::move(opts)), self_(id.public_key), dir_(dir) {
  preamble_ok_ = build_preamble(id, opts_.priority, opts_.password_bytes(), preamble_);
  buf_.reserve(kPreambleLen);
}

void Link::start(uint64_t now, LinkSink& sink) {
  if (state_ != State::kNew) return;
  if (!preamble_ok_) return fail(sink, LinkError::kInternal);
  state_ = State::kHandshake;
  need_ = kHeaderLen;
  handshake_deadline_ = now + kHandshakeTimeout;
  sink.write({preamble_, kPreambleLen}, {});
}

bool Link::on_bytes(const uint8_t* data, size_t len, uint64_t now, LinkSink& sink) {
  if (state_ == State::kNew) fail(sink, LinkError::kInternal, "bytes fed before start()");
  if (state_ == State::kHandshake) {
    size_t used = take_preamble(data, len, sink);
    data += used;
    len -= used;
  }
  if (state_ == State::kUp) deframe(data, len, now, sink);
  return state_ != State::kClosed;
}

size_t Link::take_preamble(const uint8_t* p, size_t n, LinkSink& sink) {
  size_t used = 0;
  while (used < n && state_ == State::kHandshake) {
    size_t take = std::min(n - used, need_ - buf_.size());
    buf_.insert(buf_.end(), p + used, p + used + take);
    used += take;
    if (buf_.size() < need_) break;
    if (need_ == kHeaderLen) {
      LinkError err;
      need_ = preamble_total_len(buf_.data(), &err);
      if (need_ == 0) fail(sink, err);
      continue;  // the body may already be in this chunk
    }
    finish_handshake(buf_.data(), buf_.size(), sink);
  }
  return used;
}

void Link::finish_handshake(const uint8_t* pre, size_t len, LinkSink& sink) {
  Preamble remote;
  LinkError err = check_preamble(pre, len, opts_.password_bytes(), &remote);
  if (err == LinkError::kIncompatibleVersion) {
    std::snprintf(reason_, sizeof reason_, "remote node incompatible version (local %u.%u, remote %u.%u)", kMajor,
                  kMinor, remote.major, remote.minor);
    return fail(sink, err, reason_);
  }
  if (err != LinkError::kNone) return fail(sink, err);
  if (remote.key == self_) return fail(sink, LinkError::kOwnKey);
  if (!pinned_ok(remote.key)) return fail(sink, LinkError::kPinnedKeyMismatch);
  state_ = State::kUp;
  peer_key_ = remote.key;
  priority_ = std::max(opts_.priority, remote.priority);
  handshake_deadline_ = kNoDeadline;
  buf_.clear();
  need_ = 0;
  sink.up(peer_key_, priority_);
}

bool Link::pinned_ok(const Key& k) const {
  if (opts_.pinned_keys.empty()) return true;
  return std::find(opts_.pinned_keys.begin(), opts_.pinned_keys.end(), k) != opts_.pinned_keys.end();
}

// Frames wholly inside the input are handed out in place; only a frame split across reads is copied
// into buf_, so the steady state allocates nothing.
void Link::deframe(const uint8_t* p, size_t n, uint64_t now, LinkSink& sink) {
  while (n > 0 && state_ == State::kUp) {
    if (need_ == 0) {
      size_t used = take_length(p, n, sink);
      p += used, n -= used;
      continue;
    }
    if (buf_.empty() && n >= need_) {
      size_t len = need_;
      need_ = 0;
      deliver({p, len}, now, sink);
      p += len, n -= len;
      continue;
    }
    size_t take = std::min(n, need_ - buf_.size());
    buf_.insert(buf_.end(), p, p + take);
    p += take, n -= take;
    if (buf_.size() < need_) break;
    need_ = 0;
    deliver({buf_.data(), buf_.size()}, now, sink);
    buf_.clear();
  }
}

// Collects the length uvarint byte by byte (it may straddle reads) and validates it like Go's
// binary.ReadUvarint followed by the size checks.
size_t Link::take_length(const uint8_t* p, size_t n, LinkSink& sink) {
  size_t i = 0;
  bool complete = false;
  while (i < n && !complete) {
    uint8_t b = p[i++];
    len_bytes_[len_count_++] = b;
    complete = b < 0x80;
    if (!complete && len_count_ == kMaxUvarintLen) {
      fail(sink, LinkError::kBadLength);
      return i;
    }
  }
  if (!complete) return i;
  uint64_t v = 0;
  size_t got = get_uvarint(len_bytes_, len_count_, &v);
  len_count_ = 0;
  if (got == 0) fail(sink, LinkError::kBadLength);
  else if (v == 0) fail(sink, LinkError::kEmptyFrame);
  else if (v > kMaxFrameLen) fail(sink, LinkError::kOversizedFrame);
  else need_ = v;
  return i;
}

void Link::deliver(Bytes frame, uint64_t now, LinkSink& sink) {
  read_deadline_ = kNoDeadline;
  uint8_t type = frame[0];
  if (type == kFrameKeepAlive) return;
  // Scheduled before the router sees the frame, so a reply it sends at once cancels the keepalive.
  if (keepalive_at_ == kNoDeadline) keepalive_at_ = now + kKeepAliveDelay;
  if (type != kFrameDummy) sink.frame(frame);
}

bool Link::send_frame(Bytes frame, uint64_t now, LinkSink& sink) {
  if (state_ != State::kUp || frame.empty() || frame.size() > kMaxFrameLen) return false;
  emit(frame, now, sink);
  return true;
}

void Link::emit(Bytes frame, uint64_t now, LinkSink& sink) {
  uint8_t head[kMaxUvarintLen];
  size_t h = put_uvarint(head, frame.size());
  keepalive_at_ = kNoDeadline;
  if (frame[0] != kFrameKeepAlive && read_deadline_ == kNoDeadline) read_deadline_ = now + kPeerTimeout;
  sink.write({head, h}, frame);
}

void Link::tick(uint64_t now, LinkSink& sink) {
  if (state_ == State::kHandshake && now >= handshake_deadline_) return fail(sink, LinkError::kHandshakeTimeout);
  if (state_ != State::kUp) return;
  if (now >= read_deadline_) return fail(sink, LinkError::kPeerTimeout);
  if (now >= keepalive_at_) {
    static constexpr uint8_t kKeepAlive[1] = {kFrameKeepAlive};
    emit({kKeepAlive, 1}, now, sink);
  }
}

uint64_t Link::next_deadline() const {
  if (state_ == State::kHandshake) return handshake_deadline_;
  if (state_ == State::kUp) return std::min(read_deadline_, keepalive_at_);
  return kNoDeadline;
}

void Link::fail(LinkSink& sink, LinkError err, const char* reason) {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  handshake_deadline_ = read_deadline_ = keepalive_at_ = kNoDeadline;
  sink.close(err, reason ? reason : link_error_name(err));
}

}  // namespace gw::planetary
