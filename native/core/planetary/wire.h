// Wire primitives of the planetary protocol (spec §0, §4.2): Go-style uvarints, zero-terminated port
// paths, and bounds-checked readers/writers over byte spans. Decoders never read past their span and
// latch the first error, so a frame is either decoded exactly or rejected.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "types.h"

namespace gw::planetary {

constexpr size_t kMaxUvarintLen = 10;
constexpr uint64_t kMaxU64 = ~uint64_t{0};

// A path (coordinates): non-zero ports from the root down. The root's path is empty.
using Path = std::vector<uint64_t>;

size_t uvarint_size(uint64_t v);
// Writes v at out (room for kMaxUvarintLen); returns the bytes written.
size_t put_uvarint(uint8_t* out, uint64_t v);
// Reads a uvarint; returns bytes consumed, or 0 if truncated, longer than 10 bytes or overflowing.
size_t get_uvarint(const uint8_t* in, size_t len, uint64_t* v);

class Reader {
 public:
  Reader(const uint8_t* data, size_t len) : p_(data), end_(data + len) {}

  bool ok() const { return ok_; }
  size_t remaining() const { return ok_ ? static_cast<size_t>(end_ - p_) : 0; }
  const uint8_t* cursor() const { return p_; }
  // True when everything was read and nothing failed: decoders require exact consumption.
  bool done() const { return ok_ && p_ == end_; }

  bool u8(uint8_t* v);
  bool uvarint(uint64_t* v);
  bool bytes(uint8_t* out, size_t n);
  bool key(Key* k) { return bytes(k->data(), k->size()); }
  bool sig(Signature* s) { return bytes(s->data(), s->size()); }
  // Ports until the 0x00 terminator; a zero-valued port cannot occur (it is the terminator).
  bool path(Path* out, size_t max_len = 256);
  // Everything left (e.g. a Traffic payload), as a view.
  bool rest(const uint8_t** data, size_t* len);

 private:
  bool fail() { return ok_ = false; }
  const uint8_t* p_;
  const uint8_t* end_;
  bool ok_ = true;
};

class Writer {
 public:
  explicit Writer(std::vector<uint8_t>* out) : out_(out) {}
  void u8(uint8_t v) { out_->push_back(v); }
  void uvarint(uint64_t v);
  void bytes(const uint8_t* data, size_t n) { out_->insert(out_->end(), data, data + n); }
  void key(const Key& k) { bytes(k.data(), k.size()); }
  void sig(const Signature& s) { bytes(s.data(), s.size()); }
  void path(const Path& p);

 private:
  std::vector<uint8_t>* out_;
};

}  // namespace gw::planetary
