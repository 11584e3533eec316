#include "cookie.h"

#include "../../crypto/aead.h"
#include "../../crypto/hash.h"

namespace gw::wg {
namespace {

void derive_key(const char label[8], const uint8_t public_key[kKeyLen], uint8_t out[kKeyLen]) {
  crypto::Slice parts[] = {{reinterpret_cast<const uint8_t*>(label), 8}, {public_key, kKeyLen}};
  crypto::blake2s(parts, 2, out);
}

// mac1 sits 32 bytes before the end of a handshake message, mac2 16 bytes before.
size_t mac1_offset(size_t len) { return len - 2 * kMacLen; }
size_t mac2_offset(size_t len) { return len - kMacLen; }
bool is_handshake_len(size_t len) { return len == kInitiationSize || len == kResponseSize; }

}  // namespace

void derive_mac1_key(const uint8_t pk[kKeyLen], uint8_t out[kKeyLen]) { derive_key("mac1----", pk, out); }
void derive_cookie_key(const uint8_t pk[kKeyLen], uint8_t out[kKeyLen]) { derive_key("cookie--", pk, out); }

void CookieChecker::init(const uint8_t own_public_key[kKeyLen]) {
  derive_mac1_key(own_public_key, mac1_key_);
  derive_cookie_key(own_public_key, cookie_key_);
  std::lock_guard<std::mutex> lock(secret_mu_);
  secret_valid_ = false;
}

void CookieChecker::clear() {
  crypto::wipe(mac1_key_, sizeof mac1_key_);
  crypto::wipe(cookie_key_, sizeof cookie_key_);
  std::lock_guard<std::mutex> lock(secret_mu_);
  crypto::wipe(secret_, sizeof secret_);
  secret_valid_ = false;
}

bool CookieChecker::check_mac1(const uint8_t* msg, size_t len) const {
  if (!is_handshake_len(len)) return false;
  uint8_t mac[kMacLen];
  size_t off = mac1_offset(len);
  return crypto::blake2s_mac16(mac1_key_, kKeyLen, msg, off, mac) && crypto::equal(mac, msg + off, kMacLen);
}

void CookieChecker::make_cookie(const Endpoint& src, uint64_t now_ns, const Rng& rng, uint8_t cookie[kCookieLen]) {
  uint8_t source[18];
  size_t n = endpoint_source_bytes(src, source);
  std::lock_guard<std::mutex> lock(secret_mu_);
  if (!secret_valid_ || now_ns - secret_birth_ns_ >= kCookieRefreshTimeNs) {
    rng(secret_, sizeof secret_);
    secret_birth_ns_ = now_ns;
    secret_valid_ = true;
  }
  crypto::blake2s_mac16(secret_, sizeof secret_, source, n, cookie);
}

bool CookieChecker::check_mac2(const uint8_t* msg, size_t len, const Endpoint& src, uint64_t now_ns,
                               const Rng& rng) {
  if (!is_handshake_len(len)) return false;
  uint8_t cookie[kCookieLen], mac[kMacLen];
  make_cookie(src, now_ns, rng, cookie);
  size_t off = mac2_offset(len);
  bool ok = crypto::blake2s_mac16(cookie, kCookieLen, msg, off, mac) && crypto::equal(mac, msg + off, kMacLen);
  crypto::wipe(cookie, sizeof cookie);
  return ok;
}

bool CookieChecker::create_reply(const uint8_t* msg, size_t len, uint32_t receiver_index, const Endpoint& src,
                                 uint64_t now_ns, const Rng& rng, MsgCookieReply* out) {
  if (!is_handshake_len(len)) return false;
  uint8_t cookie[kCookieLen];
  make_cookie(src, now_ns, rng, cookie);
  init_header(out);
  store_le32(out->receiver_index, receiver_index);
  bool ok = rng(out->nonce, sizeof out->nonce) &&
            crypto::xchacha_seal(cookie_key_, out->nonce, msg + mac1_offset(len), kMacLen, cookie, kCookieLen,
                                 out->encrypted_cookie);
  crypto::wipe(cookie, sizeof cookie);
  return ok;
}

void CookieChecker::set_secret_for_test(const uint8_t secret[32], uint64_t birth_ns) {
  std::lock_guard<std::mutex> lock(secret_mu_);
  std::memcpy(secret_, secret, sizeof secret_);
  secret_birth_ns_ = birth_ns;
  secret_valid_ = true;
}

void CookieGenerator::init(const uint8_t peer_public_key[kKeyLen]) {
  derive_mac1_key(peer_public_key, mac1_key_);
  derive_cookie_key(peer_public_key, cookie_key_);
  has_cookie_ = has_last_mac1_ = false;
}

CookieGenerator::~CookieGenerator() { crypto::wipe(this, sizeof *this); }

void CookieGenerator::add_macs(uint8_t* msg, size_t len, uint64_t now_ns) {
  if (!is_handshake_len(len)) return;
  size_t off1 = mac1_offset(len), off2 = mac2_offset(len);
  crypto::blake2s_mac16(mac1_key_, kKeyLen, msg, off1, msg + off1);
  std::memcpy(last_mac1_, msg + off1, kMacLen);
  has_last_mac1_ = true;
  if (has_cookie_ && now_ns - cookie_birth_ns_ < kCookieRefreshTimeNs) {
    crypto::blake2s_mac16(cookie_, kCookieLen, msg, off2, msg + off2);
  } else {
    std::memset(msg + off2, 0, kMacLen);
  }
}

bool CookieGenerator::consume_reply(const MsgCookieReply& reply, uint64_t now_ns) {
  if (!has_last_mac1_) return false;
  uint8_t cookie[kCookieLen];
  if (!crypto::xchacha_open(cookie_key_, reply.nonce, last_mac1_, kMacLen, reply.encrypted_cookie, kCookieLen,
                            cookie)) {
    return false;
  }
  std::memcpy(cookie_, cookie, kCookieLen);
  crypto::wipe(cookie, sizeof cookie);
  cookie_birth_ns_ = now_ns;
  has_cookie_ = true;
  // One cookie per mac1, as the kernel does: a replayed reply cannot refresh the cookie's birth time.
  has_last_mac1_ = false;
  return true;
}

}  // namespace gw::wg
