// End-to-end encrypted sessions of ironwood's `encrypted` package (spec §5): Init/Ack with an ephemeral
// crypto_box, Traffic under a ratcheting pair of X25519 keys, strict per-key replay counters, 1-min idle
// timeout. Sans-IO and single-threaded: time is a monotonic-ns input, output goes to a SessionSink.
//
// Buffer contract (outbound): Sessions::send encrypts in place. The caller's message must have
// kSessionHeadroom writable bytes in front of it; the Traffic packet handed to send_traffic starts
// somewhere inside that headroom (the header is variable-length) and ends where the message ends.
// send_copy is the convenience path for callers without headroom (one copy into a reused buffer).
// Inbound, receive() decrypts into an internal reused buffer; deliver() gets a view into it that is
// valid only for the duration of the callback.
//
// Re-entrancy: deliver() may call Sessions::send / send_copy (e.g. a reply to a delivered message);
// receive() finishes all state changes before it delivers. send_traffic() must not call back into Sessions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "types.h"

namespace gw::planetary {

// Worst case in front of the message: type 1 + three 10-byte uvarints + Poly1305 tag 16 + next key 32.
constexpr size_t kSessionHeadroom = 79;
constexpr size_t kSessionHelloSize = 193;       // Init and Ack
constexpr size_t kSessionTrafficMinSize = 52;   // with one-byte uvarints and an empty message
constexpr uint64_t kSessionTimeout = 60 * kSecond;

enum SessionPacketType : uint8_t { kSessionDummy = 0, kSessionInit = 1, kSessionAck = 2, kSessionTraffic = 3 };

class SessionSink {
 public:
  virtual ~SessionSink() = default;
  // A session packet for the router to carry in a Traffic frame to dest (Router::send_traffic).
  virtual void send_traffic(const Key& dest, const uint8_t* data, size_t len) = 0;
  // A decrypted application message from source.
  virtual void deliver(const Key& source, const uint8_t* msg, size_t len) = 0;
};

struct SessionsConfig {
  // Init/Ack carry the sender's Unix time in seconds as `seq`, and peers ignore an Init whose seq is not
  // newer than the last one they accepted from us. unix_ns = now + unix_offset_ns; the engine sets this
  // once from the wall clock so a restarted node still presents newer seqs.
  uint64_t unix_offset_ns = 0;
};

// What admin getSessions reports.
struct SessionStats {
  Key key;
  uint64_t rx_bytes, tx_bytes, rx_packets, tx_packets;
  uint64_t uptime_ns;
};

// Decoded Init/Ack body (§5.3).
struct SessionHello {
  uint8_t current[32];
  uint8_t next[32];
  uint64_t key_seq;
  uint64_t seq;
};

// Builds a 193-byte Init/Ack. Deterministic given the ephemeral public key and the box key derived from
// it (HSalsa20(X25519(eph_priv, recipient))), which is what lets tests rebuild captured packets.
bool seal_session_hello(uint8_t type, const uint8_t sender_seed[32], const uint8_t eph_pub[32],
                        const uint8_t box_key[32], const SessionHello& hello, uint8_t out[kSessionHelloSize]);
// Opens and verifies an Init/Ack from sender with our static X25519 private key.
bool open_session_hello(const uint8_t x25519_priv[32], const Key& sender, const uint8_t* data, size_t len,
                        SessionHello* out);

class Sessions {
 public:
  Sessions(const uint8_t ed25519_seed[32], const SessionsConfig& config = {});
  ~Sessions();
  Sessions(const Sessions&) = delete;
  Sessions& operator=(const Sessions&) = delete;

  // False if the identity key could not be derived; every call is then a no-op.
  bool ok() const { return ok_; }
  const Key& self() const { return self_; }

  // msg[-kSessionHeadroom, len) must be writable; msg is clobbered.
  void send(const Key& dest, uint8_t* msg, size_t len, uint64_t now, SessionSink& sink);
  void send_copy(const Key& dest, const uint8_t* msg, size_t len, uint64_t now, SessionSink& sink);
  // A session packet that arrived in a Traffic frame from source (Router::deliver).
  void receive(const Key& source, const uint8_t* data, size_t len, uint64_t now, SessionSink& sink);
  // Expires idle sessions and stale buffered messages. Nothing is sent on timers.
  void tick(uint64_t now, SessionSink& sink);
  uint64_t next_deadline() const;  // kNoDeadline (types.h) when idle

  void snapshot(uint64_t now, std::vector<SessionStats>* out) const;
  bool has_session(const Key& key) const { return sessions_.count(key) != 0; }
  size_t session_count() const { return sessions_.size(); }
  size_t buffer_count() const { return buffers_.size(); }

 private:
  struct BoxPair {
    uint8_t pub[32];
    uint8_t priv[32];
    ~BoxPair();
    bool generate();
  };
  struct Session {
    uint64_t seq = 0;  // last accepted remote Init/Ack seq
    uint8_t current[32], next[32];
    uint64_t remote_key_seq = 0, local_key_seq = 0;
    BoxPair recv, send, nxt;
    uint8_t recv_shared[32], send_shared[32], next_send_shared[32], next_recv_shared[32];
    uint64_t recv_nonce = 0, send_nonce = 0, next_send_nonce = 0, next_recv_nonce = 0;
    bool rotated_once = false;
    uint64_t rotated = 0;
    uint64_t since = 0, expires = 0;
    uint64_t rx_bytes = 0, tx_bytes = 0, rx_packets = 0, tx_packets = 0;
    ~Session();
  };
  // The first message to a key waits here, with the key pairs its Init advertised.
  struct Buffer {
    BoxPair current, next;
    uint64_t seq = 0;
    std::vector<uint8_t> data;  // kSessionHeadroom ‖ message
    bool has_data = false;
    uint64_t expires = 0;
  };

  uint64_t unix_seconds(uint64_t now) const { return (now + config_.unix_offset_ns) / kSecond; }
  void buffer_and_init(const Key& dest, const uint8_t* msg, size_t len, uint64_t now, SessionSink& sink);
  void send_hello(uint8_t type, const Key& dest, const SessionHello& hello, SessionSink& sink);
  // Advertises the session's current keys, seq = now.
  void send_own_hello(uint8_t type, const Key& dest, const Session& s, uint64_t now, SessionSink& sink);
  void send_throwaway_init(const Key& dest, uint64_t now, SessionSink& sink);
  void encrypt_traffic(const Key& dest, Session& s, uint8_t* msg, size_t len, uint64_t now, SessionSink& sink);

  void handle_hello(uint8_t type, const Key& source, const SessionHello& hello, uint64_t now, SessionSink& sink);
  Session& create_session(const Key& source, const SessionHello& hello, uint64_t now, Buffer* taken);
  void handle_traffic(const Key& source, const uint8_t* data, size_t len, uint64_t now, SessionSink& sink);

  static void fix_shared(Session& s, uint64_t recv_nonce, uint64_t send_nonce);
  static void rotate_own(Session& s);
  static void update(Session& s, const SessionHello& hello, uint64_t now);
  static void ratchet(Session& s, const uint8_t inner_key[32], uint64_t nonce, uint64_t now);

  bool ok_ = false;
  SessionsConfig config_;
  uint8_t seed_[32];
  uint8_t x25519_priv_[32];
  Key self_{};
  std::map<Key, Session> sessions_;
  std::map<Key, Buffer> buffers_;
  std::vector<uint8_t> rx_;       // decrypted Traffic, reused
  std::vector<uint8_t> tx_copy_;  // send_copy staging, reused
};

}  // namespace gw::planetary
