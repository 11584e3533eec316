// Sans-IO link layer of Yggdrasil 0.5.12 (spec §3.1, §3.3–3.5): the signed "meta" preamble exchange,
// uvarint framing, and the per-link keepalive / peer-timeout discipline. One Link per transport
// connection (TCP, TLS, …); the engine moves bytes between the socket and the Link, the router
// consumes the frames. The Link never touches a socket or a clock: `now` is monotonic nanoseconds.
//
// Threads: a Link and its sink belong to one thread (the engine's loop for that connection). The sink
// may call send_frame() and stop() on the same Link from inside its callbacks, but must not destroy it
// there; destroy it after the on_bytes()/tick() call that reported close() returns.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "frames.h"
#include "types.h"

namespace gw::planetary {

using Bytes = std::span<const uint8_t>;

constexpr size_t kPreambleLen = 123;         // what 0.5.12 sends: 6-byte header, 4 TLVs, signature
constexpr size_t kMaxPasswordLen = 64;       // BLAKE2b's key limit; the config refuses longer ones
constexpr uint64_t kMaxFrameLen = 131070;    // yggdrasil's peerMaxMessageSize (65535 * 2)
constexpr uint64_t kHandshakeTimeout = 6 * kSecond;
constexpr uint64_t kPeerTimeout = 3 * kSecond;
constexpr uint64_t kKeepAliveDelay = 1 * kSecond;

enum class LinkError : uint8_t {
  kNone,
  kNotYggdrasil,         // magic is not "meta"
  kBadPreamble,          // length field < 64, or no 32-byte public key TLV
  kPasswordMismatch,     // signature over BLAKE2b(password, key) does not verify
  kIncompatibleVersion,  // major/minor missing or not 0.5
  kOwnKey,               // the peer is ourselves (yggdrasil's ErrBadKey)
  kPinnedKeyMismatch,    // `key=` pins present and the peer's key is none of them
  kEmptyFrame,           // length 0 (ErrEmptyMessage)
  kOversizedFrame,       // length > 131070 (ErrOversizedMessage)
  kBadLength,            // length uvarint longer than 10 bytes / overflowing
  kHandshakeTimeout,     // no complete preamble within 6 s of start()
  kPeerTimeout,          // nothing heard for 3 s after we sent a non-keepalive frame
  kInternal,             // our own preamble could not be signed
};

const char* link_error_name(LinkError e);

// Per-link options from the peering URI / listener (spec §3.1).
struct LinkOptions {
  std::array<uint8_t, kMaxPasswordLen> password{};
  uint8_t password_len = 0;
  uint8_t priority = 0;
  std::vector<Key> pinned_keys;  // `key=` (repeatable); empty = any key

  // False (options unchanged) when the password is longer than 64 bytes.
  bool set_password(Bytes pw);
  Bytes password_bytes() const { return {password.data(), password_len}; }
};

struct LinkIdentity {
  uint8_t seed[32];  // Ed25519 private seed
  Key public_key;
};

enum class LinkDirection : uint8_t { kOutbound, kInbound };

// What the Link asks of its owner. Spans are only valid during the call.
class LinkSink {
 public:
  // Bytes for the transport, in order: `head` then `body` (either may be empty). Split so a framed
  // body can go out by writev without being copied behind its length prefix.
  virtual void write(Bytes head, Bytes body) = 0;
  // Handshake complete; priority is the effective one, max(ours, theirs).
  virtual void up(const Key& peer, uint8_t priority) = 0;
  // One frame: type byte + body. Never KeepAlive or Dummy.
  virtual void frame(Bytes frame) = 0;
  // The link is dead; the owner closes the transport. Called at most once. `reason` is for logs.
  virtual void close(LinkError err, const char* reason) = 0;

 protected:
  ~LinkSink() = default;
};

// The remote preamble, as parsed (before any policy is applied).
struct Preamble {
  bool has_major = false, has_minor = false, has_key = false;
  uint16_t major = 0, minor = 0;
  uint8_t priority = 0;
  Key key{};
  Signature sig{};
};

// Our preamble for this identity/options into out[0..kPreambleLen). False if signing failed.
bool build_preamble(const LinkIdentity& id, uint8_t priority, Bytes password, uint8_t out[kPreambleLen]);
// Bytes a preamble occupies given its first 6 bytes, or 0 if those are not a valid header.
size_t preamble_total_len(const uint8_t head[6], LinkError* err);
// Parses a complete preamble (6 + L bytes) and checks signature and version, in the reference's
// order. Returns kNone and fills out, or the error.
LinkError check_preamble(const uint8_t* data, size_t len, Bytes password, Preamble* out);

class Link {
 public:
  Link(const LinkIdentity& id, LinkOptions opts, LinkDirection dir);
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  // Sends our preamble at once (both sides send without waiting) and arms the 6 s handshake deadline.
  void start(uint64_t now, LinkSink& sink);
  // Feeds transport bytes in any chunking. Returns false once the link is closed.
  bool on_bytes(const uint8_t* data, size_t len, uint64_t now, LinkSink& sink);
  // Frames and writes `frame` (type byte + body). False, nothing sent, if the link is not up or the
  // frame is empty or longer than 131070 bytes (the reference silently drops those too).
  bool send_frame(Bytes frame, uint64_t now, LinkSink& sink);
  // Runs due timers: the handshake and peer timeouts (close) and the delayed keepalive (write).
  void tick(uint64_t now, LinkSink& sink);
  // When tick() next has work, or kNoDeadline.
  uint64_t next_deadline() const;
  // Marks the link closed without reporting it (the owner decided, e.g. the router rejected a frame):
  // the rest of the current on_bytes() input is discarded.
  void stop() { state_ = State::kClosed; }

  bool is_up() const { return state_ == State::kUp; }
  bool is_closed() const { return state_ == State::kClosed; }
  LinkDirection direction() const { return dir_; }
  const Key& peer_key() const { return peer_key_; }
  uint8_t priority() const { return priority_; }

 private:
  enum class State : uint8_t { kNew, kHandshake, kUp, kClosed };

  size_t take_preamble(const uint8_t* p, size_t n, LinkSink& sink);
  void finish_handshake(const uint8_t* pre, size_t len, LinkSink& sink);
  void deframe(const uint8_t* p, size_t n, uint64_t now, LinkSink& sink);
  size_t take_length(const uint8_t* p, size_t n, LinkSink& sink);
  void deliver(Bytes frame, uint64_t now, LinkSink& sink);
  void emit(Bytes frame, uint64_t now, LinkSink& sink);
  void fail(LinkSink& sink, LinkError err, const char* reason = nullptr);
  bool pinned_ok(const Key& k) const;

  LinkOptions opts_;
  Key self_;
  LinkDirection dir_;
  State state_ = State::kNew;
  bool preamble_ok_;
  uint8_t preamble_[kPreambleLen];

  Key peer_key_{};
  uint8_t priority_ = 0;

  // One reusable buffer: the remote preamble while handshaking, then a frame split across reads.
  std::vector<uint8_t> buf_;
  size_t need_ = 0;  // preamble: total bytes wanted; framing: length of the frame being read (0 = none)
  uint8_t len_bytes_[10];
  uint8_t len_count_ = 0;

  uint64_t handshake_deadline_ = kNoDeadline;
  uint64_t read_deadline_ = kNoDeadline;  // armed by sending a non-keepalive, disarmed by any frame
  uint64_t keepalive_at_ = kNoDeadline;   // armed by receiving a non-keepalive, cancelled by any send
  char reason_[128];
};

}  // namespace gw::planetary
