#include "vnet.h"

#include <arpa/inet.h>

#include <cstring>

namespace gw::io::vnet {

namespace {

constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10, kUrg = 0x20, kEce = 0x40,
                  kCwr = 0x80;
constexpr size_t kMaxIpPacket = 65535;

uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
void put16(uint8_t* p, uint16_t v) { p[0] = static_cast<uint8_t>(v >> 8), p[1] = static_cast<uint8_t>(v); }
uint32_t get32(const uint8_t* p) { return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3]; }
void put32(uint8_t* p, uint32_t v) { put16(p, static_cast<uint16_t>(v >> 16)), put16(p + 2, static_cast<uint16_t>(v)); }
void store_csum(uint8_t* p, uint16_t native) { std::memcpy(p, &native, 2); }

// Pseudo-header sum for TCP/UDP over IPv4 or IPv6 (ip points at the IP header).
uint64_t add_carry(uint64_t sum, uint64_t x) {
  sum += x;
  return sum + (sum < x);  // end-around carry
}

uint64_t pseudo(const uint8_t* ip, uint8_t proto, size_t l4_len) {
  const bool v4 = (ip[0] >> 4) == 4;
  uint64_t s = v4 ? csum_add(0, ip + 12, 8) : csum_add(0, ip + 8, 32);
  return add_carry(s, uint64_t{htons(proto)} + htons(static_cast<uint16_t>(l4_len)));
}

void ipv4_checksum(uint8_t* ip, size_t ihl) {
  ip[10] = ip[11] = 0;
  store_csum(ip + 10, static_cast<uint16_t>(~csum_fold(csum_add(0, ip, ihl))));
}

// The IP header length of a TCP packet we may coalesce; 0 if it is not one.
size_t tcp_ip_header(const uint8_t* p, size_t len) {
  if (len < 20) return 0;
  if ((p[0] >> 4) == 4) {
    if (p[0] != 0x45 || p[9] != IPPROTO_TCP || get16(p + 2) != len || (get16(p + 6) & 0x3fff)) return 0;
    return 20;
  }
  if ((p[0] >> 4) == 6) {
    if (len < 40 || p[6] != IPPROTO_TCP || get16(p + 4) + 40u != len) return 0;
    return 40;
  }
  return 0;
}

// The IP header length of the UDP super-packet h describes (csum_start, which must match the packet's
// own header: no IPv6 extension headers, no IPv4 options beyond what IHL says); 0 if malformed.
size_t udp_ip_header(const Hdr& h, const uint8_t* pkt, size_t len) {
  const size_t iphl = h.csum_start;
  if (h.gso_size == 0 || h.csum_offset != 6 || iphl + 8 > len) return 0;
  if ((pkt[0] >> 4) == 4) return (pkt[0] & 0x0f) * 4u == iphl && iphl >= 20 && pkt[9] == IPPROTO_UDP ? iphl : 0;
  if ((pkt[0] >> 4) == 6) return iphl == 40 && pkt[6] == IPPROTO_UDP ? iphl : 0;
  return 0;
}

size_t udp_segment_count(const Hdr& h, const uint8_t* pkt, size_t len) {
  const size_t iphl = udp_ip_header(h, pkt, len);
  if (!iphl) return 0;
  const size_t payload = len - iphl - 8;
  return payload == 0 ? 1 : (payload + h.gso_size - 1) / h.gso_size;
}

// Rewrites the IP header copied to d for a packet of total bytes, the i-th cut from one super-packet.
void fix_ip_header(uint8_t* d, size_t iphl, size_t total, uint16_t id0, size_t i) {
  if ((d[0] >> 4) == 4) {
    put16(d + 2, static_cast<uint16_t>(total));
    put16(d + 4, static_cast<uint16_t>(id0 + i));
    ipv4_checksum(d, iphl);
  } else {
    put16(d + 4, static_cast<uint16_t>(total - 40));
  }
}

uint16_t ipv4_id(const uint8_t* pkt) { return (pkt[0] >> 4) == 4 ? get16(pkt + 4) : 0; }

// The i-th cut of a super-packet into p: its headers (hdrlen bytes, IP header iphl of them) and payload
// bytes [off, off + seg), IP header rewritten. False if p's slab is too small.
bool cut(const uint8_t* pkt, size_t iphl, size_t hdrlen, size_t off, size_t seg, size_t i, Packet& p) {
  p.rewind();
  if (hdrlen + seg > p.cap) return false;
  std::memcpy(p.data, pkt, hdrlen);
  std::memcpy(p.data + hdrlen, pkt + hdrlen + off, seg);
  fix_ip_header(p.data, iphl, hdrlen + seg, ipv4_id(pkt), i);
  p.len = static_cast<uint32_t>(hdrlen + seg);
  return true;
}

// USO: each datagram gets the super-packet's headers with its own lengths and a full UDP checksum.
size_t udp_split(const Hdr& h, const uint8_t* pkt, size_t len, Packet* out, size_t count) {
  const size_t iphl = h.csum_start, hdrlen = iphl + 8, payload = len - hdrlen;
  for (size_t i = 0, off = 0; i < count; ++i) {
    const size_t seg = payload - off < h.gso_size ? payload - off : h.gso_size;
    if (!cut(pkt, iphl, hdrlen, off, seg, i, out[i])) return 0;
    uint8_t* d = out[i].data;
    uint8_t* udp = d + iphl;
    put16(udp + 4, static_cast<uint16_t>(8 + seg));
    udp[6] = udp[7] = 0;
    const uint16_t c = static_cast<uint16_t>(~csum_fold(csum_add(pseudo(d, IPPROTO_UDP, 8 + seg), udp, 8 + seg)));
    store_csum(udp + 6, c == 0 ? 0xffff : c);  // zero would mean "no checksum"
    off += seg;
  }
  return count;
}

}  // namespace

