// Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s as WireGuard uses it: create/consume initiation and response, then
// begin_session derives the transport keys. Pure functions over caller-owned state: randomness (ephemeral
// keys, indices) and time (TAI64N) are inputs, so the known-answer vectors run through the production code.
// mac1/mac2 are not touched here (cookie.h).
#pragma once

#include <cstdint>

#include "messages.h"

namespace gw::wg {

// Initiations from one peer closer together than this are dropped even with a newer timestamp
// (wireguard-go INITIATIONS_PER_SECOND = 50).
constexpr uint64_t kHandshakeInitiationRateNs = 1000000000ull / 50;

struct Tai64n {
  uint8_t bytes[kTimestampLen] = {};
};

// TAI64N of a Unix time in nanoseconds, with the low 24 bits of the nanoseconds cleared so the timestamp
// does not reveal a precise clock.
Tai64n tai64n_from_unix_ns(uint64_t unix_ns);
// Strictly later, comparing the 12 bytes big-endian.
bool tai64n_after(const Tai64n& a, const Tai64n& b);

// The local static identity with the values precomputed from it.
struct LocalIdentity {
  bool has_key = false;
  uint8_t private_key[kKeyLen] = {};
  uint8_t public_key[kKeyLen] = {};

  // Clamps; an all-zero key clears the identity. False if the public key cannot be derived.
  bool set(const uint8_t key[kKeyLen]);
  void clear();
  ~LocalIdentity() { clear(); }
};

enum class HandshakeState : uint8_t {
  kZeroed,
  kInitiationCreated,
  kInitiationConsumed,
  kResponseCreated,
  kResponseConsumed,
};

// One peer's handshake. Static per-peer material lives here too because every message needs it.
struct Handshake {
  HandshakeState state = HandshakeState::kZeroed;
  uint8_t hash[32] = {};
  uint8_t chaining_key[32] = {};
  uint8_t ephemeral_private[kKeyLen] = {};
  uint8_t remote_ephemeral[kKeyLen] = {};
  uint32_t local_index = 0;
  uint32_t remote_index = 0;

  uint8_t remote_static[kKeyLen] = {};
  uint8_t preshared_key[kKeyLen] = {};  // all zero = none
  uint8_t precomputed_ss[kKeyLen] = {};  // DH(local static, remote static); all zero = unusable
  bool ss_valid = false;

  // Replay and flood protection for consumed initiations.
  Tai64n latest_timestamp;
  uint64_t last_initiation_consumed_ns = 0;
  bool consumed_any = false;

  // Recomputes precomputed_ss after the local key or the peer changed.
  void precompute(const LocalIdentity& local);
  // Forgets the ephemeral state (keeps static material and replay protection).
  void clear_session_state();
  ~Handshake();
};

// Initiator, message 1 (mac1/mac2 left zero). Leaves hs in kInitiationCreated.
bool create_initiation(Handshake& hs, const LocalIdentity& local, const uint8_t ephemeral_private[kKeyLen],
                       const Tai64n& now, uint32_t sender_index, MsgInitiation* out);

// Responder, message 1, phase 1: everything that needs only the local key. Yields the initiator's static
// public key so the caller can find the peer.
struct ConsumedInitiation {
  uint8_t hash[32];
  uint8_t chaining_key[32];
  uint8_t remote_ephemeral[kKeyLen];
  uint8_t remote_static[kKeyLen];
  uint32_t sender_index;
  Tai64n timestamp;
  ~ConsumedInitiation();
};
bool consume_initiation_static(const LocalIdentity& local, const MsgInitiation& msg, ConsumedInitiation* out);
// Phase 2, with the peer's handshake: opens the timestamp with the static-static secret.
bool consume_initiation_timestamp(const Handshake& hs, ConsumedInitiation& ci, const MsgInitiation& msg);
// Replay (timestamp not newer than the greatest accepted) and flood (too soon after the last accepted
// initiation, by the monotonic clock) protection. Runs before anything is committed.
bool initiation_is_fresh(const Handshake& hs, const ConsumedInitiation& ci, uint64_t now_ns);
// Commits the consumed initiation into hs (kInitiationConsumed).
void commit_initiation(Handshake& hs, const ConsumedInitiation& ci, uint64_t now_ns);

// Responder, message 2. Requires kInitiationConsumed; leaves kResponseCreated.
bool create_response(Handshake& hs, const uint8_t ephemeral_private[kKeyLen], uint32_t sender_index,
                     MsgResponse* out);
// Initiator, message 2. Requires kInitiationCreated and a matching receiver index; leaves hs untouched on
// failure and kResponseConsumed on success.
bool consume_response(Handshake& hs, const LocalIdentity& local, const MsgResponse& msg);

struct SessionKeys {
  uint8_t send[kKeyLen];
  uint8_t recv[kKeyLen];
  uint32_t local_index;
  uint32_t remote_index;
  bool initiator;
  ~SessionKeys();
};
// Derives the transport keys from kResponseCreated (responder) or kResponseConsumed (initiator) and zeroes
// the ephemeral handshake state.
bool begin_session(Handshake& hs, SessionKeys* out);

}  // namespace gw::wg
