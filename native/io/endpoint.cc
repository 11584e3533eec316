#include "endpoint.h"

#include <arpa/inet.h>
#include <net/if.h>

#include <cerrno>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace gw::io {

namespace {

bool parse_port(const char* text, uint16_t* port) {
  char* end = nullptr;
  const unsigned long v = std::strtoul(text, &end, 10);
  if (*text < '0' || *text > '9' || *end != '\0' || v > 65535) return false;
  *port = static_cast<uint16_t>(v);
  return true;
}

// A scope is an interface index or, as wg(8) sends it (getnameinfo), an interface name — which may
// itself start with a digit (6in4), so only all digits make an index.
bool parse_scope(const char* text, uint32_t* scope) {
  if (*text == '\0') return false;
  if (std::strspn(text, "0123456789") == std::strlen(text)) {
    errno = 0;
    const unsigned long v = std::strtoul(text, nullptr, 10);
    *scope = static_cast<uint32_t>(v);
    return errno == 0 && v <= UINT32_MAX;
  }
  *scope = if_nametoindex(text);
  return *scope != 0;
}

// "[addr%scope]" → addr and scope; the brackets are already stripped.
bool parse_v6(const char* text, size_t len, sockaddr_in6* out) {
  char buf[INET6_ADDRSTRLEN + IF_NAMESIZE];
  if (len >= sizeof buf) return false;
  std::memcpy(buf, text, len);
  buf[len] = '\0';
  if (char* pct = std::strchr(buf, '%')) {
    *pct = '\0';
    if (!parse_scope(pct + 1, &out->sin6_scope_id)) return false;
  }
  return inet_pton(AF_INET6, buf, &out->sin6_addr) == 1;
}

// The scope by name when the interface exists, as wg(8) and wireguard-go show it; else its index.
int format_scoped(char* out, size_t size, const char* host, uint32_t scope, uint16_t port) {
  char name[IF_NAMESIZE];
  return if_indextoname(scope, name) ? std::snprintf(out, size, "[%s%%%s]:%u", host, name, port)
                                     : std::snprintf(out, size, "[%s%%%u]:%u", host, scope, port);
}

}  // namespace

Endpoint::Endpoint() { std::memset(&addr, 0, sizeof addr); }

bool Endpoint::parse(const char* text, Endpoint* out) {
  *out = Endpoint();
  uint16_t port = 0;
  if (text[0] == '[') {
    const char* close = std::strchr(text, ']');
    if (!close || close[1] != ':' || !parse_port(close + 2, &port) || !parse_v6(text + 1, close - text - 1, &out->addr.in6))
      return false;
    out->addr.in6.sin6_family = AF_INET6;
    out->addr.in6.sin6_port = htons(port);
    out->normalize();
    return true;
  }
  const char* colon = std::strrchr(text, ':');
  char host[INET_ADDRSTRLEN];
  if (!colon || static_cast<size_t>(colon - text) >= sizeof host || !parse_port(colon + 1, &port)) return false;
  std::memcpy(host, text, colon - text);
  host[colon - text] = '\0';
  if (inet_pton(AF_INET, host, &out->addr.in4.sin_addr) != 1) return false;
  out->addr.in4.sin_family = AF_INET;
  out->addr.in4.sin_port = htons(port);
  return true;
}

bool Endpoint::from_sockaddr(const sockaddr* sa, socklen_t len, Endpoint* out) {
  *out = Endpoint();
  const bool v4 = sa->sa_family == AF_INET && len >= sizeof(sockaddr_in);
  const bool v6 = sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6);
  if (!v4 && !v6) return false;
  std::memcpy(&out->addr, sa, v4 ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
  out->normalize();
  return true;
}

socklen_t Endpoint::socklen() const {
  return family() == AF_INET ? sizeof(sockaddr_in) : family() == AF_INET6 ? sizeof(sockaddr_in6) : 0;
}

uint16_t Endpoint::port() const {
  return ntohs(family() == AF_INET ? addr.in4.sin_port : family() == AF_INET6 ? addr.in6.sin6_port : 0);
}

void Endpoint::normalize() {
  if (family() != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&addr.in6.sin6_addr)) return;
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_port = addr.in6.sin6_port;
  std::memcpy(&v4.sin_addr, addr.in6.sin6_addr.s6_addr + 12, 4);
  std::memset(&addr, 0, sizeof addr);
  addr.in4 = v4;
}

size_t Endpoint::format(char* out, size_t size) const {
  char host[INET6_ADDRSTRLEN];
  int n = -1;
  if (family() == AF_INET && inet_ntop(AF_INET, &addr.in4.sin_addr, host, sizeof host))
    n = std::snprintf(out, size, "%s:%u", host, port());
  else if (family() == AF_INET6 && inet_ntop(AF_INET6, &addr.in6.sin6_addr, host, sizeof host))
    n = addr.in6.sin6_scope_id ? format_scoped(out, size, host, addr.in6.sin6_scope_id, port())
                               : std::snprintf(out, size, "[%s]:%u", host, port());
  if (n < 0 || static_cast<size_t>(n) >= size) {
    if (size) out[0] = '\0';
    return 0;
  }
  return static_cast<size_t>(n);
}

bool Endpoint::operator==(const Endpoint& o) const {
  if (family() != o.family()) return false;
  if (family() == AF_INET)
    return addr.in4.sin_port == o.addr.in4.sin_port && addr.in4.sin_addr.s_addr == o.addr.in4.sin_addr.s_addr;
  if (family() == AF_INET6)
    return addr.in6.sin6_port == o.addr.in6.sin6_port && addr.in6.sin6_scope_id == o.addr.in6.sin6_scope_id &&
           std::memcmp(&addr.in6.sin6_addr, &o.addr.in6.sin6_addr, 16) == 0;
  return true;
}

}  // namespace gw::io
