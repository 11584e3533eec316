// gridwire WireGuard device core: the per-interface protocol state (local key, peers, index table, cookie
// checker, rate limiter) and the data-path entry points. Sans-IO: no sockets, no threads, no clock reads.
// Every call takes `now` (monotonic nanoseconds); TAI64N uses now + DeviceConfig::wall_offset_ns.
//
// API flow for the engine
//   setup    crypto::init(); Device dev(cfg); dev.set_private_key(k); p = dev.add_peer(pub);
//            dev.set_endpoint(*p, ep); dev.set_preshared_key(*p, psk); put p into the allowed-IPs trie.
//   TX       read a batch from TUN into buffers with kTransportHeaderSize headroom and kTransportTailroom
//            tailroom, group by peer (allowed-IPs lookup on the destination), then
//            dev.encrypt(*p, pkts, n, now, sink). Ready packets are sealed in place and handed to sink.send;
//            without a session they are staged (copied) and a handshake is started.
//   RX       for each datagram: dev.receive(src, data, len, now, sink). Transport packets are decrypted in
//            place; sink.allowed_source(peer, ip, len) is asked before sink.deliver(peer, ip, len).
//            Handshake messages may instead be queued by the RX thread (classify() tells them apart) and
//            passed to receive() on the handshake thread; report that queue's depth with
//            set_handshake_backlog() so the device knows when it is under load.
//   RX batch with crypto workers: dev.receive_batch(datagrams, n, now, sink) for the non-handshake datagrams
//            of one receive batch, in order (see ParallelCrypto).
//   timers   loop: dev.tick(now, sink); sleep until min(dev.next_deadline(), next wake-up), or until woken.
//
// Threading contract
//   * encrypt(), receive(), tick() and the configuration calls may run concurrently from any threads
//     (designed for one TX, one RX and one timer/handshake thread). No call blocks on I/O.
//   * Hot paths: encrypt() takes the peer's state lock once per batch and the keypair's send lock once per
//     batch; receive() of a transport packet takes the index table's shared lock, the keypair's receive lock
//     and the peer's state lock once each. DH computations (handshakes) hold only the peer's handshake lock
//     and never the state lock, so the data path does not wait for them.
//   * With DeviceConfig::parallel, encrypt() and receive_batch() of big batches also run crypto on the
//     ParallelCrypto's workers, through each keypair's per-worker lane, and wait for them; the sink is
//     still called only on the calling thread, in batch order.
//   * Sink callbacks may run with a per-peer lock held: they must be quick (append to a batch) and must not
//     call back into the Device. Bytes passed to send()/deliver() are valid only during the callback unless
//     they lie in a buffer the caller passed to the same call.
//   * PeerRef handles stay valid after remove_peer(); calls on a removed peer are no-ops.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <array>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

#include "cookie.h"
#include "messages.h"
#include "noise.h"
#include "peer.h"
#include "ratelimiter.h"
#include "rng.h"
#include "timers.h"

namespace gw::wg {

enum class DropReason : uint8_t {
  kInvalidMessage,  // too short, wrong length for its type, unknown type
  kNoPrivateKey,
  kMac1,
  kCookieReplySent,  // under load and mac2 missing/wrong: answered with a cookie reply instead
  kRateLimited,
  kHandshakeDecrypt,  // static/timestamp/empty AEAD or DH failed, or unexpected handshake state
  kUnknownPeer,
  kHandshakeReplay,  // timestamp not newer, or initiation flood
  kUnknownIndex,
  kCookieReplyInvalid,
  kKeypairExpired,
  kDecrypt,  // transport authentication failure
  kReplay,
  kInvalidInnerPacket,
  kSourceNotAllowed,
  kNoEndpoint,
  kBufferTooSmall,
  kStagedOverflow,  // oldest staged packet dropped for a new one
  kStagedDropped,  // staged packets dropped because the handshake gave up or keys were zeroed
  kNoSession,  // counters exhausted / no usable keypair and the packet could not be staged
  kPeerRemoved,
  kCount
};

enum class PeerEvent : uint8_t {
  kHandshakeComplete,  // a new session is usable for sending
  kEndpointChanged,  // roaming: an authenticated packet came from a new source
  kHandshakeGaveUp,  // REKEY_ATTEMPT_TIME passed without an answer
  kKeysZeroed,  // 3 × REJECT_AFTER_TIME without a new handshake: all session keys wiped
};

// Caller-supplied outputs. See the threading contract above.
class Sink {
 public:
  // A UDP datagram to `to`. peer is null for cookie replies (they answer an unauthenticated source).
  virtual void send(Peer* peer, const Endpoint& to, const uint8_t* data, size_t len) = 0;
  // Cryptokey routing check on a decrypted packet: does its inner source address belong to `peer`?
  virtual bool allowed_source(Peer& peer, const uint8_t* packet, size_t len) = 0;
  // A decrypted, trimmed, source-checked IP packet for the TUN device.
  virtual void deliver(Peer& peer, uint8_t* packet, size_t len) = 0;
  virtual void event(Peer& peer, PeerEvent e) {
    (void)peer;
    (void)e;
  }

