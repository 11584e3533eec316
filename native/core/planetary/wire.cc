#include "wire.h"

#include <cstring>

namespace gw::planetary {

size_t uvarint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) v >>= 7, n++;
  return n;
}

size_t put_uvarint(uint8_t* out, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    out[n++] = static_cast<uint8_t>(v) | 0x80;
    v >>= 7;
  }
  out[n++] = static_cast<uint8_t>(v);
  return n;
}

size_t get_uvarint(const uint8_t* in, size_t len, uint64_t* v) {
  uint64_t x = 0;
  for (size_t i = 0; i < len && i < kMaxUvarintLen; i++) {
    uint8_t b = in[i];
    // The tenth byte may only carry the top bit of a 64-bit value (Go's overflow rule).
    if (i == kMaxUvarintLen - 1 && b > 1) return 0;
    x |= uint64_t(b & 0x7f) << (7 * i);
    if (b < 0x80) {
      *v = x;
      return i + 1;
    }
  }
  return 0;
}

bool Reader::u8(uint8_t* v) {
  if (!ok_ || p_ == end_) return fail();
  *v = *p_++;
  return true;
}

bool Reader::uvarint(uint64_t* v) {
  if (!ok_) return false;
  size_t n = get_uvarint(p_, static_cast<size_t>(end_ - p_), v);
  if (n == 0) return fail();
  p_ += n;
  return true;
}

bool Reader::bytes(uint8_t* out, size_t n) {
  if (!ok_ || static_cast<size_t>(end_ - p_) < n) return fail();
  std::memcpy(out, p_, n);
  p_ += n;
  return true;
}

bool Reader::path(Path* out, size_t max_len) {
  out->clear();
  for (;;) {
    uint64_t port;
    if (!uvarint(&port)) return false;
    if (port == 0) return true;
    if (out->size() == max_len) return fail();
    out->push_back(port);
  }
}

bool Reader::rest(const uint8_t** data, size_t* len) {
  if (!ok_) return false;
  *data = p_;
  *len = static_cast<size_t>(end_ - p_);
  p_ = end_;
  return true;
}

void Writer::uvarint(uint64_t v) {
  uint8_t buf[kMaxUvarintLen];
  bytes(buf, put_uvarint(buf, v));
}

void Writer::path(const Path& p) {
  for (uint64_t port : p) uvarint(port);
  u8(0);
}

}  // namespace gw::planetary
