#include "tcp.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace gw::io {
namespace {

int set_int(int fd, int level, int opt, int v) {
  return setsockopt(fd, level, opt, &v, sizeof v) == 0 ? 0 : -errno;
}

// Small link frames (keepalives, tree messages) must not sit in Nagle's buffer waiting for an ACK.
int prepare_stream(int fd) {
  if (fd < 0) return -errno;
  int err = set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
  if (err != 0) ::close(fd);
  return err != 0 ? err : fd;
}

int fail_close(int fd) {
  int err = -errno;
  ::close(fd);
  return err;
}

int listen_on(const Endpoint& at, int backlog) {
  int fd = socket(at.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) return -errno;
  if (set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1) != 0) return fail_close(fd);
  if (at.family() == AF_INET6 && set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0) != 0) return fail_close(fd);
  if (bind(fd, &at.addr.sa, at.socklen()) != 0 || listen(fd, backlog) != 0) return fail_close(fd);
  return fd;
}

// Go listens on [::] for a 0.0.0.0 wildcard when the system has IPv4-mapped addresses, so that IPv6
// peers reach the listener too; false for any other address.
bool dual_stack_wildcard(const Endpoint& at, Endpoint* any6) {
  if (at.family() != AF_INET || at.addr.in4.sin_addr.s_addr != htonl(INADDR_ANY)) return false;
  *any6 = Endpoint{};
  any6->addr.in6.sin6_family = AF_INET6;
  any6->addr.in6.sin6_port = at.addr.in4.sin_port;
  any6->addr.in6.sin6_addr = in6addr_any;
  return true;
}

enum class Scope { kGlobal, kLinkLocal, kOther };

// Go's net.IP classes, which yggdrasil's source address choice is written in.
Scope scope_of(const Endpoint& e) {
  if (e.family() == AF_INET6) {
    const in6_addr& a = e.addr.in6.sin6_addr;
    if (IN6_IS_ADDR_LINKLOCAL(&a)) return Scope::kLinkLocal;
    if (IN6_IS_ADDR_UNSPECIFIED(&a) || IN6_IS_ADDR_LOOPBACK(&a) || IN6_IS_ADDR_MULTICAST(&a)) return Scope::kOther;
    return Scope::kGlobal;
  }
  uint32_t a = ntohl(e.addr.in4.sin_addr.s_addr);
  if ((a >> 16) == 0xa9fe) return Scope::kLinkLocal;  // 169.254/16
  if (a == 0 || a == 0xffffffff || (a >> 24) == 127 || (a >> 28) == 0xe) return Scope::kOther;
  return Scope::kGlobal;
}

// The address yggdrasil binds an interface peer's socket to: the first of the device's global or
// link-local addresses with the destination's family and, unless the destination is neither, its scope.
// Also gives a link-local destination the device as its zone. 0 or -errno (see tcp_connect).
int source_on_device(const char* device, Endpoint* to, Endpoint* source) {
  unsigned index = if_nametoindex(device);
  if (index == 0) return -ENODEV;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return -errno;
  bool up = false;
  int err = -EADDRNOTAVAIL;
  Scope want = scope_of(*to);
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (std::strcmp(i->ifa_name, device) != 0) continue;
    up = up || (i->ifa_flags & IFF_UP);
    Endpoint a;
    if (!i->ifa_addr || !Endpoint::from_sockaddr(i->ifa_addr, sizeof(sockaddr_in6), &a)) continue;
    Scope s = scope_of(a);
    if (a.family() != to->family() || s == Scope::kOther || (want != Scope::kOther && s != want)) continue;
    if (a.family() == AF_INET6) a.addr.in6.sin6_scope_id = s == Scope::kLinkLocal ? index : 0;
    *source = a;
    err = 0;
    break;
  }
  freeifaddrs(list);
  if (!up) return -ENETDOWN;
  if (err == 0 && want == Scope::kLinkLocal && to->family() == AF_INET6) to->addr.in6.sin6_scope_id = index;
  return err;
}

}  // namespace

