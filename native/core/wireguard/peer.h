// One configured remote static key and everything the protocol keeps for it. Peers are created, configured
// and driven through Device (device.h); the engine holds PeerRef handles (e.g. in its allowed-IPs trie) and
// may read stats/endpoint from any thread.
//
// Locks (always taken in this order, never the reverse):
//   handshake_mu_  Noise handshake state and the cookie we hold for the peer. Held across DH computations,
//                  so the data path never takes it.
//   state_mu_      keypair slots, timers, staged packets, endpoint. Short critical sections; the data path
//                  takes it once per batch.
// Counters are relaxed atomics and need no lock: the rx loop adds to rx_, the tx loop to tx_.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "cookie.h"
#include "endpoint.h"
#include "keypair.h"
#include "noise.h"
#include "timers.h"

namespace gw::wg {

// Bytes are every message's wire length, handshake messages included (what wg show reports). Packets are
// transport messages that carry an inner IP packet; keepalives (transport messages carrying none) are
// counted apart, and handshake messages in neither. Received messages count once authenticated; sent ones
// once handed to the socket.
struct PeerStats {
  uint64_t rx_bytes = 0;
  uint64_t tx_bytes = 0;
  uint64_t rx_packets = 0;
  uint64_t tx_packets = 0;
  uint64_t rx_keepalives = 0;
  uint64_t tx_keepalives = 0;
  uint64_t last_handshake_unix_ns = 0;  // 0 = never
  uint64_t handshakes_completed = 0;
};

// What one or more transport messages add to a direction's counters, summed on the stack so a batch costs
// one atomic add per counter.
struct Tally {
  uint64_t bytes = 0, packets = 0, keepalives = 0;
  void transport(size_t wire) {
    bytes += wire;
    ++(wire == kTransportMinSize ? keepalives : packets);
  }
};

// One direction's counters, adjacent: a message's bytes and its packet or keepalive count share a cache line
// unless the allocation happens to split them.
struct TrafficCounters {
  std::atomic<uint64_t> bytes{0}, packets{0}, keepalives{0};
  // Inline, as it runs per received datagram. Zeros are skipped: even an atomic add of zero takes the
  // cache line from the other thread.
  void add(const Tally& t) {
    if (t.bytes) bytes.fetch_add(t.bytes, std::memory_order_relaxed);
    if (t.packets) packets.fetch_add(t.packets, std::memory_order_relaxed);
    if (t.keepalives) keepalives.fetch_add(t.keepalives, std::memory_order_relaxed);
  }
};

// Packets waiting for a session, FIFO, oldest dropped when full. Each slot keeps its buffer between uses and
// stores the packet with transport headroom and tailroom, so a flush seals in place with no copy. The
// slots exist only once something was staged: most peers are idle, and 128 empty slots inline would be
// most of an idle peer's memory.
class StagedQueue {
 public:
  static constexpr size_t kCapacity = 128;
  struct Slot {
    std::vector<uint8_t> buf;  // [header][inner packet][room for padding + tag]
    size_t inner_len = 0;
  };
  // Returns false when the oldest packet had to be dropped to make room.
  bool push(const uint8_t* packet, size_t len);
  bool empty() const { return count_ == 0; }
  size_t size() const { return count_; }
  Slot& front() { return slots_[head_]; }
  void pop();
  size_t clear();  // returns how many were dropped

 private:
  std::unique_ptr<Slot[]> slots_;
  size_t head_ = 0;
  size_t count_ = 0;
};

class Peer : public std::enable_shared_from_this<Peer> {
 public:
  Peer(const uint8_t public_key[kKeyLen], const TimerConstants& timers);
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  const uint8_t* public_key() const { return public_key_; }
  PeerStats stats() const;
  Endpoint endpoint() const;
  uint16_t persistent_keepalive() const;
  bool removed() const { return removed_.load(std::memory_order_acquire); }

  // Opaque engine context (e.g. its per-peer send queue); set before the peer is shared, never read here.
  void* user_data = nullptr;

 private:
  friend class Device;

  uint8_t public_key_[kKeyLen];

  std::mutex handshake_mu_;
  Handshake hs_;
  CookieGenerator cookie_;

  mutable std::mutex state_mu_;
  KeypairSlots slots_;
  Timers timers_;
  StagedQueue staged_;
  Endpoint endpoint_;

  std::atomic<bool> removed_{false};
  TrafficCounters rx_;
  TrafficCounters tx_;
  std::atomic<uint64_t> last_handshake_unix_ns_{0};
  std::atomic<uint64_t> handshakes_completed_{0};
};

using PeerRef = std::shared_ptr<Peer>;

// Pads (zeros, to 16 but never past the MTU), seals with `counter` and writes the header. buf holds the
// 16-byte header room followed by inner_len bytes; capacity is the room from buf on. Returns the wire
// length, or 0 if the buffer is too small or sealing failed. lane: see Keypair.
size_t seal_transport(Keypair& k, uint64_t counter, uint8_t* buf, size_t inner_len, size_t capacity, size_t mtu,
                      int lane = Keypair::kLocked);

}  // namespace gw::wg
