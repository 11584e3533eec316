// Lower-case hex of bytes: how keys appear in events, logs and the admin APIs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace gw {

inline std::string to_hex(const uint8_t* b, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(2 * n, '0');
  for (size_t i = 0; i < n; i++) s[2 * i] = kDigits[b[i] >> 4], s[2 * i + 1] = kDigits[b[i] & 15];
  return s;
}

}  // namespace gw
