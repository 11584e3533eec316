// The GRIDWIRE_* environment switches: each data-path mechanism can be turned off or replaced so that
// `gridwire bench --mechanisms` can show what it buys. Read once, by the code that owns the mechanism.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace gw {

// On unless set to "0", "off" or "false".
inline bool env_switch(const char* name) {
  const char* v = std::getenv(name);
  return !v || !*v || (std::strcmp(v, "0") != 0 && std::strcmp(v, "off") != 0 && std::strcmp(v, "false") != 0);
}

// The variable is set to exactly `value` (e.g. GRIDWIRE_AEAD=evp).
inline bool env_is(const char* name, const char* value) {
  const char* v = std::getenv(name);
  return v && std::strcmp(v, value) == 0;
}

// A count (e.g. GRIDWIRE_CRYPTO_WORKERS=2): the decimal value, or `fallback` when unset or not a number.
inline size_t env_count(const char* name, size_t fallback, size_t max) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const unsigned long n = std::strtoul(v, &end, 10);
  if (*end || *v == '-') return fallback;
  return n < max ? n : max;
}

}  // namespace gw
