// A UDP peer address (IPv4 or IPv6 + port) stored as the sockaddr the kernel reads and writes, so the
// batch calls can point msg_name straight at it. A plain value: copy it freely between threads.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

namespace gw::io {

struct Endpoint {
  // "[" + the longest inet_ntop text + "%" + a 15-character interface name or 4294967295 + "]:65535".
  static constexpr size_t kMaxText = 1 + 45 + 1 + 15 + 7 + 1;

  union {
    sockaddr sa;
    sockaddr_in in4;
    sockaddr_in6 in6;
  } addr;

  Endpoint();
  // "1.2.3.4:51820" or "[2001:db8::1]:51820" (with a %scope by index or interface name); v4-mapped becomes v4.
  static bool parse(const char* text, Endpoint* out);
  // Copies an AF_INET/AF_INET6 sockaddr; false for anything else.
  static bool from_sockaddr(const sockaddr* sa, socklen_t len, Endpoint* out);

  int family() const { return addr.sa.sa_family; }  // AF_INET, AF_INET6, or 0 when empty
  bool empty() const { return family() == 0; }
  socklen_t socklen() const;
  uint16_t port() const;
  // Turns ::ffff:a.b.c.d into a.b.c.d so that a peer has one spelling and the IPv4 socket sends.
  void normalize();
  // Writes "ip:port" or "[ip]:port" with a terminating NUL; returns the length (0 if out is too small).
  size_t format(char* out, size_t size) const;

  bool operator==(const Endpoint& o) const;
  bool operator!=(const Endpoint& o) const { return !(*this == o); }
};

}  // namespace gw::io
