// mac1/mac2 and cookie replies (WireGuard §5.4.4–5.4.7). CookieChecker is the receiving side of a device
// (verifies macs, mints cookies, builds replies); CookieGenerator is per peer (adds macs to what we send and
// stores the cookie a peer gave us).
#pragma once

#include <cstdint>
#include <mutex>

#include "endpoint.h"
#include "messages.h"
#include "rng.h"

namespace gw::wg {

// Lifetime of the responder's cookie secret and of a cookie held by an initiator.
constexpr uint64_t kCookieRefreshTimeNs = 120ull * 1000000000ull;

// HASH(label || public_key) for label "mac1----" or "cookie--".
void derive_mac1_key(const uint8_t public_key[kKeyLen], uint8_t out[kKeyLen]);
void derive_cookie_key(const uint8_t public_key[kKeyLen], uint8_t out[kKeyLen]);

// Verifies incoming handshake messages against our own public key. mac checks are const and lock-free;
// cookie minting takes an internal lock because the secret rotates.
class CookieChecker {
 public:
  void init(const uint8_t own_public_key[kKeyLen]);
  void clear();
  ~CookieChecker() { clear(); }

  // msg is a whole type-1 or type-2 message of len bytes (148 or 92).
  bool check_mac1(const uint8_t* msg, size_t len) const;
  bool check_mac2(const uint8_t* msg, size_t len, const Endpoint& src, uint64_t now_ns, const Rng& rng);
  // Reply to msg (whose mac1 already verified), addressed to its sender_index.
  bool create_reply(const uint8_t* msg, size_t len, uint32_t receiver_index, const Endpoint& src,
                    uint64_t now_ns, const Rng& rng, MsgCookieReply* out);

  // Test hook: fixes the secret and its birth time.
  void set_secret_for_test(const uint8_t secret[32], uint64_t birth_ns);

 private:
  void make_cookie(const Endpoint& src, uint64_t now_ns, const Rng& rng, uint8_t cookie[kCookieLen]);

  uint8_t mac1_key_[kKeyLen] = {};
  uint8_t cookie_key_[kKeyLen] = {};
  std::mutex secret_mu_;
  uint8_t secret_[32] = {};
  uint64_t secret_birth_ns_ = 0;
  bool secret_valid_ = false;
};

// Per peer: macs for messages we send to it and the cookie it sent us. Guarded by the owning peer's
// handshake lock.
class CookieGenerator {
 public:
  void init(const uint8_t peer_public_key[kKeyLen]);
  ~CookieGenerator();

  // Fills mac1 (and mac2 while a fresh cookie is held) of a type-1/type-2 message in place.
  void add_macs(uint8_t* msg, size_t len, uint64_t now_ns);
  // Decrypts a cookie reply answering the last mac1 we sent; stores the cookie on success.
  bool consume_reply(const MsgCookieReply& reply, uint64_t now_ns);

 private:
  uint8_t mac1_key_[kKeyLen] = {};
  uint8_t cookie_key_[kKeyLen] = {};
  uint8_t cookie_[kCookieLen] = {};
  uint64_t cookie_birth_ns_ = 0;
  bool has_cookie_ = false;
  uint8_t last_mac1_[kMacLen] = {};
  bool has_last_mac1_ = false;
};

}  // namespace gw::wg