 protected:
  ~Sink() = default;
};

// One packet of a TX batch. In: data[kTransportHeaderSize .. +len) is the inner IP packet. Out: len is the
// wire length of the transport message at data (0 = staged or dropped).
struct Packet {
  uint8_t* data;
  size_t len;
  size_t capacity;  // bytes usable from data on (headroom + packet + tailroom)
};

enum class RxResult : uint8_t { kDropped, kHandshake, kKeepalive, kDelivered };

// Crypto workers (engine-owned threads), for batches of at least DeviceConfig::parallel_min_batch packets.
// Fork-join, so order needs no reorder queue: encrypt() does its serial part (keypair, counters, timers) on
// the calling thread, seals the batch in contiguous chunks in parallel, then sends in batch order;
// receive_batch() authenticates and decrypts in parallel chunks (index → keypair lookups only), then one
// pass in batch order does the replay window, key confirmation, timers, roaming, source check and delivery.
class ParallelCrypto {
 public:
  using Chunk = void (*)(void* ctx, size_t begin, size_t end, int lane);
  // Workers; each seals and opens through its own lane of every keypair (Keypair, lanes).
  virtual size_t lanes() const = 0;
  // Calls chunk on contiguous ranges covering [0, n), on the workers (lane = worker) and on the calling
  // thread (lane Keypair::kLocked), and returns once every range is done. False if it ran everything on
  // the calling thread (no workers running, or too little to split).
  virtual bool run(size_t n, Chunk chunk, void* ctx) = 0;

 protected:
  ~ParallelCrypto() = default;
};

// One datagram of a receive batch (receive_batch). The device fills the other fields while it works.
struct RxDatagram {
  RxDatagram(const Endpoint& from, uint8_t* bytes, size_t length) : src(from), data(bytes), len(length) {}
  Endpoint src;
  uint8_t* data;
  size_t len;
  PeerRef peer;  // set with keypair once the transport message authenticated
  KeypairRef keypair;
  DropReason drop = DropReason::kCount;  // why the parallel step refused it (kCount: it did not)
};

struct DeviceConfig {
  TimerConstants timers;
  size_t mtu = 1420;  // padding cap (TUN MTU); 0 = pad to 16 unconditionally
  size_t under_load_threshold = 128;  // handshake backlog at which mac2 becomes mandatory (wireguard-go)
  uint64_t under_load_latch_ns = kSecond;
  int64_t wall_offset_ns = 0;  // unix_ns = now + wall_offset_ns, for TAI64N and last-handshake stats
  Rng rng;  // default: OpenSSL CSPRNG
  ParallelCrypto* parallel = nullptr;  // not owned; outlives the Device. Null: every batch on its caller
  size_t parallel_min_batch = 16;  // smaller batches stay on the calling thread (latency)
};

class Device {
 public:
  explicit Device(const DeviceConfig& cfg = DeviceConfig());
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  // --- configuration (any thread) ---
  // Sets (clamped) or, with all zeros, removes the private key. Drops a peer with the same public key,
  // recomputes every peer's static-static DH, abandons handshakes and forces the next send to handshake;
  // the key already set is a no-op.
  bool set_private_key(const uint8_t key[kKeyLen]);
  // Copies the public key out; false if no private key is set.
  bool public_key(uint8_t out[kKeyLen]) const;
  // Returns the peer for this key, creating it if needed; null if it equals our own public key.
  PeerRef add_peer(const uint8_t public_key[kKeyLen]);
  PeerRef find_peer(const uint8_t public_key[kKeyLen]) const;
  // Removes the peer, wipes its sessions and frees its indices. False if unknown.
  bool remove_peer(const uint8_t public_key[kKeyLen]);
  std::vector<PeerRef> peers() const;
  void set_preshared_key(Peer& peer, const uint8_t psk[kKeyLen]);  // all zeros = none
  void set_endpoint(Peer& peer, const Endpoint& ep);
  // Interval in seconds (0 = off); turning it on sends a keepalive (or starts a handshake) at once.
  void set_persistent_keepalive(Peer& peer, uint16_t interval, uint64_t now, Sink& sink);

  // --- TX thread ---
  // Encrypts a batch for one peer in place and passes each ready packet to sink.send. Returns how many were
  // sent; the others were staged (handshake pending) or dropped (see drop_count).
  size_t encrypt(Peer& peer, Packet* pkts, size_t n, uint64_t now, Sink& sink);
  // Sends a keepalive (or the staged packets) now; starts a handshake if there is no session.
  void send_keepalive(Peer& peer, uint64_t now, Sink& sink);

