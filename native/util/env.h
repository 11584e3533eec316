// The GRIDWIRE_* environment switches: each data-path mechanism can be turned off or replaced so that
// `gridwire bench --mechanisms` can show what it buys. Read once, by the code that owns the mechanism.
#pragma once

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

}  // namespace gw
