// poly1305() against RFC 8439's §2.5.2 vector and, differentially, OpenSSL's EVP_MAC: the portable
// code and the chosen route at every length up to past the short-message limit, the message whole and
// in parts (as the ChaCha20-Poly1305 AEAD gives it), and the
// keys and messages of RFC 8439 Appendix A.3 that drive the accumulator to or past p (the final
// reduction's edge cases). The exported core is absent from the libcrypto these tests link; the addon's
// differential test covers it.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../../crypto/crypto.h"
#include "../../crypto/poly1305.h"
#include "../harness.h"

namespace {

using gw::crypto::Poly1305Route;
using gw::crypto::Slice;

// The message whole, or split before byte `cut` and again 16 bytes later (both clipped to its length).
std::vector<uint8_t> tag_of(Poly1305Route route, const uint8_t key[32], const std::vector<uint8_t>& msg,
                            size_t cut = SIZE_MAX) {
  std::vector<uint8_t> tag(16);
  size_t a = std::min(cut, msg.size()), b = std::min(cut + 16, msg.size());
  const Slice parts[] = {{msg.data(), a}, {msg.data() + a, b - a}, {msg.data() + b, msg.size() - b}};
  if (!gw::crypto::poly1305(key, parts, cut == SIZE_MAX ? 1 : 3, tag.data(), route)) tag.clear();
  return tag;
}

std::vector<uint8_t> openssl_tag(const uint8_t key[32], const std::vector<uint8_t>& msg) {
  return tag_of(Poly1305Route::kEvp, key, msg);
}

std::vector<uint8_t> short_tag(const uint8_t key[32], const std::vector<uint8_t>& msg, size_t cut = SIZE_MAX) {
  return tag_of(Poly1305Route::kPortable, key, msg, cut);
}

}  // namespace

TEST(poly1305_portable_rfc8439_vector) {
  CHECK(gw::crypto::init() == nullptr);
  const uint8_t key[32] = {0x85, 0xd6, 0xbe, 0x78, 0x57, 0x55, 0x6d, 0x33, 0x7f, 0x44, 0x52, 0xfe, 0x42, 0xd5, 0x06, 0xa8,
                           0x01, 0x03, 0x80, 0x8a, 0xfb, 0x0d, 0xb2, 0xfd, 0x4a, 0xbf, 0xf6, 0xaf, 0x41, 0x49, 0xf5, 0x1b};
  const char* text = "Cryptographic Forum Research Group";
  const std::vector<uint8_t> msg(text, text + std::strlen(text));
  const std::vector<uint8_t> want = {0xa8, 0x06, 0x1d, 0xc1, 0x30, 0x51, 0x36, 0xc6,
                                     0xc2, 0x2b, 0x8b, 0xaf, 0x0c, 0x01, 0x27, 0xa9};
  CHECK(short_tag(key, msg) == want);
  for (size_t cut = 0; cut <= 16; cut++) CHECK(short_tag(key, msg, cut) == want);
}

TEST(poly1305_routes_match_openssl_for_every_short_length) {
  CHECK(gw::crypto::init() == nullptr);
  uint8_t key[32];
  for (size_t len = 0; len <= 1100; len++) {
    for (size_t i = 0; i < 32; i++) key[i] = uint8_t(i * 29 + len * 7 + 3);
    std::vector<uint8_t> msg(len);
    for (size_t i = 0; i < len; i++) msg[i] = uint8_t(i * 13 + len);
    const std::vector<uint8_t> want = openssl_tag(key, msg);
    CHECK(want.size() == 16);
    CHECK(short_tag(key, msg) == want);
    CHECK(tag_of(Poly1305Route::kChosen, key, msg) == want);
    CHECK(tag_of(Poly1305Route::kChosen, key, msg, len % 17) == want);
    // In parts, the portable code takes only short messages (it gathers them on the stack).
    CHECK(short_tag(key, msg, len % 17) == (len <= gw::crypto::kShortMac ? want : std::vector<uint8_t>{}));
    std::memset(key, 0xff, sizeof key);  // r at its clamped maximum, s all ones
    std::fill(msg.begin(), msg.end(), 0xff);
    CHECK(short_tag(key, msg) == openssl_tag(key, msg));
  }
}

TEST(poly1305_portable_matches_openssl_at_the_reduction_edges) {
  CHECK(gw::crypto::init() == nullptr);
  auto bytes = [](std::initializer_list<std::pair<size_t, uint8_t>> set, size_t len, uint8_t fill) {
    std::vector<uint8_t> v(len, fill);
    for (auto [i, b] : set) v[i] = b;
    return v;
  };
  struct Case {
    std::vector<uint8_t> key, msg;
  };
  const std::vector<uint8_t> ff16(16, 0xff);
  std::vector<uint8_t> key6 = bytes({{0, 2}}, 32, 0xff);  // A.3 #6: r = 2, s all ones
  std::fill(key6.begin() + 1, key6.begin() + 16, 0);
  std::vector<uint8_t> msg7 = ff16;  // A.3 #7: ff.., f0 ff.., 11 00..
  auto tail7 = bytes({{0, 0xf0}}, 16, 0xff);
  msg7.insert(msg7.end(), tail7.begin(), tail7.end());
  auto tail7b = bytes({{0, 0x11}}, 16, 0);
  msg7.insert(msg7.end(), tail7b.begin(), tail7b.end());
  std::vector<uint8_t> msg8 = bytes({}, 16, 0xff);  // A.3 #8: ff.., fb fe.., 01 01..
  auto tail8 = bytes({{0, 0xfb}}, 16, 0xfe);
  msg8.insert(msg8.end(), tail8.begin(), tail8.end());
  auto tail8b = bytes({}, 16, 0x01);
  msg8.insert(msg8.end(), tail8b.begin(), tail8b.end());
  const Case cases[] = {
      {bytes({{0, 2}}, 32, 0), ff16},  // A.3 #5
      {key6, bytes({{0, 2}}, 16, 0)},  // A.3 #6
      {bytes({{0, 1}}, 32, 0), msg7},
      {bytes({{0, 1}}, 32, 0), msg8},
      {bytes({{0, 2}}, 32, 0), bytes({{0, 0xfd}}, 16, 0xff)},  // A.3 #9
  };
  for (const Case& c : cases) CHECK(short_tag(c.key.data(), c.msg) == openssl_tag(c.key.data(), c.msg));
}
