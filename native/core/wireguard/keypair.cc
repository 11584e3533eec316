#include "keypair.h"

namespace gw::wg {

bool ReplayWindow::check_and_update(uint64_t counter, uint64_t limit) {
  if (next_ >= limit + 1 || counter >= limit) return false;
  uint64_t c = counter + 1;
  if (kWindowSize + c < next_) return false;  // too old
  uint64_t word = c / kWordBits;
  if (c > next_) {
    uint64_t current = next_ / kWordBits;
    uint64_t advance = word - current < kRingWords ? word - current : kRingWords;
    for (uint64_t i = 1; i <= advance; ++i) ring_[(current + i) % kRingWords] = 0;
    next_ = c;
  }
  uint64_t& slot = ring_[word % kRingWords];
  uint64_t bit = 1ull << (c % kWordBits);
  if (slot & bit) return false;
  slot |= bit;
  return true;
}

void ReplayWindow::reset() {
  next_ = 0;
  for (uint64_t& w : ring_) w = 0;
}

Keypair::Keypair(const SessionKeys& keys, uint64_t now_ns, size_t lanes)
    : birth_ns_(now_ns), local_index_(keys.local_index), remote_index_(keys.remote_index),
      initiator_(keys.initiator) {
  valid_ = sender_.set_key(keys.send, crypto::ChaChaPoly::kSeal) &&
           receiver_.set_key(keys.recv, crypto::ChaChaPoly::kOpen);
  if (lanes) lanes_ = std::make_unique<Lane[]>(lanes);
  for (size_t i = 0; i < lanes; ++i)
    valid_ = valid_ && lanes_[i].sender.set_key(keys.send, crypto::ChaChaPoly::kSeal) &&
             lanes_[i].receiver.set_key(keys.recv, crypto::ChaChaPoly::kOpen);
}

bool Keypair::reserve_counters(uint64_t n, uint64_t limit, uint64_t* first) {
  uint64_t start = send_counter_.fetch_add(n, std::memory_order_relaxed);
  // Detect both "at the limit" and wrap-around of the fetch_add itself.
  if (start >= limit || n > limit - start) {
    send_counter_.store(limit, std::memory_order_relaxed);
    return false;
  }
  *first = start;
  return true;
}

bool Keypair::seal(uint64_t counter, uint8_t* data, size_t len, int lane) {
  uint8_t nonce[crypto::kChaChaNonceLen];
  crypto::wg_nonce(counter, nonce);
  if (lane != kLocked) return lanes_[lane].sender.seal(nonce, nullptr, 0, data, len, data + len);
  std::lock_guard<std::mutex> lock(send_mu_);
  return sender_.seal(nonce, nullptr, 0, data, len, data + len);
}

bool Keypair::decrypt(uint64_t counter, uint8_t* data, size_t len, int lane) {
  uint8_t nonce[crypto::kChaChaNonceLen];
  crypto::wg_nonce(counter, nonce);
  if (lane != kLocked) return lanes_[lane].receiver.open(nonce, nullptr, 0, data, len, data + len);
  std::lock_guard<std::mutex> lock(recv_mu_);
  return receiver_.open(nonce, nullptr, 0, data, len, data + len);
}

bool Keypair::accept_counter(uint64_t counter, uint64_t limit) {
  std::lock_guard<std::mutex> lock(recv_mu_);
  return replay_.check_and_update(counter, limit);
}

void KeypairSlots::install_initiator(KeypairRef k, Discarded* gone) {
  if (next) {
    gone->add(previous);
    previous = std::move(next);
    next.reset();
    gone->add(current);
  } else {
    gone->add(previous);
    previous = std::move(current);
    current.reset();
  }
  current = std::move(k);
}

void KeypairSlots::install_responder(KeypairRef k, Discarded* gone) {
  gone->add(next);
  gone->add(previous);
  next = std::move(k);
}

bool KeypairSlots::confirm(const Keypair* k, Discarded* gone) {
  if (!next || next.get() != k) return false;
  gone->add(previous);
  previous = std::move(current);
  current = std::move(next);
  next.reset();
  return true;
}

void KeypairSlots::clear(Discarded* gone) {
  gone->add(previous);
  gone->add(current);
  gone->add(next);
}

}  // namespace gw::wg
