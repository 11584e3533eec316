#include "udp.h"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace gw::io {

namespace {

int setopt(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof value) == 0 ? 0 : -errno;
}

int getopt(int fd, int level, int name) {
  int value = 0;
  socklen_t len = sizeof value;
  return getsockopt(fd, level, name, &value, &len) == 0 ? value : -errno;
}

int set_buffer(int fd, int force_opt, int opt, int bytes) {
  if (bytes <= 0 || setopt(fd, SOL_SOCKET, force_opt, bytes) == 0) return 0;
  return setopt(fd, SOL_SOCKET, opt, bytes);
}

int bind_any(int fd, int family, uint16_t port) {
  sockaddr_in6 sa{};  // large enough for either family; zero is the wildcard address
  sa.sin6_family = static_cast<sa_family_t>(family);
  sa.sin6_port = htons(port);
  const socklen_t len = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  return bind(fd, reinterpret_cast<sockaddr*>(&sa), len) == 0 ? 0 : -errno;
}

uint16_t bound_port(int fd) {
  sockaddr_in6 sa{};
  socklen_t len = sizeof sa;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) return 0;
  return ntohs(sa.sin6_port);  // sin_port and sin6_port share the offset
}

IoResult status_from(IoResult r, int err) {
  r.err = err;
  r.status = err == EAGAIN || err == EWOULDBLOCK ? (r.count ? IoStatus::kOk : IoStatus::kAgain)
             : err == EBADF                      ? IoStatus::kGone
                                                 : IoStatus::kError;
  return r;
}

// Errors that concern one destination, not the socket: drop the packet and go on.
bool per_packet_error(int err) {
  return err == EHOSTUNREACH || err == ENETUNREACH || err == EMSGSIZE || err == EACCES || err == EPERM ||
         err == EINVAL || err == EAFNOSUPPORT || err == EDESTADDRREQ || err == ECONNREFUSED;
}

}  // namespace

int UdpSocket::open(int family, uint16_t port) {
  if (fd_ >= 0) return -EBUSY;
  fd_ = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd_ < 0) return -errno;
  int err = family == AF_INET6 ? setopt(fd_, IPPROTO_IPV6, IPV6_V6ONLY, 1) : 0;
  if (!err) err = bind_any(fd_, family, port);
  if (err) {
    close();
    return err;
  }
  family_ = family;
  port_ = bound_port(fd_);
  return 0;
}

void UdpSocket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  family_ = 0;
  port_ = 0;
  gso_ = gro_ = false;
}

bool UdpSocket::enable_gso(bool on) {
  // Probe: kernels with UDP_SEGMENT (4.18+) answer getsockopt for it.
  gso_ = on && fd_ >= 0 && getopt(fd_, SOL_UDP, UDP_SEGMENT) >= 0;
  return gso_;
}

bool UdpSocket::enable_gro(bool on) {
  if (fd_ < 0) return gro_ = false;
  if (!on) {
    if (gro_) setopt(fd_, SOL_UDP, UDP_GRO, 0);
    return gro_ = false;
  }
  gro_ = setopt(fd_, SOL_UDP, UDP_GRO, 1) == 0;
  return gro_;
}

int UdpSocket::set_buffers(int rcvbuf, int sndbuf) {
  const int err = set_buffer(fd_, SO_RCVBUFFORCE, SO_RCVBUF, rcvbuf);
  return err ? err : set_buffer(fd_, SO_SNDBUFFORCE, SO_SNDBUF, sndbuf);
}

int UdpSocket::rcvbuf() const { return getopt(fd_, SOL_SOCKET, SO_RCVBUF); }
int UdpSocket::sndbuf() const { return getopt(fd_, SOL_SOCKET, SO_SNDBUF); }
int UdpSocket::set_mark(uint32_t mark) { return setopt(fd_, SOL_SOCKET, SO_MARK, static_cast<int>(mark)); }

namespace {
constexpr size_t kCtrlLen = CMSG_SPACE(sizeof(int));
constexpr size_t kMaxGsoSegments = 64;
constexpr size_t kMaxGsoBytes = 65000;  // below 65535 minus the IPv6/UDP headers
constexpr size_t kSendPackets = 4 * kBatchSize;  // packets per sendmmsg (in at most kBatchSize messages)
}  // namespace

IoResult UdpSocket::recv_batch(Batch& b) {
  mmsghdr msgs[kBatchSize];
  iovec iov[kBatchSize];
  alignas(cmsghdr) uint8_t ctrl[kBatchSize][kCtrlLen];
  size_t n = 0;
  for (; n < batch_ && b.pkts[n].slab; ++n) {
    Packet& p = b.pkts[n];
    p.rewind();
    iov[n] = {p.data, p.cap};
    msgs[n] = {};
    msgs[n].msg_hdr.msg_name = &p.ep.addr;
    msgs[n].msg_hdr.msg_namelen = sizeof p.ep.addr;
    msgs[n].msg_hdr.msg_iov = &iov[n];
    msgs[n].msg_hdr.msg_iovlen = 1;
    if (gro_) {
      msgs[n].msg_hdr.msg_control = ctrl[n];
      msgs[n].msg_hdr.msg_controllen = kCtrlLen;
    }
  }
  b.count = 0;
  int got;
  do got = recvmmsg(fd_, msgs, static_cast<unsigned>(n), MSG_DONTWAIT, nullptr);
  while (got < 0 && errno == EINTR);
  if (got < 0) return status_from({}, errno);
  IoResult r;
  for (int i = 0; i < got; ++i) {
    if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
      ++r.dropped;
      continue;
    }
    uint16_t gso = 0;
    if (gro_) {
      for (cmsghdr* c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
        if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
          int v;
          std::memcpy(&v, CMSG_DATA(c), sizeof v);
          gso = static_cast<uint16_t>(v);
        }
      }
    }
    Packet& p = b.pkts[b.count];
    if (static_cast<size_t>(i) != b.count) std::swap(p, b.pkts[i]);  // close the gap left by drops
    p.len = msgs[i].msg_len;
    p.gso_size = gso && gso < p.len ? gso : 0;
    p.ep.normalize();
    ++b.count;
  }
  r.count = b.count;
  return r;
}

