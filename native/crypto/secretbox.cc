#include "secretbox.h"

#include <cstring>

#include "arx.h"
#include "curve.h"
#include "poly1305.h"

namespace gw::crypto {

namespace {

bool mac(const uint8_t key[32], const uint8_t* in, size_t len, uint8_t tag[16]) {
  const Slice msg{in, len};
  return poly1305(key, &msg, 1, tag);
}

// XSalsa20 as NaCl uses it: the first 32 bytes of keystream become the Poly1305 key and the message is
// enciphered with the keystream from byte 32 on.
struct Stream {
  uint8_t subkey[32];
  uint8_t block0[64] = {};
  const uint8_t* nonce8;
  Stream(const uint8_t key[32], const uint8_t nonce[24]) : nonce8(nonce + 16) {
    hsalsa20(key, nonce, subkey);
    salsa20_xor(subkey, nonce8, 0, block0, block0, sizeof block0);
  }
  ~Stream() {
    wipe(subkey, sizeof subkey);
    wipe(block0, sizeof block0);
  }
  // out = in XOR the message keystream; the copy and the cipher are one pass. in and out are the same
  // buffer or do not overlap.
  void apply(const uint8_t* in, uint8_t* out, size_t len) const {
    size_t head = len < 32 ? len : 32;
    for (size_t i = 0; i < head; i++) out[i] = in[i] ^ block0[32 + i];
    if (len > head) salsa20_xor(subkey, nonce8, 1, in + head, out + head, len - head);
  }
};

// The source to encipher from: in itself, unless it partly overlaps out, when it is moved there first.
const uint8_t* settle(const uint8_t* in, uint8_t* out, size_t len) {
  if (in == out || !len || in + len <= out || out + len <= in) return in;
  std::memmove(out, in, len);
  return out;
}

}  // namespace

bool secretbox_seal(const uint8_t key[kKeyLen], const uint8_t nonce[kXNonceLen], const uint8_t* in, size_t len,
                    uint8_t* out) {
  Stream s(key, nonce);
  uint8_t* ct = out + kBoxOverhead;
  s.apply(settle(in, ct, len), ct, len);
  return mac(s.block0, ct, len, out);
}

bool secretbox_open(const uint8_t key[kKeyLen], const uint8_t nonce[kXNonceLen], const uint8_t* in, size_t len,
                    uint8_t* out) {
  Stream s(key, nonce);
  uint8_t tag[kTagLen];
  if (!mac(s.block0, in + kBoxOverhead, len, tag) || !equal(tag, in, kTagLen)) return false;
  s.apply(settle(in + kBoxOverhead, out, len), out, len);
  return true;
}

bool box_beforenm(const uint8_t peer_pub[kKeyLen], const uint8_t priv[kKeyLen], uint8_t shared[kKeyLen]) {
  static const uint8_t zero[16] = {};
  uint8_t dh[kKeyLen];
  bool ok = x25519(priv, peer_pub, dh);
  if (ok) hsalsa20(dh, zero, shared);
  wipe(dh, sizeof dh);
  return ok;
}

}  // namespace gw::crypto