uint64_t csum_add(uint64_t sum, const uint8_t* p, size_t n) {
  while (n >= 32) {
    uint64_t w[4];
    std::memcpy(w, p, 32);
    for (uint64_t x : w) sum = add_carry(sum, x);
    p += 32, n -= 32;
  }
  while (n >= 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    sum = add_carry(sum, w);
    p += 4, n -= 4;
  }
  if (n >= 2) {
    uint16_t w;
    std::memcpy(&w, p, 2);
    sum = add_carry(sum, w);
    p += 2, n -= 2;
  }
  if (n) sum = add_carry(sum, *p);  // the missing byte is zero in memory order
  return sum;
}

uint16_t csum_fold(uint64_t sum) {
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

size_t segment_count(const Hdr& h, const uint8_t* pkt, size_t len) {
  if (len == 0) return 0;
  if (h.gso_type == kGsoNone) {
    if ((h.flags & kNeedsCsum) && size_t{h.csum_start} + h.csum_offset + 2 > len) return 0;
    return 1;
  }
  if (h.gso_type == kGsoUdpL4) return udp_segment_count(h, pkt, len);
  if (h.gso_type != kGsoTcp4 && h.gso_type != kGsoTcp6) return 0;  // ECN is never negotiated
  const size_t iphl = h.csum_start;
  if (h.gso_size == 0 || iphl < 20 || iphl + 20 > len) return 0;
  if ((pkt[0] >> 4) != (h.gso_type == kGsoTcp4 ? 4 : 6)) return 0;
  if (h.gso_type == kGsoTcp4 && (pkt[0] & 0x0f) * 4u != iphl) return 0;
  // hdr_len is not trusted (it may cover the whole first packet on the forward path): recompute it.
  const size_t tcphl = (pkt[iphl + 12] >> 4) * 4u;
  if (tcphl < 20 || tcphl > 60 || iphl + tcphl > len) return 0;
  const size_t payload = len - iphl - tcphl;
  return payload == 0 ? 1 : (payload + h.gso_size - 1) / h.gso_size;
}

size_t gso_split(const Hdr& h, const uint8_t* pkt, size_t len, Packet* out, size_t max_out) {
  const size_t count = segment_count(h, pkt, len);
  if (count == 0 || count > max_out) return 0;
  if (h.gso_type == kGsoNone) {
    Packet& p = out[0];
    p.rewind();
    if (len > p.cap) return 0;
    std::memcpy(p.data, pkt, len);
    p.len = static_cast<uint32_t>(len);
    if (h.flags & kNeedsCsum) {
      uint8_t* field = p.data + h.csum_start + h.csum_offset;
      uint16_t c = static_cast<uint16_t>(~csum_fold(csum_add(0, p.data + h.csum_start, len - h.csum_start)));
      if (c == 0 && h.csum_offset == 6) c = 0xffff;  // UDP: zero means "no checksum"
      store_csum(field, c);
    }
    return 1;
  }
  if (h.gso_type == kGsoUdpL4) return udp_split(h, pkt, len, out, count);
  const size_t iphl = h.csum_start;
  const size_t tcphl = (pkt[iphl + 12] >> 4) * 4u;
  const size_t hdrlen = iphl + tcphl;
  const size_t payload = len - hdrlen;
  const uint32_t seq = get32(pkt + iphl + 4);
  const uint8_t flags = pkt[iphl + 13];
  size_t off = 0;
  for (size_t i = 0; i < count; ++i) {
    const size_t seg = payload - off < h.gso_size ? payload - off : h.gso_size;
    if (!cut(pkt, iphl, hdrlen, off, seg, i, out[i])) return 0;
    uint8_t* d = out[i].data;
    uint8_t* tcp = d + iphl;
    put32(tcp + 4, seq + static_cast<uint32_t>(off));
    uint8_t f = flags;
    if (i + 1 < count) f &= static_cast<uint8_t>(~(kFin | kPsh));
    if (i > 0) f &= static_cast<uint8_t>(~kCwr);
    tcp[13] = f;
    tcp[16] = tcp[17] = 0;
    const uint64_t s = csum_add(pseudo(d, IPPROTO_TCP, tcphl + seg), tcp, tcphl + seg);
    store_csum(tcp + 16, static_cast<uint16_t>(~csum_fold(s)));
    off += seg;
  }
  return count;
}

size_t payload_offset(const uint8_t* pkt) {
  const size_t iphl = (pkt[0] >> 4) == 4 ? 20 : 40;
  return iphl + (pkt[iphl + 12] >> 4) * 4u;
}

size_t tcp_run(const Packet* pkts, size_t n, size_t max_segs) {
  if (n < 2) return n;
  const uint8_t* a = pkts[0].data;
  const size_t alen = pkts[0].len;
  const size_t iphl = tcp_ip_header(a, alen);
  if (!iphl || alen < iphl + 20) return 1;
  const uint8_t* at = a + iphl;
  const size_t tcphl = (at[12] >> 4) * 4u;
  if (tcphl < 20 || tcphl > 60 || iphl + tcphl >= alen) return 1;
  const uint8_t af = at[13];
  if ((af & (kFin | kSyn | kRst | kUrg | kEce | kCwr | kPsh)) || !(af & kAck)) return 1;
  const size_t hdrlen = iphl + tcphl;
  const size_t gso = alen - hdrlen;
  size_t total = alen;
  uint32_t next_seq = get32(at + 4) + static_cast<uint32_t>(gso);
  size_t k = 1;
  for (; k < n && k < max_segs; ++k) {
    const uint8_t* b = pkts[k].data;
    const size_t blen = pkts[k].len;
    if (blen <= hdrlen || blen - hdrlen > gso || total + blen - hdrlen > kMaxIpPacket) break;
    if (tcp_ip_header(b, blen) != iphl) break;
    if (iphl == 20) {
      if (std::memcmp(a, b, 2) || std::memcmp(a + 6, b + 6, 4) || std::memcmp(a + 12, b + 12, 8)) break;
    } else if (std::memcmp(a, b, 4) || std::memcmp(a + 6, b + 6, 34)) {
      break;
    }
    const uint8_t* bt = b + iphl;
    if ((bt[12] >> 4) * 4u != tcphl || get32(bt + 4) != next_seq) break;
    if (std::memcmp(at, bt, 4) || std::memcmp(at + 8, bt + 8, 4)) break;  // ports, ack
    if (at[12] != bt[12] || (bt[13] & ~kPsh) != af || std::memcmp(at + 14, bt + 14, 2)) break;  // flags, window
    if (std::memcmp(at + 18, bt + 18, tcphl - 18)) break;  // urgent pointer, options
    const size_t bp = blen - hdrlen;
    total += bp;
    next_seq += static_cast<uint32_t>(bp);
    if (bp < gso || (bt[13] & kPsh)) {  // only the last segment may be short or pushed
      ++k;
      break;
    }
  }
  return k;
}

void tcp_coalesce(Packet* pkts, size_t k, Hdr* h) {
  uint8_t* a = pkts[0].data;
  const size_t iphl = (a[0] >> 4) == 4 ? 20 : 40;
  uint8_t* tcp = a + iphl;
  const size_t hdrlen = iphl + (tcp[12] >> 4) * 4u;
  size_t total = pkts[0].len;
  for (size_t i = 1; i < k; ++i) total += pkts[i].len - hdrlen;
  if (iphl == 20) {
    put16(a + 2, static_cast<uint16_t>(total));
    ipv4_checksum(a, 20);
  } else {
    put16(a + 4, static_cast<uint16_t>(total - 40));
  }
  if (pkts[k - 1].data[iphl + 13] & kPsh) tcp[13] |= kPsh;
  store_csum(tcp + 16, csum_fold(pseudo(a, IPPROTO_TCP, total - iphl)));
  h->flags = kNeedsCsum;
  h->gso_type = iphl == 20 ? kGsoTcp4 : kGsoTcp6;
  h->hdr_len = static_cast<uint16_t>(hdrlen);
  h->gso_size = static_cast<uint16_t>(pkts[0].len - hdrlen);
  h->csum_start = static_cast<uint16_t>(iphl);
  h->csum_offset = 16;
}

}  // namespace gw::io::vnet