Endpoint local_endpoint(int fd) {
  Endpoint ep;
  socklen_t len = sizeof ep.addr;
  if (getsockname(fd, &ep.addr.sa, &len) != 0) return Endpoint{};
  return ep;
}

int tcp_listen(const Endpoint& at, int backlog, uint16_t* bound_port) {
  Endpoint any6;
  int fd = dual_stack_wildcard(at, &any6) ? listen_on(any6, backlog) : -EAFNOSUPPORT;
  // Without IPv6 (disabled in the kernel or this namespace) the wildcard stays IPv4, as in Go.
  if (fd == -EAFNOSUPPORT || fd == -EADDRNOTAVAIL) fd = listen_on(at, backlog);
  if (fd >= 0 && bound_port) *bound_port = local_endpoint(fd).port();
  return fd;
}

int tcp_accept(int listen_fd, Endpoint* peer) {
  Endpoint ep;
  socklen_t len = sizeof ep.addr;
  int fd = accept4(listen_fd, &ep.addr.sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0 && peer) Endpoint::from_sockaddr(&ep.addr.sa, len, peer);
  return prepare_stream(fd);
}

int tcp_connect(const Endpoint& to, const char* device) {
  Endpoint dest = to, source;
  if (device && *device) {
    if (int err = source_on_device(device, &dest, &source); err != 0) return err;
  }
  int fd = prepare_stream(socket(dest.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP));
  if (fd < 0) return fd;
  if (!source.empty()) {
    // Like yggdrasil, a refused SO_BINDTODEVICE (an old kernel without CAP_NET_RAW) still dials from the
    // device's address.
    (void)setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, device, static_cast<socklen_t>(std::strlen(device)));
    if (bind(fd, &source.addr.sa, source.socklen()) != 0) return fail_close(fd);
  }
  if (connect(fd, &dest.addr.sa, dest.socklen()) != 0 && errno != EINPROGRESS) return fail_close(fd);
  return fd;
}

int tcp_connect_result(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return -errno;
  if (err != 0) return -err;
  // SO_ERROR is also 0 while the SYN is still out; only a known peer means connected.
  sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &sl) == 0) return 0;
  return errno == ENOTCONN ? -EINPROGRESS : -errno;
}

ssize_t tcp_read(int fd, uint8_t* buf, size_t len) {
  ssize_t n;
  do n = ::recv(fd, buf, len, 0);
  while (n < 0 && errno == EINTR);
  return n >= 0 ? n : -errno;
}

ssize_t tcp_write(int fd, const uint8_t* buf, size_t len) {
  ssize_t n;
  do n = ::send(fd, buf, len, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n >= 0 ? n : -errno;
}

ssize_t tcp_writev(int fd, const iovec* iov, int cnt) {
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = static_cast<size_t>(cnt);
  ssize_t n;
  do n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n >= 0 ? n : -errno;
}

bool IovBatch::add(const void* data, size_t len) {
  if (len == 0) return true;
  if (count_ == kMax) return false;
  iov_[count_++] = {const_cast<void*>(data), len};
  return true;
}

ssize_t IovBatch::flush(int fd) {
  if (empty()) return 0;
  ssize_t n = tcp_writev(fd, iov_ + first_, count_ - first_);
  if (n > 0) advance(static_cast<size_t>(n));
  return n;
}

size_t IovBatch::pending_bytes() const {
  size_t total = 0;
  for (int i = first_; i < count_; i++) total += iov_[i].iov_len;
  return total;
}

void IovBatch::advance(size_t written) {
  while (first_ < count_ && written >= iov_[first_].iov_len) written -= iov_[first_++].iov_len;
  if (first_ == count_) return clear();
  iov_[first_].iov_base = static_cast<uint8_t*>(iov_[first_].iov_base) + written;
  iov_[first_].iov_len -= written;
}

}  // namespace gw::io
