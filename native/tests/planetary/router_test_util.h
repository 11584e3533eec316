// Helpers shared by the planetary routing tests: vector paths, hex, keys from seeds.
#pragma once

#include <cstdlib>
#include <string>
#include <vector>

#include "../../core/planetary/types.h"
#include "../../crypto/curve.h"
#include "../harness.h"
#include "../json_mini.h"

namespace rtest {

using gw::planetary::Key;
using Bytes = std::vector<uint8_t>;

inline std::string vectors_dir() {
  const char* d = std::getenv("YGG_VECTORS");
  return d ? d : "/work/shared/specs/yggdrasil-0.5-vectors";
}

inline json::Value load(const char* name) { return json::load(vectors_dir() + "/" + name); }

inline Key key_from_hex(const std::string& h) {
  Key k{};
  Bytes b = json::hex(h);
  if (b.size() == k.size()) std::copy(b.begin(), b.end(), k.begin());
  return k;
}

inline std::string to_hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; i++) s += d[p[i] >> 4], s += d[p[i] & 15];
  return s;
}

}  // namespace rtest