  // --- RX / handshake threads ---
  // Handles one UDP datagram from src. data is modified in place (transport packets are decrypted).
  RxResult receive(const Endpoint& src, uint8_t* data, size_t len, uint64_t now, Sink& sink);
  // receive() for each of n datagrams, with the same results and counters, the transport crypto in parallel
  // when the batch is big enough (handshake messages are handled in the in-order pass, but the engine sends
  // them to its handshake thread instead, as DH work would hold up the batch). A packet opened in parallel
  // is committed only if its index still names the keypair that opened it, so a keypair retired by an
  // earlier packet of the batch (or by another thread meanwhile) drops it as receive() would.
  void receive_batch(RxDatagram* d, size_t n, uint64_t now, Sink& sink);
  static MessageType classify(const uint8_t* data, size_t len) { return wg::classify(data, len); }
  // Handshake queue depth as seen by the engine; at or above the threshold the device is under load for
  // under_load_latch_ns (mac2 required, per-source rate limit applied).
  void set_handshake_backlog(size_t queued, uint64_t now);
  bool under_load(uint64_t now) const;

  // --- timer thread ---
  // Runs every due timer of every peer (retransmits, keepalives, rekeys, give-up, key zeroing).
  void tick(uint64_t now, Sink& sink);
  // Earliest armed timer of any peer; UINT64_MAX if none. Recompute after every call that can arm timers.
  uint64_t next_deadline() const;

  // --- stats ---
  uint64_t drop_count(DropReason r) const { return drops_[static_cast<size_t>(r)].load(std::memory_order_relaxed); }
  uint64_t parallel_batches() const { return parallel_batches_.load(std::memory_order_relaxed); }
  const DeviceConfig& config() const { return cfg_; }

  // Test hook: fixes the cookie secret (cookie.json vector).
  void set_cookie_secret_for_test(const uint8_t secret[32], uint64_t birth_ns);

 private:
  struct IndexEntry {
    PeerRef peer;
    KeypairRef keypair;  // null while the index names a pending handshake
  };
  using Key = std::array<uint8_t, kKeyLen>;

  void drop(DropReason r, uint64_t n = 1) { drops_[static_cast<size_t>(r)].fetch_add(n, std::memory_order_relaxed); }
  uint64_t unix_ns(uint64_t now) const { return now + static_cast<uint64_t>(cfg_.wall_offset_ns); }

  // Index table.
  uint32_t index_insert(const PeerRef& peer);
  void index_set_keypair(uint32_t index, const KeypairRef& k);
  bool index_lookup(uint32_t index, IndexEntry* out) const;
  void index_remove_handshake(const Peer& peer, uint32_t index);
  void index_remove(const Discarded& gone);

  // Handshakes (take the peer's handshake lock).
  void send_initiation(const PeerRef& peer, uint64_t now, bool retry, Sink& sink);
  bool admit_handshake(const Endpoint& src, const uint8_t* data, size_t len, uint32_t sender_index,
                       uint64_t now, Sink& sink);
  RxResult receive_initiation(const Endpoint& src, const uint8_t* data, size_t len, uint64_t now, Sink& sink);
  RxResult receive_response(const Endpoint& src, const uint8_t* data, size_t len, uint64_t now, Sink& sink);
  RxResult receive_cookie_reply(const uint8_t* data, size_t len, uint64_t now);
  RxResult receive_transport(const Endpoint& src, uint8_t* data, size_t len, uint64_t now, Sink& sink);
  // The in-order part of a transport message open_transport opened: the replay window, then commit. With
  // recheck (opened in parallel, perhaps before a session change), also that its index still names the
  // keypair that opened it.
  RxResult finish_transport(RxDatagram& d, uint64_t now, Sink& sink, bool recheck);
  // receive_transport after the keypair accepted the packet: confirmation, timers, roaming, delivery.
  RxResult commit_transport(const Endpoint& src, const PeerRef& peer, Keypair& k, uint8_t* data, size_t len,
                            uint64_t now, Sink& sink);
  // Read-only lookups, then authenticate and decrypt (receive_batch's parallel step, and receive()'s).
  void open_transport(RxDatagram& d, uint64_t now, int lane) const;
  void seal_batch(Keypair& k, uint64_t first, Packet* pkts, size_t n);
  KeypairRef derive_keypair(Peer& peer, uint64_t now);
  void complete_handshake_locked(Peer& peer, uint64_t now);
  bool update_endpoint_locked(Peer& peer, const Endpoint& src);

  // Transport (state lock).
  void send_staged(const PeerRef& peer, uint64_t now, bool keepalive, Sink& sink);
  bool flush_staged_locked(Peer& peer, const KeypairRef& k, uint64_t now, Sink& sink);
  void stage_locked(Peer& peer, const uint8_t* packet, size_t len);
  void after_send_locked(Peer& peer, uint64_t now, bool data);
  void zero_keys(const PeerRef& peer);
  void wipe_sessions(Peer& peer);

  const DeviceConfig cfg_;

  mutable std::shared_mutex identity_mu_;  // local_, checker_ keys
  LocalIdentity local_;
  CookieChecker checker_;
  RateLimiter limiter_;
  std::atomic<uint64_t> under_load_until_{0};

  mutable std::shared_mutex peers_mu_;
  std::map<Key, PeerRef> peers_;

  mutable std::shared_mutex index_mu_;
  std::unordered_map<uint32_t, IndexEntry> index_;

  std::atomic<uint64_t> drops_[static_cast<size_t>(DropReason::kCount)] = {};
  std::atomic<uint64_t> parallel_batches_{0};
};

}  // namespace gw::wg