IoResult UdpSocket::send_batch(const Packet* pkts, size_t n) {
  mmsghdr msgs[kBatchSize];
  iovec iov[kSendPackets];
  size_t segs[kBatchSize];  // packets per message
  alignas(cmsghdr) uint8_t ctrl[kBatchSize][CMSG_SPACE(sizeof(uint16_t))];
  IoResult r;
  while (r.count < n) {
    // Build up to kBatchSize messages from at most kBatchSize packets.
    size_t m = 0, used = 0;
    while (m < batch_ && used < kSendPackets && r.count + used < n) {
      const Packet& first = pkts[r.count + used];
      size_t k = 1, bytes = first.len;
      if (gso_) {
        while (k < kMaxGsoSegments && used + k < kSendPackets && r.count + used + k < n) {
          const Packet& q = pkts[r.count + used + k];
          if (q.len > first.len || bytes + q.len > kMaxGsoBytes || q.ep != first.ep) break;
          bytes += q.len, ++k;
          if (q.len < first.len) break;  // a short datagram ends the run
        }
      }
      for (size_t j = 0; j < k; ++j) iov[used + j] = {pkts[r.count + used + j].data, pkts[r.count + used + j].len};
      msgs[m] = {};
      msgs[m].msg_hdr.msg_name = const_cast<sockaddr*>(&first.ep.addr.sa);
      msgs[m].msg_hdr.msg_namelen = first.ep.socklen();
      msgs[m].msg_hdr.msg_iov = &iov[used];
      msgs[m].msg_hdr.msg_iovlen = k;
      if (k > 1) {
        msgs[m].msg_hdr.msg_control = ctrl[m];
        msgs[m].msg_hdr.msg_controllen = CMSG_SPACE(sizeof(uint16_t));
        cmsghdr* c = CMSG_FIRSTHDR(&msgs[m].msg_hdr);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        const uint16_t size = static_cast<uint16_t>(first.len);
        std::memcpy(CMSG_DATA(c), &size, sizeof size);
      }
      segs[m++] = k;
      used += k;
    }
    const int sent = sendmmsg(fd_, msgs, static_cast<unsigned>(m), MSG_DONTWAIT);
    if (sent > 0) {
      for (int i = 0; i < sent; ++i) r.count += segs[i];
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EIO && gso_ && segs[0] > 1) {
      gso_ = false;  // the route cannot checksum-offload: send datagrams one by one from now on
    } else if (per_packet_error(errno)) {
      r.count += segs[0], r.dropped += segs[0], r.err = errno;  // sendmmsg fails on the first
    } else {
      return status_from(r, errno);
    }
  }
  return r;
}

int UdpBind::open(const UdpConfig& cfg) {
  // An ephemeral IPv4 port may be taken for IPv6 by someone else: pick another (wireguard-go does too).
  int attempts = cfg.port == 0 ? 100 : 1;
  int err;
  do err = open_once(cfg);
  while (err == -EADDRINUSE && --attempts > 0);
  if (!err && cfg.fwmark) err = set_mark(cfg.fwmark);
  for (UdpSocket* s : {&v4_, &v6_}) {
    if (!err && s->is_open()) err = s->set_buffers(cfg.rcvbuf, cfg.sndbuf);
    if (!err && s->is_open()) s->enable_gso(cfg.gso), s->enable_gro(cfg.gro), s->set_batching(cfg.mmsg);
  }
  if (err) close();
  return err;
}

// Binds IPv4 first, then IPv6 on the port IPv4 got. A missing family is tolerated, not both.
int UdpBind::open_once(const UdpConfig& cfg) {
  close();
  const int e4 = v4_.open(AF_INET, cfg.port);
  if (e4 && e4 != -EAFNOSUPPORT) return e4;
  const int e6 = v6_.open(AF_INET6, e4 ? cfg.port : v4_.port());
  if (e6 && e6 != -EAFNOSUPPORT) return e6;
  return e4 && e6 ? e4 : 0;
}

void UdpBind::close() {
  v4_.close();
  v6_.close();
}

int UdpBind::set_mark(uint32_t mark) {
  for (UdpSocket* s : {&v4_, &v6_})
    if (s->is_open())
      if (const int err = s->set_mark(mark)) return err;
  return 0;
}

IoResult UdpBind::send_batch(const Packet* pkts, size_t n) {
  IoResult total;
  while (total.count < n) {
    const Packet* run = &pkts[total.count];
    size_t len = 1;
    while (total.count + len < n && run[len].ep.family() == run[0].ep.family()) ++len;
    UdpSocket& s = run[0].ep.family() == AF_INET ? v4_ : v6_;
    IoResult r = s.is_open() && !run[0].ep.empty() ? s.send_batch(run, len) : IoResult{len, len, IoStatus::kOk, EAFNOSUPPORT};
    total.count += r.count, total.dropped += r.dropped;
    if (r.err) total.err = r.err;
    if (r.status != IoStatus::kOk) {
      total.status = r.status;
      return total;
    }
  }
  return total;
}

}  // namespace gw::io
