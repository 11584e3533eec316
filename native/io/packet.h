// Packet buffers for the data path: fixed-size slabs from a preallocated pool, viewed through Packet,
// moved in Batches of up to kBatchSize so every syscall and every stage works on many packets.
//
// Slab layout: [ headroom | payload (cap) | tailroom ]. Headroom lets a stage prepend in place (the
// 16-byte WireGuard data header, the 10-byte virtio_net_hdr); tailroom takes the AEAD tag and padding
// (spec §1.16) without copying.
//
// Ownership: a PacketPool and the Batches filled from it belong to one thread (a loop); nothing here is
// locked. A packet handed to another thread takes its slab with it and must come back to the owner's
// pool through that owner.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "endpoint.h"

namespace gw::io {

constexpr size_t kVnetHdrLen = 10;   // struct virtio_net_hdr
constexpr size_t kWgDataHdrLen = 16;  // type + receiver index + counter
constexpr size_t kHeadroom = 64;      // >= kVnetHdrLen + kWgDataHdrLen; keeps the payload 64-byte aligned
constexpr size_t kTailroom = 32;      // >= 16-byte tag + 15 bytes of padding
constexpr size_t kBatchSize = 64;
static_assert(kHeadroom >= kVnetHdrLen + kWgDataHdrLen);
static_assert(kTailroom >= 16 + 15);

// A view into one slab. cap counts the bytes I/O may fill from data on (tailroom excluded); push/pull
// move data and cap together so data + cap always marks the start of the tailroom.
struct Packet {
  uint8_t* slab = nullptr;
  uint8_t* data = nullptr;
  uint32_t len = 0;
  uint32_t cap = 0;
  Endpoint ep;           // UDP: source on receive, destination on send
  void* peer = nullptr;  // set by routing; opaque here
  uint16_t gso_size = 0;  // UDP receive with GRO: the datagrams coalesced into data are this long (the last may be shorter); 0 = one datagram

  void reset(uint32_t payload_cap) {
    data = slab + kHeadroom;
    len = 0;
    cap = payload_cap;
    peer = nullptr;
  }
  // Empties the packet and restores the default headroom; data + cap (the slab's usable end) is fixed.
  void rewind() {
    uint8_t* end = data + cap;
    data = slab + kHeadroom;
    cap = static_cast<uint32_t>(end - data);
    len = 0;
    peer = nullptr;
  }
  size_t headroom() const { return static_cast<size_t>(data - slab); }
  // Grows the packet at the front (e.g. to write a header); nullptr if the headroom is too small.
  uint8_t* push(size_t n) {
    if (n > headroom()) return nullptr;
    data -= n, len += static_cast<uint32_t>(n), cap += static_cast<uint32_t>(n);
    return data;
  }
  // Drops n bytes from the front (e.g. a parsed header).
  void pull(size_t n) {
    if (n > len) n = len;
    data += n, len -= static_cast<uint32_t>(n), cap -= static_cast<uint32_t>(n);
  }
  // Grows the packet at the end, into the tailroom if need be; nullptr past the slab's end.
  uint8_t* put(size_t n) {
    if (len + n > cap + kTailroom) return nullptr;
    uint8_t* tail = data + len;
    len += static_cast<uint32_t>(n);
    return tail;
  }
};

// count packets are valid; the others may still hold slabs ready for the next receive.
struct Batch {
  Packet pkts[kBatchSize];
  size_t count = 0;
};

class PacketPool {
 public:
  PacketPool() = default;
  ~PacketPool() {
    std::free(mem_);
    std::free(free_);
  }
  PacketPool(const PacketPool&) = delete;
  PacketPool& operator=(const PacketPool&) = delete;

  // One allocation for all slabs, none afterwards. payload_cap: the largest packet a slab must hold
  // (TUN MTU, or 65535 for UDP receive / virtio super-packets).
  bool init(size_t slabs, size_t payload_cap) {
    if (mem_) return false;
    slab_size_ = (kHeadroom + payload_cap + kTailroom + 63) & ~size_t{63};
    mem_ = static_cast<uint8_t*>(std::aligned_alloc(64, slabs * slab_size_));
    free_ = static_cast<uint8_t**>(std::malloc(slabs * sizeof(uint8_t*)));
    if (!mem_ || !free_) return false;
    for (size_t i = 0; i < slabs; ++i) free_[i] = mem_ + i * slab_size_;
    total_ = available_ = slabs;
    payload_cap_ = static_cast<uint32_t>(payload_cap);
    return true;
  }

  uint32_t payload_cap() const { return payload_cap_; }
  // Whether ptr lies in one of this pool's slabs (headroom and tailroom included).
  bool contains(const uint8_t* ptr) const { return ptr >= mem_ && ptr < mem_ + total_ * slab_size_; }
  size_t available() const { return available_; }
  size_t total() const { return total_; }

  // Gives p a fresh slab; false when the pool is empty.
  bool attach(Packet& p) {
    if (available_ == 0) return false;
    p.slab = free_[--available_];
    p.reset(payload_cap_);
    return true;
  }
  void detach(Packet& p) {
    if (!p.slab) return;
    free_[available_++] = p.slab;
    p.slab = p.data = nullptr;
    p.len = p.cap = 0;
  }
  // Attaches a slab to every slab-less packet of b; false if the pool ran dry part way.
  bool fill(Batch& b) {
    for (Packet& p : b.pkts)
      if (!p.slab && !attach(p)) return false;
    return true;
  }
  void drain(Batch& b) {
    for (Packet& p : b.pkts) detach(p);
    b.count = 0;
  }

 private:
  uint8_t* mem_ = nullptr;
  uint8_t** free_ = nullptr;  // stack of free slabs
  size_t slab_size_ = 0;
  size_t total_ = 0;
  size_t available_ = 0;
  uint32_t payload_cap_ = 0;
};

// Result of one batch call. count: packets done (for writes, sent or dropped); dropped: packets the
// kernel refused individually (err holds the last such errno).
enum class IoStatus : uint8_t {
  kOk,     // the call did what it could; more may follow
  kAgain,  // would block before finishing; wait for readiness
  kGone,   // the device or socket is gone for good (TUN deleted, socket closed)
  kError,  // unexpected errno in err
};

struct IoResult {
  size_t count = 0;
  size_t dropped = 0;
  IoStatus status = IoStatus::kOk;
  int err = 0;
};

}  // namespace gw::io
