// A UDP endpoint as the core sees it: the remote (IP, port) plus the cached local source ("sticky socket")
// the engine replied from. The core never interprets it beyond equality, the cookie source encoding and the
// rate-limiter key; the engine converts to/from sockaddr.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace gw::wg {

struct Endpoint {
  uint8_t family = 0;  // 0 = unknown, 4 or 6
  uint8_t addr[16] = {};  // network byte order; IPv4 uses the first 4 bytes
  uint16_t port = 0;  // host byte order
  uint32_t scope_id = 0;
  // Cached local source; cleared when a handshake is retried so the OS picks a fresh route.
  uint8_t src_family = 0;
  uint8_t src_addr[16] = {};
  uint32_t src_ifindex = 0;

  bool valid() const { return family == 4 || family == 6; }
  size_t addr_len() const { return family == 4 ? 4 : family == 6 ? 16 : 0; }
  void clear_src() {
    src_family = 0;
    std::memset(src_addr, 0, sizeof src_addr);
    src_ifindex = 0;
  }
  // Same remote (IP, port, scope); the cached source does not make a different endpoint.
  bool same_remote(const Endpoint& o) const {
    return family == o.family && port == o.port && scope_id == o.scope_id &&
           std::memcmp(addr, o.addr, addr_len()) == 0;
  }
};

// Injective (IP, port) encoding fed to the cookie MAC: address bytes then the port big-endian, as the
// kernel does. Returns the length written (0 for an unknown family).
inline size_t endpoint_source_bytes(const Endpoint& e, uint8_t out[18]) {
  size_t n = e.addr_len();
  if (n == 0) return 0;
  std::memcpy(out, e.addr, n);
  out[n] = static_cast<uint8_t>(e.port >> 8);
  out[n + 1] = static_cast<uint8_t>(e.port);
  return n + 2;
}

}  // namespace gw::wg
