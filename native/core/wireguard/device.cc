// Inbound flow (receive):  classify → handshake: mac1 → [under load: mac2 / cookie reply, rate limit] →
//   consume → session → reply;  transport: index → keypair → decrypt → replay window → confirm next →
//   timers → roam → trim → allowed source → deliver.
// Outbound flow (encrypt): peer → usable keypair? (else stage + handshake) → flush older staged packets →
//   reserve counters → timers → seal in place → sink.send → rekey check.
// Lock order: identity_mu_ → peers_mu_ → Peer::handshake_mu_ → Peer::state_mu_ → index_mu_ → keypair locks.
#include "device.h"

#include <cstring>

#include "../../crypto/curve.h"

namespace gw::wg {
namespace {

std::array<uint8_t, kKeyLen> key_of(const uint8_t k[kKeyLen]) {
  std::array<uint8_t, kKeyLen> a;
  std::memcpy(a.data(), k, kKeyLen);
  return a;
}

// Seals one TX packet in place: its wire length, or 0 if it does not fit its buffer.
size_t seal_packet(Keypair& k, uint64_t counter, const Packet& p, size_t mtu, int lane) {
  return p.len + kTransportHeaderSize <= p.capacity ? seal_transport(k, counter, p.data, p.len, p.capacity, mtu, lane)
                                                    : 0;
}

// A handshake message adds to bytes only (PeerStats).
void count_handshake(TrafficCounters& c, size_t wire) { c.bytes.fetch_add(wire, std::memory_order_relaxed); }

}  // namespace

Device::Device(const DeviceConfig& cfg) : cfg_(cfg) {}

Device::~Device() {
  for (const PeerRef& p : peers()) wipe_sessions(*p);
}

// ---------------------------------------------------------------------------------------------------------
// Configuration

bool Device::set_private_key(const uint8_t key[kKeyLen]) {
  std::unique_lock<std::shared_mutex> id(identity_mu_);
  LocalIdentity next;
  if (!next.set(key)) return false;
  // The key we already have changes nothing, as in wireguard-go and the kernel: `wg syncconf` resends it.
  if (next.has_key == local_.has_key && crypto::equal(next.private_key, local_.private_key, kKeyLen)) return true;
  local_ = next;
  if (local_.has_key) {
    checker_.init(local_.public_key);
  } else {
    checker_.clear();
  }
  std::unique_lock<std::shared_mutex> ps(peers_mu_);
  if (local_.has_key) {
    auto it = peers_.find(key_of(local_.public_key));
    if (it != peers_.end()) {
      PeerRef self = std::move(it->second);
      peers_.erase(it);
      self->removed_.store(true, std::memory_order_release);
      wipe_sessions(*self);
    }
  }
  for (auto& entry : peers_) {
    Peer& p = *entry.second;
    std::lock_guard<std::mutex> hl(p.handshake_mu_);
    if (p.hs_.state == HandshakeState::kInitiationCreated) index_remove_handshake(p, p.hs_.local_index);
    p.hs_.clear_session_state();
    p.hs_.precompute(local_);
    // Sessions keyed under the old identity may still be received on, but never sent on again.
    std::lock_guard<std::mutex> sl(p.state_mu_);
    if (p.slots_.current) p.slots_.current->exhaust(cfg_.timers.reject_after_messages);
    if (p.slots_.next) p.slots_.next->exhaust(cfg_.timers.reject_after_messages);
  }
  return true;
}

bool Device::public_key(uint8_t out[kKeyLen]) const {
  std::shared_lock<std::shared_mutex> id(identity_mu_);
  if (local_.has_key) std::memcpy(out, local_.public_key, kKeyLen);
  return local_.has_key;
}

PeerRef Device::add_peer(const uint8_t public_key[kKeyLen]) {
  std::shared_lock<std::shared_mutex> id(identity_mu_);
  if (local_.has_key && crypto::equal(public_key, local_.public_key, kKeyLen)) return nullptr;
  std::unique_lock<std::shared_mutex> ps(peers_mu_);
  auto [it, inserted] = peers_.try_emplace(key_of(public_key));
  if (inserted) {
    it->second = std::make_shared<Peer>(public_key, cfg_.timers);
    std::lock_guard<std::mutex> hl(it->second->handshake_mu_);
    it->second->hs_.precompute(local_);
  }
  return it->second;
}

PeerRef Device::find_peer(const uint8_t public_key[kKeyLen]) const {
  std::shared_lock<std::shared_mutex> ps(peers_mu_);
  auto it = peers_.find(key_of(public_key));
  return it == peers_.end() ? nullptr : it->second;
}

bool Device::remove_peer(const uint8_t public_key[kKeyLen]) {
  PeerRef p;
  {
    std::unique_lock<std::shared_mutex> ps(peers_mu_);
    auto it = peers_.find(key_of(public_key));
    if (it == peers_.end()) return false;
    p = std::move(it->second);
    peers_.erase(it);
  }
  p->removed_.store(true, std::memory_order_release);
  wipe_sessions(*p);
  std::lock_guard<std::mutex> sl(p->state_mu_);
  p->timers_.timers_stop_all();
  return true;
}

std::vector<PeerRef> Device::peers() const {
  std::shared_lock<std::shared_mutex> ps(peers_mu_);
  std::vector<PeerRef> out;
  out.reserve(peers_.size());
  for (const auto& entry : peers_) out.push_back(entry.second);
  return out;
}

void Device::set_preshared_key(Peer& peer, const uint8_t psk[kKeyLen]) {
  std::lock_guard<std::mutex> hl(peer.handshake_mu_);
  std::memcpy(peer.hs_.preshared_key, psk, kKeyLen);
}

void Device::set_endpoint(Peer& peer, const Endpoint& ep) {
  std::lock_guard<std::mutex> sl(peer.state_mu_);
  peer.endpoint_ = ep;
}

void Device::set_persistent_keepalive(Peer& peer, uint16_t interval, uint64_t now, Sink& sink) {
  bool turned_on;
  {
    std::lock_guard<std::mutex> sl(peer.state_mu_);
    turned_on = peer.timers_.set_persistent_keepalive(interval, now);
  }
  if (turned_on) send_staged(peer.shared_from_this(), now, true, sink);
}

void Device::set_handshake_backlog(size_t queued, uint64_t now) {
  if (queued >= cfg_.under_load_threshold) under_load_until_.store(now + cfg_.under_load_latch_ns);
}

bool Device::under_load(uint64_t now) const { return now < under_load_until_.load(std::memory_order_relaxed); }

void Device::set_cookie_secret_for_test(const uint8_t secret[32], uint64_t birth_ns) {
  checker_.set_secret_for_test(secret, birth_ns);
}

// ---------------------------------------------------------------------------------------------------------
// Index table: random 32-bit indices, opaque to the peer. An index names a pending handshake first and the
// keypair derived from it afterwards.

uint32_t Device::index_insert(const PeerRef& peer) {
  std::unique_lock<std::shared_mutex> l(index_mu_);
  for (;;) {
    uint32_t i = cfg_.rng.u32();
    if (index_.try_emplace(i, IndexEntry{peer, nullptr}).second) return i;
  }
}

void Device::index_set_keypair(uint32_t index, const KeypairRef& k) {
  std::unique_lock<std::shared_mutex> l(index_mu_);
  auto it = index_.find(index);
  if (it != index_.end()) it->second.keypair = k;
}

bool Device::index_lookup(uint32_t index, IndexEntry* out) const {
  std::shared_lock<std::shared_mutex> l(index_mu_);
  auto it = index_.find(index);
  if (it == index_.end()) return false;
  *out = it->second;
  return true;
}

void Device::index_remove_handshake(const Peer& peer, uint32_t index) {
  std::unique_lock<std::shared_mutex> l(index_mu_);
  auto it = index_.find(index);
  if (it != index_.end() && it->second.peer.get() == &peer && !it->second.keypair) index_.erase(it);
}

void Device::index_remove(const Discarded& gone) {
  if (gone.count == 0) return;
  std::unique_lock<std::shared_mutex> l(index_mu_);
  for (size_t i = 0; i < gone.count; ++i) {
    auto it = index_.find(gone.keypairs[i]->local_index());
    if (it != index_.end() && it->second.keypair == gone.keypairs[i]) index_.erase(it);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Handshakes

void Device::send_initiation(const PeerRef& peer, uint64_t now, bool retry, Sink& sink) {
  std::shared_lock<std::shared_mutex> id(identity_mu_);
  if (!local_.has_key) return drop(DropReason::kNoPrivateKey);
  std::lock_guard<std::mutex> hl(peer->handshake_mu_);
  if (peer->removed()) return;
  Endpoint ep;
  {
    std::lock_guard<std::mutex> sl(peer->state_mu_);
    if (!peer->timers_.try_begin_initiation(now, retry)) return;
    ep = peer->endpoint_;
  }
  Handshake& hs = peer->hs_;
  if (hs.state == HandshakeState::kInitiationCreated) index_remove_handshake(*peer, hs.local_index);
  uint8_t eph[kKeyLen];
  cfg_.rng(eph, sizeof eph);
  crypto::x25519_clamp(eph);
  uint32_t index = index_insert(peer);
  MsgInitiation msg;
  bool ok = create_initiation(hs, local_, eph, tai64n_from_unix_ns(unix_ns(now)), index, &msg);
  crypto::wipe(eph, sizeof eph);
  if (!ok) {
    // A low-order peer key (no static-static secret) never gets a handshake.
    index_remove_handshake(*peer, index);
    return drop(DropReason::kHandshakeDecrypt);
  }
  peer->cookie_.add_macs(bytes(msg), sizeof msg, now);
  {
    std::lock_guard<std::mutex> sl(peer->state_mu_);
    peer->timers_.timers_any_authenticated_packet_traversal(now);
    peer->timers_.timers_any_authenticated_packet_sent();
    peer->timers_.timers_handshake_initiated(now, cfg_.rng.u32());
  }
  if (!ep.valid()) return drop(DropReason::kNoEndpoint);
  sink.send(peer.get(), ep, bytes(msg), sizeof msg);
  count_handshake(peer->tx_, sizeof msg);
}

// mac1 always; under load also mac2 (else answer with a cookie) and the per-source rate limit.
bool Device::admit_handshake(const Endpoint& src, const uint8_t* data, size_t len, uint32_t sender_index,
                             uint64_t now, Sink& sink) {
  if (!checker_.check_mac1(data, len)) {
    drop(DropReason::kMac1);
    return false;
  }
  if (!under_load(now)) return true;
  if (!checker_.check_mac2(data, len, src, now, cfg_.rng)) {
    MsgCookieReply reply;
    if (checker_.create_reply(data, len, sender_index, src, now, cfg_.rng, &reply)) {
      sink.send(nullptr, src, bytes(reply), sizeof reply);
    }
    drop(DropReason::kCookieReplySent);
    return false;
  }
  if (!limiter_.allow(src, now)) {
    drop(DropReason::kRateLimited);
    return false;
  }
  return true;
}

KeypairRef Device::derive_keypair(Peer& peer, uint64_t now) {
  SessionKeys keys;
  if (!begin_session(peer.hs_, &keys)) return nullptr;
  auto k = std::make_shared<Keypair>(keys, now, cfg_.parallel ? cfg_.parallel->lanes() : 0);
  return k->valid() ? k : nullptr;
}

bool Device::update_endpoint_locked(Peer& peer, const Endpoint& src) {
  bool moved = !peer.endpoint_.same_remote(src);
  peer.endpoint_ = src;  // also refreshes the cached local source
  return moved;
}

void Device::complete_handshake_locked(Peer& peer, uint64_t now) {
  peer.timers_.timers_handshake_complete(now);
  peer.last_handshake_unix_ns_.store(unix_ns(now), std::memory_order_relaxed);
  peer.handshakes_completed_.fetch_add(1, std::memory_order_relaxed);
}

RxResult Device::receive_initiation(const Endpoint& src, const uint8_t* data, size_t len, uint64_t now,
                                    Sink& sink) {
  MsgInitiation msg;
  decode(data, len, &msg);
  std::shared_lock<std::shared_mutex> id(identity_mu_);
  if (!local_.has_key) return drop(DropReason::kNoPrivateKey), RxResult::kDropped;
  if (!admit_handshake(src, data, len, load_le32(msg.sender_index), now, sink)) return RxResult::kDropped;
  ConsumedInitiation ci;
  if (!consume_initiation_static(local_, msg, &ci)) return drop(DropReason::kHandshakeDecrypt), RxResult::kDropped;
  PeerRef peer = find_peer(ci.remote_static);
  if (!peer) return drop(DropReason::kUnknownPeer), RxResult::kDropped;

  std::lock_guard<std::mutex> hl(peer->handshake_mu_);
  Handshake& hs = peer->hs_;
  if (peer->removed()) return drop(DropReason::kPeerRemoved), RxResult::kDropped;
  if (!consume_initiation_timestamp(hs, ci, msg)) return drop(DropReason::kHandshakeDecrypt), RxResult::kDropped;
  if (!initiation_is_fresh(hs, ci, now)) return drop(DropReason::kHandshakeReplay), RxResult::kDropped;
  if (hs.state == HandshakeState::kInitiationCreated) index_remove_handshake(*peer, hs.local_index);
  commit_initiation(hs, ci, now);

  uint8_t eph[kKeyLen];
  cfg_.rng(eph, sizeof eph);
  crypto::x25519_clamp(eph);
  uint32_t index = index_insert(peer);
  MsgResponse resp;
  bool ok = create_response(hs, eph, index, &resp);
  crypto::wipe(eph, sizeof eph);
  KeypairRef k = ok ? derive_keypair(*peer, now) : nullptr;
  if (!k) {
    index_remove_handshake(*peer, index);
    return drop(DropReason::kHandshakeDecrypt), RxResult::kDropped;
  }
  peer->cookie_.add_macs(bytes(resp), sizeof resp, now);

  bool moved;
  {
    std::lock_guard<std::mutex> sl(peer->state_mu_);
    Timers& t = peer->timers_;
    moved = update_endpoint_locked(*peer, src);
    t.timers_any_authenticated_packet_traversal(now);
    t.timers_any_authenticated_packet_received();
    Discarded gone;
    peer->slots_.install_responder(k, &gone);
    index_set_keypair(index, k);
    index_remove(gone);
    t.response_sent(now);
    t.timers_session_derived(now);
    t.timers_any_authenticated_packet_sent();
  }
  count_handshake(peer->rx_, len);
  count_handshake(peer->tx_, sizeof resp);
  if (moved) sink.event(*peer, PeerEvent::kEndpointChanged);
  sink.send(peer.get(), src, bytes(resp), sizeof resp);
  return RxResult::kHandshake;
}

RxResult Device::receive_response(const Endpoint& src, const uint8_t* data, size_t len, uint64_t now, Sink& sink) {
  MsgResponse msg;
  decode(data, len, &msg);
  PeerRef peer;
  bool moved;
  {
    std::shared_lock<std::shared_mutex> id(identity_mu_);
    if (!local_.has_key) return drop(DropReason::kNoPrivateKey), RxResult::kDropped;
    if (!admit_handshake(src, data, len, load_le32(msg.sender_index), now, sink)) return RxResult::kDropped;
    IndexEntry e;
    if (!index_lookup(load_le32(msg.receiver_index), &e) || e.keypair) {
      return drop(DropReason::kUnknownIndex), RxResult::kDropped;
    }
    peer = std::move(e.peer);
    std::lock_guard<std::mutex> hl(peer->handshake_mu_);
    if (peer->removed()) return drop(DropReason::kPeerRemoved), RxResult::kDropped;
    if (!consume_response(peer->hs_, local_, msg)) return drop(DropReason::kHandshakeDecrypt), RxResult::kDropped;
    uint32_t index = peer->hs_.local_index;
    KeypairRef k = derive_keypair(*peer, now);
    if (!k) return drop(DropReason::kHandshakeDecrypt), RxResult::kDropped;

    std::lock_guard<std::mutex> sl(peer->state_mu_);
    Timers& t = peer->timers_;
    moved = update_endpoint_locked(*peer, src);
    t.timers_any_authenticated_packet_traversal(now);
    t.timers_any_authenticated_packet_received();
    Discarded gone;
    peer->slots_.install_initiator(k, &gone);
    index_set_keypair(index, k);
    index_remove(gone);
    t.timers_session_derived(now);
    complete_handshake_locked(*peer, now);
  }
  count_handshake(peer->rx_, len);
  if (moved) sink.event(*peer, PeerEvent::kEndpointChanged);
  sink.event(*peer, PeerEvent::kHandshakeComplete);
  // Key confirmation: the responder may not send until it hears from us on the new session.
  send_staged(peer, now, true, sink);
  return RxResult::kHandshake;
}

RxResult Device::receive_cookie_reply(const uint8_t* data, size_t len, uint64_t now) {
  MsgCookieReply msg;
  decode(data, len, &msg);
  IndexEntry e;
  if (!index_lookup(load_le32(msg.receiver_index), &e)) return drop(DropReason::kUnknownIndex), RxResult::kDropped;
  std::lock_guard<std::mutex> hl(e.peer->handshake_mu_);
  // The cookie is only stored; the next timer-driven initiation carries mac2.
  if (!e.peer->cookie_.consume_reply(msg, now)) return drop(DropReason::kCookieReplyInvalid), RxResult::kDropped;
  return RxResult::kHandshake;
}

// ---------------------------------------------------------------------------------------------------------
// Transport

RxResult Device::receive(const Endpoint& src, uint8_t* data, size_t len, uint64_t now, Sink& sink) {
  switch (classify(data, len)) {
    case MessageType::kInitiation: return receive_initiation(src, data, len, now, sink);
    case MessageType::kResponse: return receive_response(src, data, len, now, sink);
    case MessageType::kCookieReply: return receive_cookie_reply(data, len, now);
    case MessageType::kTransport: return receive_transport(src, data, len, now, sink);
    default: return drop(DropReason::kInvalidMessage), RxResult::kDropped;
  }
}

RxResult Device::receive_transport(const Endpoint& src, uint8_t* data, size_t len, uint64_t now, Sink& sink) {
  RxDatagram d(src, data, len);
  open_transport(d, now, Keypair::kLocked);
  return finish_transport(d, now, sink, false);
}

RxResult Device::finish_transport(RxDatagram& x, uint64_t now, Sink& sink, bool recheck) {
  if (!x.keypair) return drop(x.drop), RxResult::kDropped;
  IndexEntry now_named;
  if (recheck && (!index_lookup(transport_receiver_index(x.data), &now_named) || now_named.keypair != x.keypair))
    return drop(DropReason::kUnknownIndex), RxResult::kDropped;  // retired since it was opened
  if (!x.keypair->accept_counter(transport_counter(x.data), cfg_.timers.reject_after_messages))
    return drop(DropReason::kReplay), RxResult::kDropped;
  return commit_transport(x.src, x.peer, *x.keypair, x.data, x.len, now, sink);
}

RxResult Device::commit_transport(const Endpoint& src, const PeerRef& peer_ref, Keypair& k, uint8_t* data, size_t len,
                                  uint64_t now, Sink& sink) {
  Peer& peer = *peer_ref;
  uint8_t* payload = data + kTransportHeaderSize;
  size_t plain_len = len - kTransportMinSize;
  bool confirmed, rekey, moved;
  {
    std::lock_guard<std::mutex> sl(peer.state_mu_);
    Timers& t = peer.timers_;
    Discarded gone;
    confirmed = peer.slots_.confirm(&k, &gone);
    if (confirmed) complete_handshake_locked(peer, now);
    index_remove(gone);
    rekey = t.want_rekey_after_receive(peer.slots_.current.get(), now);
    t.timers_any_authenticated_packet_traversal(now);
    t.timers_any_authenticated_packet_received();
    moved = update_endpoint_locked(peer, src);
    if (plain_len > 0) t.timers_data_received(now);
  }
  Tally rx;
  rx.transport(len);
  peer.rx_.add(rx);
  if (moved) sink.event(peer, PeerEvent::kEndpointChanged);
  if (confirmed) {
    sink.event(peer, PeerEvent::kHandshakeComplete);
    send_staged(peer_ref, now, false, sink);
  }
  if (rekey) send_initiation(peer_ref, now, false, sink);

  if (plain_len == 0) return RxResult::kKeepalive;
  size_t inner = inner_packet_length(payload, plain_len);
  if (inner == 0) return drop(DropReason::kInvalidInnerPacket), RxResult::kDropped;
  if (!sink.allowed_source(peer, payload, inner)) return drop(DropReason::kSourceNotAllowed), RxResult::kDropped;
  sink.deliver(peer, payload, inner);
  return RxResult::kDelivered;
}

void Device::open_transport(RxDatagram& d, uint64_t now, int lane) const {
  IndexEntry e;
  if (!index_lookup(transport_receiver_index(d.data), &e) || !e.keypair) {
    d.drop = DropReason::kUnknownIndex;
  } else if (keypair_expired(cfg_.timers, *e.keypair, now)) {
    d.drop = DropReason::kKeypairExpired;
  } else if (!e.keypair->decrypt(transport_counter(d.data), d.data + kTransportHeaderSize, d.len - kTransportMinSize,
                                 lane)) {
    d.drop = DropReason::kDecrypt;
  } else {
    d.peer = std::move(e.peer);
    d.keypair = std::move(e.keypair);
  }
}

void Device::receive_batch(RxDatagram* d, size_t n, uint64_t now, Sink& sink) {
  if (!cfg_.parallel || n < cfg_.parallel_min_batch) {
    for (size_t i = 0; i < n; ++i) receive(d[i].src, d[i].data, d[i].len, now, sink);
    return;
  }
  struct Job {
    const Device* dev;
    RxDatagram* d;
    uint64_t now;
  } job{this, d, now};
  auto open_chunk = [](void* ctx, size_t begin, size_t end, int lane) {
    const Job& j = *static_cast<const Job*>(ctx);
    for (size_t i = begin; i < end; ++i)
      if (classify(j.d[i].data, j.d[i].len) == MessageType::kTransport) j.dev->open_transport(j.d[i], j.now, lane);
  };
  if (cfg_.parallel->run(n, open_chunk, &job)) parallel_batches_.fetch_add(1, std::memory_order_relaxed);
  // In batch order: what depends on order or on shared state.
  for (size_t i = 0; i < n; ++i) {
    RxDatagram& x = d[i];
    if (classify(x.data, x.len) != MessageType::kTransport)
      receive(x.src, x.data, x.len, now, sink);
    else
      finish_transport(x, now, sink, true);
    x.peer.reset();
    x.keypair.reset();
    x.drop = DropReason::kCount;
  }
}

void Device::after_send_locked(Peer& peer, uint64_t now, bool data) {
  peer.timers_.timers_any_authenticated_packet_traversal(now);
  peer.timers_.timers_any_authenticated_packet_sent();
  if (data) peer.timers_.timers_data_sent(now, cfg_.rng.jitter());
}

void Device::stage_locked(Peer& peer, const uint8_t* packet, size_t len) {
  if (!peer.staged_.push(packet, len)) drop(DropReason::kStagedOverflow);
}

// Seals and sends every staged packet on k. Returns true when a handshake should follow (k is exhausted or
// due for a rekey).
bool Device::flush_staged_locked(Peer& peer, const KeypairRef& k, uint64_t now, Sink& sink) {
  size_t n = peer.staged_.size();
  uint64_t first;
  if (!k->reserve_counters(n, cfg_.timers.reject_after_messages, &first)) return true;
  const Endpoint& ep = peer.endpoint_;
  bool data = false;
  Tally tx;
  for (size_t i = 0; i < n; ++i) {
    StagedQueue::Slot& s = peer.staged_.front();
    size_t wire = seal_transport(*k, first + i, s.buf.data(), s.inner_len, s.buf.size(), cfg_.mtu);
    if (wire == 0) {
      drop(DropReason::kBufferTooSmall);
    } else if (!ep.valid()) {
      drop(DropReason::kNoEndpoint);
    } else {
      sink.send(&peer, ep, s.buf.data(), wire);
      tx.transport(wire);
    }
    data |= s.inner_len > 0;
    peer.staged_.pop();
  }
  peer.tx_.add(tx);
  after_send_locked(peer, now, data);
  return peer.timers_.want_rekey_after_send(k.get(), now);
}

void Device::send_staged(const PeerRef& peer, uint64_t now, bool keepalive, Sink& sink) {
  bool want_initiation = false;
  {
    std::lock_guard<std::mutex> sl(peer->state_mu_);
    if (peer->removed()) return;
    // A keepalive is only needed when nothing else is about to be sent.
    if (keepalive && peer->staged_.empty()) peer->staged_.push(nullptr, 0);
    if (peer->staged_.empty()) return;
    KeypairRef k = peer->slots_.current;
    want_initiation = !peer->timers_.keypair_usable(k.get(), now) || flush_staged_locked(*peer, k, now, sink);
  }
  if (want_initiation) send_initiation(peer, now, false, sink);
}

void Device::send_keepalive(Peer& peer, uint64_t now, Sink& sink) { send_staged(peer.shared_from_this(), now, true, sink); }

void Device::seal_batch(Keypair& k, uint64_t first, Packet* pkts, size_t n) {
  struct Job {
    Keypair& k;
    uint64_t first;
    Packet* pkts;
    size_t mtu;
  } job{k, first, pkts, cfg_.mtu};
  auto seal_chunk = [](void* ctx, size_t begin, size_t end, int lane) {
    const Job& j = *static_cast<const Job*>(ctx);
    for (size_t i = begin; i < end; ++i) j.pkts[i].len = seal_packet(j.k, j.first + i, j.pkts[i], j.mtu, lane);
  };
  if (cfg_.parallel->run(n, seal_chunk, &job)) parallel_batches_.fetch_add(1, std::memory_order_relaxed);
}

size_t Device::encrypt(Peer& peer, Packet* pkts, size_t n, uint64_t now, Sink& sink) {
  KeypairRef k;
  Endpoint ep;
  uint64_t first = 0;
  bool want_initiation = false;
  {
    std::lock_guard<std::mutex> sl(peer.state_mu_);
    if (peer.removed()) {
      for (size_t i = 0; i < n; ++i) pkts[i].len = 0;
      drop(DropReason::kPeerRemoved, n);
      return 0;
    }
    k = peer.slots_.current;
    if (peer.timers_.keypair_usable(k.get(), now)) {
      // Older staged packets go first so the peer sees them in order.
      if (!peer.staged_.empty()) want_initiation = flush_staged_locked(peer, k, now, sink);
      if (!k->reserve_counters(n, cfg_.timers.reject_after_messages, &first)) k.reset();
    } else {
      k.reset();
    }
    if (k) {
      ep = peer.endpoint_;
      bool data = false;
      for (size_t i = 0; i < n; ++i) data |= pkts[i].len > 0;
      after_send_locked(peer, now, data);
      want_initiation |= peer.timers_.want_rekey_after_send(k.get(), now);
    } else {
      for (size_t i = 0; i < n; ++i) {
        if (pkts[i].len + kTransportHeaderSize <= pkts[i].capacity) {
          stage_locked(peer, pkts[i].data + kTransportHeaderSize, pkts[i].len);
        } else {
          drop(DropReason::kBufferTooSmall);
        }
        pkts[i].len = 0;
      }
      want_initiation = true;
    }
  }

  const bool parallel = k && cfg_.parallel && n >= cfg_.parallel_min_batch;
  if (parallel) seal_batch(*k, first, pkts, n);
  Tally tx;
  for (size_t i = 0; k && i < n; ++i) {
    Packet& p = pkts[i];
    if (!parallel) p.len = seal_packet(*k, first + i, p, cfg_.mtu, Keypair::kLocked);
    if (p.len == 0) {
      drop(DropReason::kBufferTooSmall);
    } else if (!ep.valid()) {
      drop(DropReason::kNoEndpoint);
      p.len = 0;
    } else {
      sink.send(&peer, ep, p.data, p.len);
      tx.transport(p.len);
    }
  }
  peer.tx_.add(tx);
  if (want_initiation) send_initiation(peer.shared_from_this(), now, false, sink);
  return tx.packets + tx.keepalives;
}

// ---------------------------------------------------------------------------------------------------------
// Timers

void Device::wipe_sessions(Peer& peer) {
  Discarded gone;
  size_t dropped;
  {
    std::lock_guard<std::mutex> hl(peer.handshake_mu_);
    if (peer.hs_.state == HandshakeState::kInitiationCreated) index_remove_handshake(peer, peer.hs_.local_index);
    peer.hs_.clear_session_state();
    std::lock_guard<std::mutex> sl(peer.state_mu_);
    peer.slots_.clear(&gone);
    dropped = peer.staged_.clear();
  }
  index_remove(gone);
  if (dropped) drop(DropReason::kStagedDropped, dropped);
}

void Device::tick(uint64_t now, Sink& sink) {
  for (const PeerRef& p : peers()) {
    TimerActions a;
    size_t dropped = 0;
    {
      std::lock_guard<std::mutex> sl(p->state_mu_);
      a = p->timers_.tick(now);
      if (a.clear_endpoint_src) p->endpoint_.clear_src();
      if (a.give_up) dropped = p->staged_.clear();
    }
    if (dropped) drop(DropReason::kStagedDropped, dropped);
    if (a.give_up) sink.event(*p, PeerEvent::kHandshakeGaveUp);
    if (a.zero_keys) {
      wipe_sessions(*p);
      sink.event(*p, PeerEvent::kKeysZeroed);
    }
    if (a.send_initiation) send_initiation(p, now, a.initiation_is_retry, sink);
    if (a.send_keepalive) send_staged(p, now, true, sink);
  }
}

uint64_t Device::next_deadline() const {
  uint64_t t = UINT64_MAX;
  for (const PeerRef& p : peers()) {
    std::lock_guard<std::mutex> sl(p->state_mu_);
    uint64_t d = p->timers_.next_deadline();
    if (d < t) t = d;
  }
  return t;
}

}  // namespace gw::wg
