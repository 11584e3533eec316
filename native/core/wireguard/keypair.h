// Transport sessions: a keypair's two keyed AEAD contexts, its send counter and receive replay window, and
// the previous/current/next slots with WireGuard's rotation rules (§1.13 of the spec).
//
// Threading: a Keypair is shared (std::shared_ptr) between the peer's slots, the device index table and any
// thread that is encrypting or decrypting with it, so a slot change never frees a key under a worker. The
// send context is guarded by send_mu and the receive context plus replay window by recv_mu; the counter is
// atomic so counters can be reserved without either lock. KeypairSlots are guarded by the owning peer.
// With crypto workers (device.h ParallelCrypto) each worker also has a lane: its own pair of keyed
// contexts, used by that worker alone and so without a lock. The batch keeps its keys alive for the workers:
// the forking thread's KeypairRef (sealing) or each RxDatagram's (opening) is held until after the join.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "../../crypto/aead.h"
#include "noise.h"

namespace gw::wg {

// RFC 6479 sliding window over an 8192-bit ring: one word is always being recycled, so 8128 counters behind
// the highest are still accepted. Kernel formulation (stores highest + 1 so that 0 means "nothing yet").
class ReplayWindow {
 public:
  static constexpr uint64_t kRingBits = 8192;
  static constexpr uint64_t kWordBits = 64;
  static constexpr uint64_t kRingWords = kRingBits / kWordBits;
  static constexpr uint64_t kWindowSize = kRingBits - kWordBits;
  // Kernel REJECT_AFTER_MESSAGES: no counter at or above this is ever accepted (or sent).
  static constexpr uint64_t kRejectAfterMessages = UINT64_MAX - kWindowSize - 1;

  // Accepts a counter at most once; call only after the packet authenticated.
  bool check_and_update(uint64_t counter, uint64_t limit = kRejectAfterMessages);
  void reset();

 private:
  uint64_t next_ = 0;  // highest accepted + 1
  uint64_t ring_[kRingWords] = {};
};

class Keypair {
 public:
  // The locked contexts, usable from any thread; lanes 0..lanes-1 belong to crypto worker 0..lanes-1.
  static constexpr int kLocked = -1;

  Keypair(const SessionKeys& keys, uint64_t now_ns, size_t lanes = 0);
  Keypair(const Keypair&) = delete;
  Keypair& operator=(const Keypair&) = delete;

  bool valid() const { return valid_; }
  bool initiator() const { return initiator_; }
  uint32_t local_index() const { return local_index_; }
  uint32_t remote_index() const { return remote_index_; }
  uint64_t birth_ns() const { return birth_ns_; }
  uint64_t send_counter() const { return send_counter_.load(std::memory_order_relaxed); }

  // Reserves n consecutive send counters below limit; false (and nothing reserved is usable) otherwise.
  bool reserve_counters(uint64_t n, uint64_t limit, uint64_t* first);
  // Makes every further reservation fail (the local private key changed).
  void exhaust(uint64_t limit) { send_counter_.store(limit, std::memory_order_relaxed); }

  // In-place transport AEAD. seal: data[0..len) → ciphertext, tag at data+len. Receiving takes two steps:
  // decrypt (data[0..len) is the ciphertext, tag at data+len; the window untouched), then, only once it
  // authenticated and in arrival order, accept_counter updates the replay window.
  bool seal(uint64_t counter, uint8_t* data, size_t len, int lane = kLocked);
  bool decrypt(uint64_t counter, uint8_t* data, size_t len, int lane);
  bool accept_counter(uint64_t counter, uint64_t limit);

 private:
  struct Lane {
    crypto::ChaChaPoly sender, receiver;
  };
  std::unique_ptr<Lane[]> lanes_;
  std::mutex send_mu_;
  crypto::ChaChaPoly sender_;
  std::mutex recv_mu_;
  crypto::ChaChaPoly receiver_;
  ReplayWindow replay_;
  std::atomic<uint64_t> send_counter_{0};
  const uint64_t birth_ns_;
  const uint32_t local_index_;
  const uint32_t remote_index_;
  const bool initiator_;
  bool valid_ = false;
};

using KeypairRef = std::shared_ptr<Keypair>;

// Keypairs removed from the slots by one operation, returned so the caller can drop their indices from the
// index table (at most three go at once).
struct Discarded {
  KeypairRef keypairs[3];
  size_t count = 0;
  void add(KeypairRef& k) {
    if (k) keypairs[count++] = std::move(k);
    k.reset();
  }
};

struct KeypairSlots {
  KeypairRef previous;
  KeypairRef current;
  KeypairRef next;

  // Initiator derived a session: it becomes current at once; an unconfirmed next is kept as previous.
  void install_initiator(KeypairRef k, Discarded* gone);
  // Responder derived a session: it waits in next until the initiator proves it has it.
  void install_responder(KeypairRef k, Discarded* gone);
  // A packet authenticated on k: if k is next, rotate it into current. True when that happened.
  bool confirm(const Keypair* k, Discarded* gone);
  void clear(Discarded* gone);
};

}  // namespace gw::wg
