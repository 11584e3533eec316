// UDP transport for WireGuard datagrams, batched with recvmmsg/sendmmsg.
//
// Layout follows wireguard-go's StdNetBind: one IPv4 socket and one IPv6-only socket bound to the same
// port, not one dual-stack socket. It keeps working when the host has IPv6 disabled (AF_INET6 socket
// creation fails and we carry on with IPv4), it does not depend on net.ipv6.bindv6only, IPv4 peers
// keep plain sockaddr_in endpoints instead of v4-mapped ones, and per-family options (IP_PKTINFO vs
// IPV6_RECVPKTINFO, UDP GSO) stay separate. The cost is one more fd in the poller.
//
// Threads: open/close/set_* on the control thread while no loop uses the sockets. recv_batch and
// send_batch keep their scratch on the stack, so any threads may call them concurrently (typically
// the RX loop receives while both loops send).
#pragma once

#include <cstdint>

#include "packet.h"

namespace gw::io {

struct UdpConfig {
  uint16_t port = 0;             // 0 = ephemeral; both sockets then share the one the kernel picks
  int rcvbuf = 7 << 20;          // wireguard-go's 7 MiB; 0 leaves the kernel default
  int sndbuf = 7 << 20;
  uint32_t fwmark = 0;           // SO_MARK for policy routing; 0 = unset
  bool gso = false;              // UDP_SEGMENT on send: runs of equal-size datagrams to one endpoint in one message
  bool gro = false;              // UDP_GRO on receive: Packet::gso_size tells how to split (buffers need 64 KiB)
  bool mmsg = true;              // several messages per recvmmsg/sendmmsg; off: one per call (the bench's baseline)
};

class UdpSocket {
 public:
  UdpSocket() = default;
  ~UdpSocket() { close(); }
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  // Binds a nonblocking socket of family (AF_INET or AF_INET6, the latter IPv6-only) to the wildcard
  // address. 0 or -errno.
  int open(int family, uint16_t port);
  void close();

  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  int family() const { return family_; }
  uint16_t port() const { return port_; }

  // Tries SO_*BUFFORCE (root may exceed rmem_max/wmem_max) then the capped SO_*BUF. 0 or -errno.
  int set_buffers(int rcvbuf, int sndbuf);
  int rcvbuf() const;  // what the kernel granted (it doubles the request), or -errno
  int sndbuf() const;
  int set_mark(uint32_t mark);  // 0 or -errno (needs CAP_NET_ADMIN)
  // Probes and switches UDP GSO (send) / GRO (receive); returns whether the kernel accepted it.
  bool enable_gso(bool on);
  bool enable_gro(bool on);
  bool gso() const { return gso_; }
  bool gro() const { return gro_; }
  // Messages per recvmmsg/sendmmsg call: kBatchSize, or 1 to measure what batching buys.
  void set_batching(bool on) { batch_ = on ? kBatchSize : 1; }

  // Receives into b.pkts[0..) (stopping at a packet without a slab); sets data/len/ep per packet (and
  // gso_size with GRO). Truncated datagrams (bigger than cap) are dropped and counted. kAgain only when
  // nothing came.
  IoResult recv_batch(Batch& b);
  // Sends pkts[0..n) to each packet's ep (all of this socket's family). A destination the kernel
  // refuses (unreachable, EMSGSIZE...) drops that packet only; kAgain stops with count = sent so far.
  // With gso(): consecutive packets to one endpoint of one size (the last of a run may be shorter) go
  // as one message with UDP_SEGMENT; EIO (no checksum offload on the route) turns GSO off and retries.
  IoResult send_batch(const Packet* pkts, size_t n);

 private:
  int fd_ = -1;
  bool gso_ = false;
  bool gro_ = false;
  size_t batch_ = kBatchSize;
  int family_ = 0;
  uint16_t port_ = 0;
};

class UdpBind {
 public:
  // 0 or -errno. With port 0 it retries until both families get the same ephemeral port.
  int open(const UdpConfig& cfg);
  void close();

  uint16_t port() const { return v4_.is_open() ? v4_.port() : v6_.port(); }
  UdpSocket& v4() { return v4_; }  // either may be closed when the host lacks that family
  UdpSocket& v6() { return v6_; }
  int set_mark(uint32_t mark);

  // Sends b.pkts[0..b.count), each through the socket of its endpoint's family.
  IoResult send_batch(const Batch& b) { return send_batch(b.pkts, b.count); }
  IoResult send_batch(const Packet* pkts, size_t n);

 private:
  int open_once(const UdpConfig& cfg);

  UdpSocket v4_;
  UdpSocket v6_;
};

}  // namespace gw::io
