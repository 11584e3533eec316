// The one ICMPv6 message the payload layer originates: Packet Too Big for a packet from the network that
// exceeds the local TUN MTU (spec §6.3), byte for byte as yggdrasil 0.5.12 builds it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace gw::planetary::icmpv6 {

constexpr size_t kIpv6HeaderLen = 40;
constexpr size_t kPtbQuoteMax = 512;  // the reference quotes this much of the offending packet
constexpr size_t kPtbMaxLen = kIpv6HeaderLen + 8 + kPtbQuoteMax;

// Internet checksum of the ICMPv6 message msg[0, len) under the IPv6 pseudo-header; the checksum field
// (msg[2..4)) must be zero while computing.
uint16_t checksum(const uint8_t src[16], const uint8_t dst[16], const uint8_t* msg, size_t len);

// Writes the PTB for the offending IPv6 packet (len ≥ 40) into out (room for kPtbMaxLen, not overlapping
// packet): source = the offending destination, destination = the offending source, hop limit 255.
// Returns its length.
size_t packet_too_big(const uint8_t* packet, size_t len, uint32_t mtu, uint8_t* out);

}  // namespace gw::planetary::icmpv6
