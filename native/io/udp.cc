#include "udp.h"

#include <netinet/in.h>
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
}

int UdpSocket::set_buffers(int rcvbuf, int sndbuf) {
  const int err = set_buffer(fd_, SO_RCVBUFFORCE, SO_RCVBUF, rcvbuf);
  return err ? err : set_buffer(fd_, SO_SNDBUFFORCE, SO_SNDBUF, sndbuf);
}

int UdpSocket::rcvbuf() const { return getopt(fd_, SOL_SOCKET, SO_RCVBUF); }
int UdpSocket::sndbuf() const { return getopt(fd_, SOL_SOCKET, SO_SNDBUF); }
int UdpSocket::set_mark(uint32_t mark) { return setopt(fd_, SOL_SOCKET, SO_MARK, static_cast<int>(mark)); }

IoResult UdpSocket::recv_batch(Batch& b) {
  mmsghdr msgs[kBatchSize];
  iovec iov[kBatchSize];
  size_t n = 0;
  for (; n < kBatchSize && b.pkts[n].slab; ++n) {
    Packet& p = b.pkts[n];
    p.rewind();
    iov[n] = {p.data, p.cap};
    msgs[n] = {};
    msgs[n].msg_hdr.msg_name = &p.ep.addr;
    msgs[n].msg_hdr.msg_namelen = sizeof p.ep.addr;
    msgs[n].msg_hdr.msg_iov = &iov[n];
    msgs[n].msg_hdr.msg_iovlen = 1;
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
    Packet& p = b.pkts[b.count];
    if (static_cast<size_t>(i) != b.count) std::swap(p, b.pkts[i]);  // close the gap left by drops
    p.len = msgs[i].msg_len;
    p.ep.normalize();
    ++b.count;
  }
  r.count = b.count;
  return r;
}

IoResult UdpSocket::send_batch(const Packet* pkts, size_t n) {
  mmsghdr msgs[kBatchSize];
  iovec iov[kBatchSize];
  IoResult r;
  while (r.count < n) {
    const size_t chunk = std::min(n - r.count, kBatchSize);
    for (size_t i = 0; i < chunk; ++i) {
      const Packet& p = pkts[r.count + i];
      iov[i] = {p.data, p.len};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_name = const_cast<sockaddr*>(&p.ep.addr.sa);
      msgs[i].msg_hdr.msg_namelen = p.ep.socklen();
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    const int sent = sendmmsg(fd_, msgs, static_cast<unsigned>(chunk), MSG_DONTWAIT);
    if (sent > 0) r.count += static_cast<size_t>(sent);
    else if (errno == EINTR) continue;
    else if (per_packet_error(errno)) ++r.count, ++r.dropped, r.err = errno;  // sendmmsg fails on the first
    else return status_from(r, errno);
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
  for (UdpSocket* s : {&v4_, &v6_})
    if (!err && s->is_open()) err = s->set_buffers(cfg.rcvbuf, cfg.sndbuf);
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

IoResult UdpBind::send_batch(const Batch& b) {
  IoResult total;
  while (total.count < b.count) {
    const Packet* run = &b.pkts[total.count];
    size_t len = 1;
    while (total.count + len < b.count && run[len].ep.family() == run[0].ep.family()) ++len;
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
