// The WireGuard engine: one interface's protocol core (core/wireguard) wired to a TUN device and UDP
// sockets (io/) by three threads it owns.
//
//   tx loop         TUN ─read batch─▶ allowed-IPs (destination) ─▶ Device::encrypt ─▶ sendmmsg
//   rx loop         recvmmsg ─▶ transport: Device::receive (decrypt, source check) ─▶ TUN write batch
//                              handshake messages: copied to the handshake queue
//                   after a TUN write, while the tx loop sleeps: drains the TUN as the tx loop would
//                   (the kernel's immediate answers leave without waking another thread)
//
// The TUN belongs to one loop at a time (GRIDWIRE_SHARED_LOOP, default on). While traffic is light the
// rx loop owns it and is the only thread woken: a request leaves and its reply comes back through one
// thread, so a round trip waits for one wake-up per engine and hop instead of two. When one read of
// the TUN brings kBusyPackets, the tx loop takes the TUN and the two directions run in parallel; it
// gives it back after a quiet spell.
//   handshake loop  handshake queue ─▶ Device::receive (DH work, cookies under load); Device::tick
//                   for retransmits, keepalives, rekeys and key zeroing; allowed-IPs reclamation
//   crypto workers  (crypto_workers.h) only with more than two CPUs: one per CPU beyond the two the
//                   data loops keep busy, GRIDWIRE_CRYPTO_WORKERS=N to force N (0: none). A batch of
//                   16 packets or more is forked: the loop thread does the serial part (counters,
//                   timers), the workers and the loop thread seal or open contiguous chunks, and after
//                   the join the loop thread sends, or replay-checks and delivers, in batch order. On 2
//                   CPUs measurement chose none: both loops already use both cores, and a fork-join
//                   would only add wake-ups. Without workers the data path is the same as before.
//
// Configuration comes from the JS thread through configure(), which validates everything first and
// then applies it as one change. A listen-port change binds the new sockets before anything else is
// touched, and swaps them in while the data loops are paused.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "../core/allowedips.h"
#include "../core/wireguard/device.h"
#include "../io/poller.h"
#include "../io/tun.h"
#include "../io/udp.h"

namespace gw::engine {

using Key = std::array<uint8_t, 32>;
class CryptoWorkers;

struct PeerChange {
  Key public_key{};
  bool remove = false;
  bool update_only = false;
  std::optional<Key> preshared_key;  // all zeros clears it
  std::optional<io::Endpoint> endpoint;
  std::optional<uint16_t> persistent_keepalive;
  bool replace_allowed_ips = false;
  std::vector<core::IpPrefix> add_allowed_ips;
  std::vector<core::IpPrefix> remove_allowed_ips;
};

struct DeviceChange {
  std::optional<Key> private_key;  // all zeros removes it
  std::optional<uint16_t> listen_port;
  std::optional<uint32_t> fwmark;
  bool replace_peers = false;
  std::vector<PeerChange> peers;
};

struct PeerInfo {
  Key public_key{};
  std::optional<Key> preshared_key;
  std::string endpoint;  // empty when unknown
  wg::PeerStats stats;
  uint16_t persistent_keepalive = 0;
  std::vector<core::IpPrefix> allowed_ips;
};

struct EngineOptions {
  std::string tun_name;  // empty: no TUN (decrypted packets are counted and discarded)
  int mtu = 1420;
  double time_scale = 1;  // test hook: divides the protocol's time constants
  // Called from engine threads; must be quick and thread-safe.
  std::function<void(const char* type, const uint8_t* peer, const std::string& detail)> on_event;
};

class WgEngine {
 public:
  WgEngine();
  ~WgEngine();
  WgEngine(const WgEngine&) = delete;
  WgEngine& operator=(const WgEngine&) = delete;

  // Opens the TUN (if named) and starts the loops. 0 or -errno with a message in *err.
  int start(const EngineOptions& options, std::string* err);
  void stop();

  // 0, or -errno (-EINVAL, -EADDRINUSE) with nothing changed.
  int configure(const DeviceChange& change, std::string* err);

  std::optional<Key> private_key() const;
  uint16_t listen_port() const;
  uint32_t fwmark() const;
  std::vector<PeerInfo> peers() const;
  std::vector<std::pair<std::string, uint64_t>> counters() const;

