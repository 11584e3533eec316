// virtio_net_hdr offloads for a TUN opened with IFF_VNET_HDR + TUNSETOFFLOAD(CSUM|TSO4|TSO6, and
// USO4|USO6 where the kernel has them): the wireguard-go shape (tun/offload_linux.go), done in userspace.
//
//   read side (TSO/USO): the kernel hands us up to 64 KiB TCP or UDP super-packets plus a header saying
//                     how to cut them (gso_size) and/or a partial checksum to complete. gso_split() turns
//                     one such read into ordinary IP packets (headers rewritten, checksums complete). A
//                     UDP super-packet comes from a sender using UDP_SEGMENT (QUIC stacks do).
//   write side (GRO): consecutive TCP segments of one flow are written as one super-packet whose header
//                     asks the kernel to treat it as GSO (tcp_run() finds the run, tcp_coalesce() fixes
//                     the first packet's headers and fills the virtio header). Everything else is written
//                     singly with a zero header.
//
// Pure functions over bytes: no syscalls, no state; tested in native/tests/io.
#pragma once

#include <cstddef>
#include <cstdint>

#include "packet.h"

namespace gw::io::vnet {

// struct virtio_net_hdr (host endianness on x86, as the kernel uses for TUN without TUNSETVNETLE).
struct Hdr {
  uint8_t flags = 0;
  uint8_t gso_type = 0;
  uint16_t hdr_len = 0;
  uint16_t gso_size = 0;
  uint16_t csum_start = 0;
  uint16_t csum_offset = 0;
};
static_assert(sizeof(Hdr) == kVnetHdrLen);

constexpr uint8_t kNeedsCsum = 1;
constexpr uint8_t kGsoNone = 0;
constexpr uint8_t kGsoTcp4 = 1;
constexpr uint8_t kGsoTcp6 = 4;
constexpr uint8_t kGsoUdpL4 = 5;  // VIRTIO_NET_HDR_GSO_UDP_L4: either IP version, the packet says which
constexpr uint8_t kGsoEcn = 0x80;

// Ones'-complement sum of n bytes in memory order (RFC 1071: byte-order independent), unfolded.
uint64_t csum_add(uint64_t sum, const uint8_t* p, size_t n);
// Folds to 16 bits; the value stored natively (memcpy) gives the checksum's wire bytes.
uint16_t csum_fold(uint64_t sum);

// How many packets gso_split() will produce for this read (0: malformed, drop it).
size_t segment_count(const Hdr& h, const uint8_t* pkt, size_t len);
// Splits pkt (len bytes, the IP packet after the header) into out[0..): each out packet must own a slab;
// it is rewound and filled. Returns the count written, 0 if malformed or if max_out/cap is too small.
size_t gso_split(const Hdr& h, const uint8_t* pkt, size_t len, Packet* out, size_t max_out);

// GRO: the length of the run of packets starting at pkts[0] that can become one TCP super-packet (1 if
// pkts[0] cannot be coalesced with pkts[1]). At most max_segs packets, at most 65535 bytes of IP packet.
size_t tcp_run(const Packet* pkts, size_t n, size_t max_segs = 64);
// For a run of k >= 2 found by tcp_run: rewrites the first packet's IP length, IPv4 checksum, PSH flag
// and TCP checksum field (pseudo-header sum for NEEDS_CSUM) and fills *h. The payloads of pkts[1..k) follow
// the first packet in the write; payload_offset() says where each one's payload starts.
void tcp_coalesce(Packet* pkts, size_t k, Hdr* h);
size_t payload_offset(const uint8_t* pkt);  // IP + TCP header length of a packet tcp_run() accepted

}  // namespace gw::io::vnet
