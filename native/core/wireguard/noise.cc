#include "noise.h"

#include <cstring>

#include "../../crypto/aead.h"
#include "../../crypto/curve.h"
#include "../../crypto/hash.h"

namespace gw::wg {
namespace {

using crypto::Slice;

constexpr char kConstruction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
constexpr char kIdentifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";

struct InitialState {
  uint8_t chaining_key[32];
  uint8_t hash[32];
};

InitialState make_initial_state() {
  InitialState s{};
  crypto::blake2s(reinterpret_cast<const uint8_t*>(kConstruction), sizeof kConstruction - 1, s.chaining_key);
  Slice parts[] = {{s.chaining_key, 32}, {reinterpret_cast<const uint8_t*>(kIdentifier), sizeof kIdentifier - 1}};
  crypto::blake2s(parts, 2, s.hash);
  return s;
}

// Computed on first use, after crypto::init() has run.
const InitialState& initial_state() {
  static const InitialState s = make_initial_state();
  return s;
}

void mix_hash(uint8_t hash[32], const uint8_t* data, size_t len) {
  Slice parts[] = {{hash, 32}, {data, len}};
  crypto::blake2s(parts, 2, hash);
}

// C = KDF1(C, data)
bool mix_key(uint8_t ck[32], const uint8_t* data, size_t len) {
  uint8_t out[32];
  bool ok = crypto::kdf(ck, data, len, 1, out);
  std::memcpy(ck, out, 32);
  crypto::wipe(out, sizeof out);
  return ok;
}

// (C, k) = KDF2(C, data)
bool mix_key2(uint8_t ck[32], const uint8_t* data, size_t len, uint8_t key[32]) {
  uint8_t out[64];
  bool ok = crypto::kdf(ck, data, len, 2, out);
  std::memcpy(ck, out, 32);
  std::memcpy(key, out + 32, 32);
  crypto::wipe(out, sizeof out);
  return ok;
}

// (C, k) = KDF2(C, DH(priv, pub)); false on a low-order public key.
bool mix_dh(uint8_t ck[32], const uint8_t priv[32], const uint8_t pub[32], uint8_t key[32]) {
  uint8_t shared[32];
  bool ok = crypto::x25519(priv, pub, shared) && mix_key2(ck, shared, 32, key);
  crypto::wipe(shared, sizeof shared);
  return ok;
}

bool mix_dh1(uint8_t ck[32], const uint8_t priv[32], const uint8_t pub[32]) {
  uint8_t shared[32];
  bool ok = crypto::x25519(priv, pub, shared) && mix_key(ck, shared, 32);
  crypto::wipe(shared, sizeof shared);
  return ok;
}

const uint8_t kZeroNonce[crypto::kChaChaNonceLen] = {};

// AEAD with counter 0 and the running hash as AD, then mixes the ciphertext into the hash.
bool seal_and_hash(uint8_t hash[32], const uint8_t key[32], const uint8_t* plain, size_t len, uint8_t* out) {
  if (!crypto::chacha_seal(key, kZeroNonce, hash, 32, plain, len, out)) return false;
  mix_hash(hash, out, len + kTagLen);
  return true;
}

bool open_and_hash(uint8_t hash[32], const uint8_t key[32], const uint8_t* sealed, size_t len, uint8_t* out) {
  if (!crypto::chacha_open(key, kZeroNonce, hash, 32, sealed, len, out)) return false;
  mix_hash(hash, sealed, len + kTagLen);
  return true;
}

// H = HASH(H_init || S_r_pub); C = C0
void init_symmetric(uint8_t ck[32], uint8_t hash[32], const uint8_t responder_static[32]) {
  const InitialState& s = initial_state();
  std::memcpy(ck, s.chaining_key, 32);
  std::memcpy(hash, s.hash, 32);
  mix_hash(hash, responder_static, 32);
}

// The common tail of message 2 on both sides, after the ephemeral/static DHs:
// (C, tau, k) = KDF3(C, Q); H = HASH(H || tau)
bool mix_psk(uint8_t ck[32], uint8_t hash[32], const uint8_t psk[32], uint8_t key[32]) {
  uint8_t out[96];
  bool ok = crypto::kdf(ck, psk, 32, 3, out);
  std::memcpy(ck, out, 32);
  mix_hash(hash, out + 32, 32);
  std::memcpy(key, out + 64, 32);
  crypto::wipe(out, sizeof out);
  return ok;
}

bool is_zero(const uint8_t* p, size_t n) {
  uint8_t acc = 0;
  for (size_t i = 0; i < n; ++i) acc |= p[i];
  return acc == 0;
}

}  // namespace

Tai64n tai64n_from_unix_ns(uint64_t unix_ns) {
  constexpr uint64_t kBase = (1ull << 62) + 10;
  uint64_t secs = kBase + unix_ns / 1000000000ull;
  uint32_t nanos = static_cast<uint32_t>(unix_ns % 1000000000ull) & ~0xFFFFFFu;
  Tai64n t;
  for (int i = 0; i < 8; ++i) t.bytes[i] = static_cast<uint8_t>(secs >> (56 - 8 * i));
  for (int i = 0; i < 4; ++i) t.bytes[8 + i] = static_cast<uint8_t>(nanos >> (24 - 8 * i));
  return t;
}

bool tai64n_after(const Tai64n& a, const Tai64n& b) { return std::memcmp(a.bytes, b.bytes, kTimestampLen) > 0; }

bool LocalIdentity::set(const uint8_t key[kKeyLen]) {
  clear();
  if (is_zero(key, kKeyLen)) return true;
  std::memcpy(private_key, key, kKeyLen);
  crypto::x25519_clamp(private_key);
  if (!crypto::x25519_public(private_key, public_key)) {
    clear();
    return false;
  }
  has_key = true;
  return true;
}

void LocalIdentity::clear() {
  crypto::wipe(private_key, sizeof private_key);
  std::memset(public_key, 0, sizeof public_key);
  has_key = false;
}

void Handshake::precompute(const LocalIdentity& local) {
  ss_valid = local.has_key && crypto::x25519(local.private_key, remote_static, precomputed_ss);
  if (!ss_valid) crypto::wipe(precomputed_ss, sizeof precomputed_ss);
}

void Handshake::clear_session_state() {
  crypto::wipe(hash, sizeof hash);
  crypto::wipe(chaining_key, sizeof chaining_key);
  crypto::wipe(ephemeral_private, sizeof ephemeral_private);
  crypto::wipe(remote_ephemeral, sizeof remote_ephemeral);
  local_index = remote_index = 0;
  state = HandshakeState::kZeroed;
}

Handshake::~Handshake() {
  clear_session_state();
  crypto::wipe(preshared_key, sizeof preshared_key);
  crypto::wipe(precomputed_ss, sizeof precomputed_ss);
}

ConsumedInitiation::~ConsumedInitiation() { crypto::wipe(this, sizeof *this); }
SessionKeys::~SessionKeys() { crypto::wipe(this, sizeof *this); }

bool create_initiation(Handshake& hs, const LocalIdentity& local, const uint8_t eph_priv[kKeyLen],
                       const Tai64n& now, uint32_t sender_index, MsgInitiation* out) {
  if (!local.has_key || !hs.ss_valid) return false;
  std::memset(out, 0, sizeof *out);
  init_header(out);
  store_le32(out->sender_index, sender_index);

  uint8_t ck[32], hash[32], key[32];
  init_symmetric(ck, hash, hs.remote_static);
  bool ok = crypto::x25519_public(eph_priv, out->ephemeral);
  ok = ok && mix_key(ck, out->ephemeral, 32);
  mix_hash(hash, out->ephemeral, 32);
  ok = ok && mix_dh(ck, eph_priv, hs.remote_static, key);
  ok = ok && seal_and_hash(hash, key, local.public_key, 32, out->encrypted_static);
  ok = ok && mix_key2(ck, hs.precomputed_ss, 32, key);
  ok = ok && seal_and_hash(hash, key, now.bytes, kTimestampLen, out->encrypted_timestamp);
  if (ok) {
    std::memcpy(hs.chaining_key, ck, 32);
    std::memcpy(hs.hash, hash, 32);
    std::memcpy(hs.ephemeral_private, eph_priv, kKeyLen);
    hs.local_index = sender_index;
    hs.state = HandshakeState::kInitiationCreated;
  }
  crypto::wipe(ck, sizeof ck);
  crypto::wipe(key, sizeof key);
  return ok;
}

bool consume_initiation_static(const LocalIdentity& local, const MsgInitiation& msg, ConsumedInitiation* ci) {
  if (!local.has_key) return false;
  uint8_t key[32];
  init_symmetric(ci->chaining_key, ci->hash, local.public_key);
  std::memcpy(ci->remote_ephemeral, msg.ephemeral, kKeyLen);
  bool ok = mix_key(ci->chaining_key, msg.ephemeral, 32);
  mix_hash(ci->hash, msg.ephemeral, 32);
  ok = ok && mix_dh(ci->chaining_key, local.private_key, msg.ephemeral, key);
  ok = ok && open_and_hash(ci->hash, key, msg.encrypted_static, kKeyLen, ci->remote_static);
  ci->sender_index = load_le32(msg.sender_index);
  crypto::wipe(key, sizeof key);
  return ok;
}

bool consume_initiation_timestamp(const Handshake& hs, ConsumedInitiation& ci, const MsgInitiation& msg) {
  if (!hs.ss_valid) return false;
  uint8_t key[32];
  bool ok = mix_key2(ci.chaining_key, hs.precomputed_ss, 32, key) &&
            open_and_hash(ci.hash, key, msg.encrypted_timestamp, kTimestampLen, ci.timestamp.bytes);
  crypto::wipe(key, sizeof key);
  return ok;
}

bool initiation_is_fresh(const Handshake& hs, const ConsumedInitiation& ci, uint64_t now_ns) {
  if (!hs.consumed_any) return true;
  return tai64n_after(ci.timestamp, hs.latest_timestamp) &&
         now_ns - hs.last_initiation_consumed_ns > kHandshakeInitiationRateNs;
}

void commit_initiation(Handshake& hs, const ConsumedInitiation& ci, uint64_t now_ns) {
  hs.clear_session_state();
  std::memcpy(hs.chaining_key, ci.chaining_key, 32);
  std::memcpy(hs.hash, ci.hash, 32);
  std::memcpy(hs.remote_ephemeral, ci.remote_ephemeral, kKeyLen);
  hs.remote_index = ci.sender_index;
  hs.latest_timestamp = ci.timestamp;
  hs.last_initiation_consumed_ns = now_ns;
  hs.consumed_any = true;
  hs.state = HandshakeState::kInitiationConsumed;
}

bool create_response(Handshake& hs, const uint8_t eph_priv[kKeyLen], uint32_t sender_index, MsgResponse* out) {
  if (hs.state != HandshakeState::kInitiationConsumed) return false;
  std::memset(out, 0, sizeof *out);
  init_header(out);
  store_le32(out->sender_index, sender_index);
  store_le32(out->receiver_index, hs.remote_index);

  uint8_t key[32];
  bool ok = crypto::x25519_public(eph_priv, out->ephemeral);
  ok = ok && mix_key(hs.chaining_key, out->ephemeral, 32);
  mix_hash(hs.hash, out->ephemeral, 32);
  ok = ok && mix_dh1(hs.chaining_key, eph_priv, hs.remote_ephemeral);
  ok = ok && mix_dh1(hs.chaining_key, eph_priv, hs.remote_static);
  ok = ok && mix_psk(hs.chaining_key, hs.hash, hs.preshared_key, key);
  uint8_t none[1] = {};  // a real pointer for the empty plaintext (memmove rejects null)
  ok = ok && seal_and_hash(hs.hash, key, none, 0, out->encrypted_nothing);
  crypto::wipe(key, sizeof key);
  if (!ok) {
    hs.clear_session_state();
    return false;
  }
  std::memcpy(hs.ephemeral_private, eph_priv, kKeyLen);
  hs.local_index = sender_index;
  hs.state = HandshakeState::kResponseCreated;
  return true;
}

bool consume_response(Handshake& hs, const LocalIdentity& local, const MsgResponse& msg) {
  if (hs.state != HandshakeState::kInitiationCreated || !local.has_key) return false;
  if (load_le32(msg.receiver_index) != hs.local_index) return false;
  // Work on copies: a forged response must not disturb the pending handshake.
  uint8_t ck[32], hash[32], key[32];
  std::memcpy(ck, hs.chaining_key, 32);
  std::memcpy(hash, hs.hash, 32);
  bool ok = mix_key(ck, msg.ephemeral, 32);
  mix_hash(hash, msg.ephemeral, 32);
  ok = ok && mix_dh1(ck, hs.ephemeral_private, msg.ephemeral);
  ok = ok && mix_dh1(ck, local.private_key, msg.ephemeral);
  ok = ok && mix_psk(ck, hash, hs.preshared_key, key);
  uint8_t none[1];
  ok = ok && open_and_hash(hash, key, msg.encrypted_nothing, 0, none);
  if (ok) {
    std::memcpy(hs.chaining_key, ck, 32);
    std::memcpy(hs.hash, hash, 32);
    std::memcpy(hs.remote_ephemeral, msg.ephemeral, kKeyLen);
    hs.remote_index = load_le32(msg.sender_index);
    hs.state = HandshakeState::kResponseConsumed;
  }
  crypto::wipe(ck, sizeof ck);
  crypto::wipe(key, sizeof key);
  return ok;
}

bool begin_session(Handshake& hs, SessionKeys* out) {
  bool initiator = hs.state == HandshakeState::kResponseConsumed;
  if (!initiator && hs.state != HandshakeState::kResponseCreated) return false;
  uint8_t keys[64];
  bool ok = crypto::kdf(hs.chaining_key, nullptr, 0, 2, keys);
  // KDF output order is role-dependent: the initiator sends with T1, the responder receives with it.
  std::memcpy(initiator ? out->send : out->recv, keys, 32);
  std::memcpy(initiator ? out->recv : out->send, keys + 32, 32);
  out->local_index = hs.local_index;
  out->remote_index = hs.remote_index;
  out->initiator = initiator;
  crypto::wipe(keys, sizeof keys);
  hs.clear_session_state();
  return ok;
}

}  // namespace gw::wg
