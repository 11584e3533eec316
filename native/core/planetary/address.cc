#include "address.h"

namespace gw::planetary {

namespace {

int get_bit(const uint8_t* bytes, size_t i) { return (bytes[i >> 3] >> (7 - (i & 7))) & 1; }
void set_bit(uint8_t* bytes, size_t i) { bytes[i >> 3] |= static_cast<uint8_t>(0x80 >> (i & 7)); }

}  // namespace

Address address_for_key(const Key& key) {
  Key inv;
  for (size_t i = 0; i < kKeyLen; i++) inv[i] = static_cast<uint8_t>(~key[i]);
  size_t ones = 0;
  while (ones < 256 && get_bit(inv.data(), ones)) ones++;
  Address a{};
  a[0] = 0x02;
  // One byte, unchecked, as yggdrasil stores it (an all-zero key's 256 wraps to 0).
  a[1] = static_cast<uint8_t>(ones);
  // Only whole bytes are taken: a trailing partial byte is discarded.
  for (size_t src = ones + 1, dst = 16; src + 8 <= 256 && dst < 128; src += 8, dst += 8) {
    uint8_t byte = 0;
    for (size_t k = 0; k < 8; k++) byte = static_cast<uint8_t>(byte << 1 | get_bit(inv.data(), src + k));
    a[dst >> 3] = byte;
  }
  return a;
}

Subnet subnet_for_key(const Key& key) {
  Address a = address_for_key(key);
  Subnet s;
  for (size_t i = 0; i < s.size(); i++) s[i] = a[i];
  s[0] |= 0x01;
  return s;
}

Key partial_key_for_prefix(const uint8_t* prefix, size_t len) {
  Address a{};
  for (size_t i = 0; i < len && i < a.size(); i++) a[i] = prefix[i];
  Key b{};
  size_t ones = a[1];
  for (size_t i = 0; i < ones; i++) set_bit(b.data(), i);
  for (size_t src = 16, dst = ones + 1; src < 128 && dst < 256; src++, dst++) {
    if (get_bit(a.data(), src)) set_bit(b.data(), dst);
  }
  for (auto& byte : b) byte = static_cast<uint8_t>(~byte);
  return b;
}

Key bloom_transform(const Key& key) {
  Subnet s = subnet_for_key(key);
  return partial_key_for_prefix(s.data(), s.size());
}

}  // namespace gw::planetary