  // Bench only (`gridwire bench --no-tun`): on the calling thread, for `seconds`, builds batches of
  // IPv4/UDP packets from src to dst with `payload` bytes and pushes them through the transmit path
  // (allowed-IPs, encryption, sendmmsg) as the TUN reader would, so an engine without a TUN can send.
  // Holds the configuration lock throughout: configure() and stop() wait for it.
  struct InjectResult {
    uint64_t packets = 0;
    double cpu_seconds = 0;  // of the calling thread
  };
  InjectResult inject(const uint8_t src[4], const uint8_t dst[4], size_t payload, double seconds);

 private:
  struct HandshakeItem {
    wg::Endpoint src;
    uint16_t len;
    uint8_t data[wg::kInitiationSize];
  };
  class LoopSink;
  struct TunReader;

  int start_loops();  // 0, or -errno if the loops' pollers cannot be set up (nothing then runs)
  int open_pollers();
  void stop_loops();
  void tx_loop();
  void rx_loop();
  void handshake_loop();
  void process_tx_batch(const io::PacketPool& pool, io::Packet* pkts, size_t count, core::AllowedIps::Reader& reader,
                        LoopSink& sink);
  // True if it wrote anything to the TUN.
  bool process_rx_batch(const io::PacketPool& pool, io::Batch& in, core::AllowedIps::Reader& reader, LoopSink& sink);
  // Reads the TUN until it is empty, sending what it reads: the packets read, or -1 if the interface is gone.
  ssize_t drain_tun(TunReader& r, core::AllowedIps::Reader& reader, LoopSink& sink);
  ssize_t read_tun(TunReader& r, core::AllowedIps::Reader& reader, LoopSink& sink);  // drain_tun under the reader lock
  void hand_tun(io::Poller& from, io::Poller& to, bool to_tx);
  void answer_from_rx(TunReader& r, core::AllowedIps::Reader& reader, LoopSink& sink);
  bool queue_handshake(const wg::Endpoint& src, const uint8_t* data, size_t len);
  int rebind(const DeviceChange& change, std::string* err);
  void apply_peer(const PeerChange& pc, uint64_t now, LoopSink& sink);
  void remove_peer(const Key& pub);
  void remove_all_peers();
  void post(const char* type, const uint8_t* peer, const std::string& detail);
  uint64_t now() const;

  EngineOptions options_;
  std::unique_ptr<CryptoWorkers> workers_;  // null: no crypto workers (GRIDWIRE_CRYPTO_WORKERS=0, ≤ 2 CPUs)
  wg::Device* device_ = nullptr;
  core::AllowedIps allowed_;
  io::Tun tun_;
  std::unique_ptr<io::UdpBind> bind_;
  uint32_t fwmark_ = 0;
  std::optional<Key> private_key_;
  std::map<Key, Key> preshared_keys_;  // the core keeps only the derived state; UAPI get reports the key

  mutable std::mutex config_mu_;
  std::atomic<bool> running_{false};
  std::thread tx_, rx_, hs_;
  std::mutex tun_read_mu_;          // one TUN reader at a time: the tx loop, or the rx loop answering
  std::atomic<bool> tx_idle_{false};  // the tx loop is (about to be) asleep in epoll
  bool rx_answers_ = true;          // GRIDWIRE_RX_ANSWERS
  bool shared_loop_on_ = true;      // GRIDWIRE_SHARED_LOOP
  bool shared_loop_ = false;        // shared_loop_on_, with both a TUN and sockets: the TUN can change hands
  std::atomic<bool> tun_to_tx_{true};  // the TUN belongs to the tx loop (else to the rx loop)
  io::Poller tx_poller_, rx_poller_;
  std::vector<wg::RxDatagram> rx_datagrams_;  // the rx loop's batch for Device::receive_batch (workers only)

  std::mutex hs_mu_;
  std::condition_variable hs_cv_;
  std::deque<HandshakeItem> hs_queue_;
  bool hs_stop_ = false;

  std::atomic<uint64_t> hs_queue_dropped_{0};
  std::atomic<uint64_t> tun_write_errors_{0};
  std::atomic<uint64_t> tun_read_invalid_{0};  // TUN reads with a virtio header we cannot split
  std::atomic<uint64_t> tun_udp_superpackets_{0};  // TUN reads that were UDP_SEGMENT sends (USO), split here
  std::atomic<uint64_t> no_route_{0};
  std::atomic<uint64_t> delivered_without_tun_{0};
  std::atomic<uint64_t> tun_handoffs_to_tx_{0}, tun_handoffs_to_rx_{0};
};

}  // namespace gw::engine
