#include "peer.h"

#include <cstring>

namespace gw::wg {

bool StagedQueue::push(const uint8_t* packet, size_t len) {
  bool dropped = false;
  if (!slots_) slots_ = std::make_unique<Slot[]>(kCapacity);
  if (count_ == kCapacity) {
    pop();
    dropped = true;
  }
  Slot& s = slots_[(head_ + count_) % kCapacity];
  size_t need = kTransportHeaderSize + len + kTransportTailroom;
  if (s.buf.size() < need) s.buf.resize(need);
  if (len) std::memcpy(s.buf.data() + kTransportHeaderSize, packet, len);
  s.inner_len = len;
  ++count_;
  return !dropped;
}

void StagedQueue::pop() {
  if (count_ == 0) return;
  head_ = (head_ + 1) % kCapacity;
  --count_;
}

size_t StagedQueue::clear() {
  size_t n = count_;
  head_ = count_ = 0;
  slots_.reset();  // the peer gave up for now: give the buffers back
  return n;
}

Peer::Peer(const uint8_t public_key[kKeyLen], const TimerConstants& timers) : timers_(timers) {
  std::memcpy(public_key_, public_key, kKeyLen);
  std::memcpy(hs_.remote_static, public_key, kKeyLen);
  cookie_.init(public_key);
}

PeerStats Peer::stats() const {
  PeerStats s;
  s.rx_bytes = rx_.bytes.load(std::memory_order_relaxed);
  s.tx_bytes = tx_.bytes.load(std::memory_order_relaxed);
  s.rx_packets = rx_.packets.load(std::memory_order_relaxed);
  s.tx_packets = tx_.packets.load(std::memory_order_relaxed);
  s.rx_keepalives = rx_.keepalives.load(std::memory_order_relaxed);
  s.tx_keepalives = tx_.keepalives.load(std::memory_order_relaxed);
  s.last_handshake_unix_ns = last_handshake_unix_ns_.load(std::memory_order_relaxed);
  s.handshakes_completed = handshakes_completed_.load(std::memory_order_relaxed);
  return s;
}

Endpoint Peer::endpoint() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  return endpoint_;
}

uint16_t Peer::persistent_keepalive() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  return timers_.persistent_keepalive();
}

size_t seal_transport(Keypair& k, uint64_t counter, uint8_t* buf, size_t inner_len, size_t capacity, size_t mtu,
                      int lane) {
  size_t padded = padded_length(inner_len, mtu);
  size_t wire = kTransportHeaderSize + padded + kTagLen;
  if (wire > capacity || wire > kMaxMessageSize) return 0;
  uint8_t* payload = buf + kTransportHeaderSize;
  std::memset(payload + inner_len, 0, padded - inner_len);
  if (!k.seal(counter, payload, padded, lane)) return 0;
  write_transport_header(buf, k.remote_index(), counter);
  return wire;
}

}  // namespace gw::wg
