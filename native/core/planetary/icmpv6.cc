#include "icmpv6.h"

#include <algorithm>
#include <cstring>

namespace gw::planetary::icmpv6 {

namespace {

constexpr uint8_t kNextHeaderIcmpv6 = 58;
constexpr uint8_t kTypePacketTooBig = 2;

uint32_t sum16(const uint8_t* p, size_t len, uint32_t acc) {
  for (size_t i = 0; i + 1 < len; i += 2) acc += uint32_t(p[i]) << 8 | p[i + 1];
  if (len & 1) acc += uint32_t(p[len - 1]) << 8;
  return acc;
}

void put_u32be(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24), p[1] = uint8_t(v >> 16), p[2] = uint8_t(v >> 8), p[3] = uint8_t(v);
}

}  // namespace

uint16_t checksum(const uint8_t src[16], const uint8_t dst[16], const uint8_t* msg, size_t len) {
  uint8_t tail[8];
  put_u32be(tail, static_cast<uint32_t>(len));
  tail[4] = tail[5] = tail[6] = 0;
  tail[7] = kNextHeaderIcmpv6;
  uint32_t acc = sum16(src, 16, 0);
  acc = sum16(dst, 16, acc);
  acc = sum16(tail, 8, acc);
  acc = sum16(msg, len, acc);
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(~acc);
}

size_t packet_too_big(const uint8_t* packet, size_t len, uint32_t mtu, uint8_t* out) {
  size_t quoted = std::min(len, kPtbQuoteMax);
  size_t icmp_len = 8 + quoted;
  uint8_t* icmp = out + kIpv6HeaderLen;
  std::memcpy(icmp + 8, packet, quoted);
  std::memset(out, 0, kIpv6HeaderLen);
  out[0] = 0x60;
  out[4] = static_cast<uint8_t>(icmp_len >> 8);
  out[5] = static_cast<uint8_t>(icmp_len);
  out[6] = kNextHeaderIcmpv6;
  out[7] = 255;
  std::memcpy(out + 8, packet + 24, 16);
  std::memcpy(out + 24, packet + 8, 16);
  icmp[0] = kTypePacketTooBig;
  icmp[1] = 0;
  icmp[2] = icmp[3] = 0;
  put_u32be(icmp + 4, mtu);
  uint16_t sum = checksum(out + 8, out + 24, icmp, icmp_len);
  icmp[2] = static_cast<uint8_t>(sum >> 8);
  icmp[3] = static_cast<uint8_t>(sum);
  return kIpv6HeaderLen + icmp_len;
}

}  // namespace gw::planetary::icmpv6
