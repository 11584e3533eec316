// The GRIDWIRE_* environment switches: each data-path mechanism can be turned off or replaced so that
// `gridwire bench --mechanisms` can show what it buys. Read once, by the code that owns the mechanism.
#pragma once

#include <cstddef>
#include <cstdio>
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

// A count (e.g. GRIDWIRE_CRYPTO_WORKERS=2): `fallback` when unset; plain decimal digits give the value,
// at most `max`. Anything else is reported on stderr, naming the variable, and ignored.
inline size_t env_count(const char* name, size_t fallback, size_t max) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  size_t n = 0;
  for (const char* c = v; *c; ++c) {
    if (*c < '0' || *c > '9') {
      std::fprintf(stderr, "gridwire: ignoring %s=%s: not a count\n", name, v);
      return fallback;
    }
    n = n > max ? n : n * 10 + static_cast<size_t>(*c - '0');  // past max it only has to stay past max
  }
  if (n > max) std::fprintf(stderr, "gridwire: %s=%s is more than %zu; using %zu\n", name, v, max, max);
  return n > max ? max : n;
}

}  // namespace gw
