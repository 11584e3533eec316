#include "wg_engine.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

#include "../crypto/curve.h"
#include "../io/poller.h"
#include "../io/vnet.h"
#include "../util/env.h"
#include "../util/thread_name.h"
#include "crypto_workers.h"

namespace gw::engine {

namespace {

constexpr size_t kHandshakeQueueMax = 4096;
constexpr uint64_t kMaxTimerSleepNs = 100'000'000;  // tick at least every 100 ms
// Buffers take the largest IP packet, not the MTU at start: `ip link set mtu` may raise it at any time.
constexpr size_t kMaxPacket = 65535;
constexpr size_t kScratchExtra = 64;  // transport header, tag and padding on top of a packet
constexpr size_t kScratchSlabs = 16;  // copies per flush; more just flush earlier
constexpr size_t kSinkBatch = 256;    // datagrams per sendmmsg flush, packets per TUN write flush
constexpr size_t kTxSegs = 256;       // TX with TUN offload: segments of split super-packets per batch
// The TUN moves to the transmit loop when one read of it brings this many packets, and back to the
// receive loop after kQuietMs without any or kLightDrains light reads in a row.
constexpr size_t kBusyPackets = 8;
constexpr int kQuietMs = 5;
constexpr int kLightDrains = 64;
constexpr uint64_t kTunToken = 3;  // poller token; 0 and 1 are the v4 and v6 sockets

wg::Endpoint to_core(const io::Endpoint& e) {
  wg::Endpoint out;
  if (e.family() == AF_INET) {
    out.family = 4;
    std::memcpy(out.addr, &e.addr.in4.sin_addr, 4);
    out.port = ntohs(e.addr.in4.sin_port);
  } else if (e.family() == AF_INET6) {
    out.family = 6;
    std::memcpy(out.addr, &e.addr.in6.sin6_addr, 16);
    out.port = ntohs(e.addr.in6.sin6_port);
    out.scope_id = e.addr.in6.sin6_scope_id;
  }
  return out;
}

io::Endpoint to_io(const wg::Endpoint& e) {
  io::Endpoint out;
  if (e.family == 4) {
    out.addr.in4.sin_family = AF_INET;
    std::memcpy(&out.addr.in4.sin_addr, e.addr, 4);
    out.addr.in4.sin_port = htons(e.port);
  } else if (e.family == 6) {
    out.addr.in6.sin6_family = AF_INET6;
    std::memcpy(&out.addr.in6.sin6_addr, e.addr, 16);
    out.addr.in6.sin6_port = htons(e.port);
    out.addr.in6.sin6_scope_id = e.scope_id;
  }
  return out;
}

std::string format(const wg::Endpoint& e) {
  char buf[io::Endpoint::kMaxText];
  return to_io(e).format(buf, sizeof buf) ? std::string(buf) : std::string();
}

bool is_zero(const Key& k) {
  uint8_t acc = 0;
  for (uint8_t b : k) acc |= b;
  return acc == 0;
}

wg::DeviceConfig device_config(const EngineOptions& o) {
  wg::DeviceConfig cfg;
  cfg.mtu = static_cast<size_t>(o.mtu);
  auto wall = std::chrono::system_clock::now().time_since_epoch();
  auto mono = std::chrono::steady_clock::now().time_since_epoch();
  cfg.wall_offset_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wall - mono).count();
  if (o.time_scale > 1) {
    wg::TimerConstants& t = cfg.timers;
    for (uint64_t* v : {&t.rekey_after_time, &t.reject_after_time, &t.rekey_attempt_time, &t.rekey_timeout,
                        &t.rekey_timeout_jitter_max, &t.keepalive_timeout})
      *v = static_cast<uint64_t>(static_cast<double>(*v) / o.time_scale);
  }
  return cfg;
}

}  // namespace

// Collects what the protocol core hands out during one batch. Datagrams that point into the batch's
// own buffers are sent from there; anything else (staged packets, handshake messages) is valid only
// during the callback and is copied into the sink's scratch pool.
class WgEngine::LoopSink final : public wg::Sink {
 public:
  LoopSink(WgEngine& engine, core::AllowedIps::Reader* reader) : engine_(engine), reader_(reader) {
    scratch_.init(kScratchSlabs, kMaxPacket + kScratchExtra);
    out_.resize(kSinkBatch);
    tun_out_.resize(kSinkBatch);
  }

  // in: the pool whose slabs the batch lives in (datagrams pointing there are sent without a copy).
  void begin(const io::PacketPool* in) {
    in_ = in;
    out_count_ = 0;
    tun_count_ = 0;
  }

  void send(wg::Peer*, const wg::Endpoint& to, const uint8_t* data, size_t len) override {
    if (out_count_ == kSinkBatch) flush_udp();
    io::Packet& p = out_[out_count_];
    p.ep = to_io(to);
    if (owned(data)) {
      p.data = const_cast<uint8_t*>(data);
    } else {
      io::Packet copy;
      if (len > scratch_.payload_cap()) return;
      if (!scratch_.attach(copy)) {
        flush_udp();
        return send(nullptr, to, data, len);
      }
      std::memcpy(copy.data, data, len);
      scratch_used_.push_back(copy);
      p.data = copy.data;
    }
    p.len = static_cast<uint32_t>(len);
    out_count_++;
  }

  bool allowed_source(wg::Peer& peer, const uint8_t* packet, size_t len) override {
    core::AllowedIps::ReadGuard guard(*reader_);
    return engine_.allowed_.lookup_src(guard, packet, len) == &peer;
  }

  void deliver(wg::Peer&, uint8_t* packet, size_t len) override {
    if (engine_.tun_.fd() < 0) {
      engine_.delivered_without_tun_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (tun_count_ == kSinkBatch) flush_tun();
    io::Packet& p = tun_out_[tun_count_++];
    p.data = packet;
    p.len = static_cast<uint32_t>(len);
  }

  void event(wg::Peer& peer, wg::PeerEvent e) override {
    switch (e) {
      case wg::PeerEvent::kHandshakeComplete:
        engine_.post("handshake", peer.public_key(), "");
        break;
      case wg::PeerEvent::kEndpointChanged:
        engine_.post("endpoint", peer.public_key(), format(peer.endpoint()));
        break;
      case wg::PeerEvent::kHandshakeGaveUp:
        engine_.post("expired", peer.public_key(), "handshake gave up");
        break;
      case wg::PeerEvent::kKeysZeroed:
        engine_.post("expired", peer.public_key(), "session keys zeroed");
        break;
    }
  }

  // True if anything was written to the TUN.
  bool flush() {
    flush_udp();
    return flush_tun();
  }

 private:
  bool owned(const uint8_t* data) const { return in_ && in_->contains(data); }

  void flush_udp() {
    if (out_count_ && engine_.bind_) engine_.bind_->send_batch(out_.data(), out_count_);
    out_count_ = 0;
    for (io::Packet& p : scratch_used_) scratch_.detach(p);
    scratch_used_.clear();
  }

  bool flush_tun() {
    if (!tun_count_) return false;
    io::IoResult r = engine_.tun_.write_batch(tun_out_.data(), tun_count_);
    if (r.dropped) engine_.tun_write_errors_.fetch_add(r.dropped, std::memory_order_relaxed);
    tun_count_ = 0;
    return true;
  }

  WgEngine& engine_;
  core::AllowedIps::Reader* reader_;
  const io::PacketPool* in_ = nullptr;
  std::vector<io::Packet> out_;
  size_t out_count_ = 0;
  std::vector<io::Packet> tun_out_;
  size_t tun_count_ = 0;
  io::PacketPool scratch_;
  std::vector<io::Packet> scratch_used_;
};

WgEngine::WgEngine() = default;

WgEngine::~WgEngine() {
  stop();
  delete device_;
}

uint64_t WgEngine::now() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void WgEngine::post(const char* type, const uint8_t* peer, const std::string& detail) {
  if (options_.on_event) options_.on_event(type, peer, detail);
}

int WgEngine::start(const EngineOptions& options, std::string* err) {
  options_ = options;
  wg::DeviceConfig cfg = device_config(options);
  if (const size_t n = CryptoWorkers::configured_count()) workers_ = std::make_unique<CryptoWorkers>(n);
  cfg.parallel = workers_.get();
  device_ = new wg::Device(cfg);
  if (!options.tun_name.empty()) {
    io::TunConfig cfg;
    cfg.name = options.tun_name.c_str();
    cfg.mtu = options.mtu;
    cfg.vnet_hdr = cfg.offload = env_switch("GRIDWIRE_TUN_OFFLOAD");
    cfg.uso = env_switch("GRIDWIRE_TUN_USO");
    rx_answers_ = env_switch("GRIDWIRE_RX_ANSWERS");
    shared_loop_on_ = env_switch("GRIDWIRE_SHARED_LOOP");
    if (int rc = tun_.open(cfg); rc < 0) {
      *err = "cannot create TUN " + options.tun_name + ": " + std::strerror(-rc);
      return rc;
    }
  }
  if (int rc = start_loops(); rc < 0) {
    *err = std::string("cannot set up the data loops: ") + std::strerror(-rc);
    return rc;
  }
  return 0;
}

int WgEngine::start_loops() {
  shared_loop_ = shared_loop_on_ && tun_.fd() >= 0 && bind_;
  tun_to_tx_.store(!shared_loop_, std::memory_order_relaxed);
  if (int rc = open_pollers(); rc < 0) {
    tx_poller_.close();
    rx_poller_.close();
    return rc;
  }
  running_ = true;
  if (workers_) workers_->start();
  if (tun_.fd() >= 0) name_thread(tx_ = std::thread(&WgEngine::tx_loop, this), "gw-tx", tun_.name());
  if (bind_) name_thread(rx_ = std::thread(&WgEngine::rx_loop, this), "gw-rx", tun_.name());
  {
    std::lock_guard<std::mutex> lock(hs_mu_);
    hs_stop_ = false;
  }
  name_thread(hs_ = std::thread(&WgEngine::handshake_loop, this), "gw-hs", tun_.name());
  return 0;
}

void WgEngine::stop_loops() {
  if (!running_.exchange(false)) return;
  tx_poller_.wake();
  rx_poller_.wake();
  {
    std::lock_guard<std::mutex> lock(hs_mu_);
    hs_stop_ = true;
  }
  hs_cv_.notify_all();
  for (std::thread* t : {&tx_, &rx_, &hs_})
    if (t->joinable()) t->join();
  if (workers_) workers_->stop();
  tx_poller_.close();
  rx_poller_.close();
}

void WgEngine::stop() {
  std::lock_guard<std::mutex> lock(config_mu_);
  stop_loops();
  if (bind_) bind_->close();
  tun_.close();
}

// What one thread needs to read the TUN and push what it reads through the transmit path.
struct WgEngine::TunReader {
  io::PacketPool pool;
  io::Batch batch;                // without the virtio header: one read_batch at a time
  std::vector<io::Packet> segs;   // with it: segments of split super-packets
  std::unique_ptr<uint8_t[]> rbuf;
  size_t n = 0;

  explicit TunReader(bool vnet) {
    if (!vnet) {
      pool.init(io::kBatchSize, kMaxPacket);
      return;
    }
    pool.init(kTxSegs, kMaxPacket);
    segs.resize(kTxSegs);
    for (io::Packet& p : segs) pool.attach(p);
    rbuf.reset(new uint8_t[io::kVnetHdrLen + kMaxPacket]);
  }
};

ssize_t WgEngine::drain_tun(TunReader& r, core::AllowedIps::Reader& reader, LoopSink& sink) {
  ssize_t read = 0;
  if (!tun_.vnet_hdr()) {
    while (running_) {
      r.pool.fill(r.batch);
      io::IoResult res = tun_.read_batch(r.batch);
      if (res.status == io::IoStatus::kGone) return -1;
      if (!r.batch.count) return read;
      read += static_cast<ssize_t>(r.batch.count);
      process_tx_batch(r.pool, r.batch.pkts, r.batch.count, reader, sink);
    }
    return read;
  }
  // Each read is one packet or one TCP super-packet (TSO) behind a virtio header: split it into
  // ordinary packets in the segment slabs, and encrypt and send once the batch is full or the TUN is drained.
  const size_t rcap = io::kVnetHdrLen + kMaxPacket;
  for (;;) {
    const ssize_t got = running_ ? tun_.read_one(r.rbuf.get(), rcap) : -EAGAIN;
    if (got < 0) {
      if (r.n) process_tx_batch(r.pool, r.segs.data(), r.n, reader, sink), r.n = 0;
      if (got == -EAGAIN) return read;
      if (got == -EBADFD || got == -EIO || got == -ENODEV) return -1;
      continue;
    }
    if (static_cast<size_t>(got) <= io::kVnetHdrLen) continue;
    io::vnet::Hdr h;
    std::memcpy(&h, r.rbuf.get(), sizeof h);
    const uint8_t* pkt = r.rbuf.get() + io::kVnetHdrLen;
    const size_t len = static_cast<size_t>(got) - io::kVnetHdrLen;
    const size_t need = io::vnet::segment_count(h, pkt, len);
    if (need == 0 || need > kTxSegs) {
      tun_read_invalid_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (need > kTxSegs - r.n) process_tx_batch(r.pool, r.segs.data(), r.n, reader, sink), r.n = 0;
    const size_t k = io::vnet::gso_split(h, pkt, len, r.segs.data() + r.n, kTxSegs - r.n);
    if (k == 0) tun_read_invalid_.fetch_add(1, std::memory_order_relaxed);
    if (k && h.gso_type == io::vnet::kGsoUdpL4) tun_udp_superpackets_.fetch_add(1, std::memory_order_relaxed);
    r.n += k;
    read += static_cast<ssize_t>(k);
    if (r.n == kTxSegs) process_tx_batch(r.pool, r.segs.data(), r.n, reader, sink), r.n = 0;
  }
}

int WgEngine::open_pollers() {
  if (tun_.fd() >= 0) {
    if (int rc = tx_poller_.open(); rc < 0) return rc;
    if (int rc = shared_loop_ ? 0 : tx_poller_.add(tun_.fd(), EPOLLIN, kTunToken); rc < 0) return rc;
  }
  if (!bind_) return 0;
  if (int rc = rx_poller_.open(); rc < 0) return rc;
  io::UdpSocket* socks[2] = {&bind_->v4(), &bind_->v6()};
  for (uint64_t i = 0; i < 2; i++)
    if (int rc = socks[i]->is_open() ? rx_poller_.add(socks[i]->fd(), EPOLLIN, i) : 0; rc < 0) return rc;
  return shared_loop_ ? rx_poller_.add(tun_.fd(), EPOLLIN, kTunToken) : 0;
}

ssize_t WgEngine::read_tun(TunReader& r, core::AllowedIps::Reader& reader, LoopSink& sink) {
  std::lock_guard<std::mutex> lock(tun_read_mu_);
  return drain_tun(r, reader, sink);
}

// The TUN changes hands: `from` stops watching it, `to` is woken to start. Only the owner reads it, so
// its readiness wakes one thread, never both.
void WgEngine::hand_tun(io::Poller& from, io::Poller& to, bool to_tx) {
  from.remove(tun_.fd());
  (to_tx ? tun_handoffs_to_tx_ : tun_handoffs_to_rx_).fetch_add(1, std::memory_order_relaxed);
  tun_to_tx_.store(to_tx, std::memory_order_release);
  to.wake();
}

void WgEngine::tx_loop() {
  core::AllowedIps::Reader reader(allowed_);
  LoopSink sink(*this, &reader);
  TunReader r(tun_.vnet_hdr());
  epoll_event ev[4];
  bool mine = !shared_loop_;
  bool watched = mine;  // the TUN is in this loop's epoll set (open_pollers put it there unless shared)
  int light = 0;        // consecutive drains below kBusyPackets
  while (running_) {
    if (!mine && tun_to_tx_.load(std::memory_order_acquire)) {
      mine = true;
      // If epoll cannot take it (out of memory), the TUN is kept and read every millisecond instead.
      watched = tx_poller_.add(tun_.fd(), EPOLLIN, kTunToken) == 0;
    }
    if (mine) {
      tx_idle_.store(false, std::memory_order_relaxed);
      const ssize_t got = read_tun(r, reader, sink);
      tx_idle_.store(true, std::memory_order_release);
      if (got < 0) {
        post("interface-gone", nullptr, tun_.name());
        return;
      }
      light = static_cast<size_t>(got) < kBusyPackets ? light + 1 : 0;
    }
    const int n = tx_poller_.wait(ev, 4, mine && !watched ? 1 : mine && shared_loop_ ? kQuietMs : -1);
    // Quiet or light traffic: give the TUN back to the receive loop, which then sends replies and
    // requests itself, one thread wake-up per packet instead of two.
    if (mine && watched && shared_loop_ && (n == 0 || light >= kLightDrains)) {
      hand_tun(tx_poller_, rx_poller_, false);
      mine = watched = false;
      light = 0;
    }
  }
}

// After the receive loop writes to the TUN, a reply (ICMP echo, a TCP ACK, a request's answer) is often
// already waiting there: the kernel answers within the write. If the transmit loop is asleep, sending
// it from here saves the wake-up of another thread on the round trip. The lock keeps reads and sends
// of the TUN in one order; the transmit loop's own wake-up then finds the TUN drained.
void WgEngine::answer_from_rx(TunReader& r, core::AllowedIps::Reader& reader, LoopSink& sink) {
  if (!tx_idle_.load(std::memory_order_acquire)) return;
  std::unique_lock<std::mutex> lock(tun_read_mu_, std::try_to_lock);
  if (!lock.owns_lock()) return;
  drain_tun(r, reader, sink);  // an interface gone is reported by the transmit loop
}

void WgEngine::process_tx_batch(const io::PacketPool& pool, io::Packet* pkts, size_t count,
                                core::AllowedIps::Reader& reader, LoopSink& sink) {
  sink.begin(&pool);
  uint64_t t = now();
  wg::Packet run[kTxSegs];
  size_t n = 0;
  wg::Peer* run_peer = nullptr;
  auto flush_run = [&] {
    if (n && run_peer) device_->encrypt(*run_peer, run, n, t, sink);
    n = 0;
  };
  {
    core::AllowedIps::ReadGuard guard(reader);
    for (size_t i = 0; i < count; i++) {
      io::Packet& p = pkts[i];
      auto* peer = static_cast<wg::Peer*>(allowed_.lookup_dst(guard, p.data, p.len));
      if (!peer) {
        no_route_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      if (peer != run_peer) flush_run();
      run_peer = peer;
      run[n++] = wg::Packet{p.data - wg::kTransportHeaderSize, p.len, wg::kTransportHeaderSize + p.cap + io::kTailroom};
    }
    flush_run();
  }
  sink.flush();
}

// The receive loop; while traffic from the TUN is light it also owns the TUN (see the header).
void WgEngine::rx_loop() {
  io::UdpSocket* socks[2] = {&bind_->v4(), &bind_->v6()};
  core::AllowedIps::Reader reader(allowed_);
  LoopSink sink(*this, &reader);
  io::PacketPool pool;
  pool.init(io::kBatchSize, kMaxPacket);
  io::Batch batch;
  std::unique_ptr<TunReader> replies;
  if (tun_.fd() >= 0 && (rx_answers_ || shared_loop_)) replies = std::make_unique<TunReader>(tun_.vnet_hdr());
  bool mine = shared_loop_;  // the TUN is watched here
  epoll_event ev[4];
  while (running_) {
    const int n = rx_poller_.wait(ev, 4, -1);
    bool tun_ready = false;
    if (shared_loop_ && !mine && !tun_to_tx_.load(std::memory_order_acquire)) {
      tun_ready = mine = rx_poller_.add(tun_.fd(), EPOLLIN, kTunToken) == 0;
      if (!mine) hand_tun(rx_poller_, tx_poller_, true);  // epoll out of memory: the tx loop keeps it
    }
    for (int i = 0; i < n && running_; i++) {
      const uint64_t token = ev[i].data.u64;
      if (token == kTunToken) tun_ready = true;
      if (token > 1) continue;
      // Level-triggered: one batch per readiness; a socket with more is reported again at once.
      pool.fill(batch);
      socks[token]->recv_batch(batch);
      if (!batch.count || !process_rx_batch(pool, batch, reader, sink) || !replies) continue;
      if (mine)
        tun_ready = true;
      else if (rx_answers_)
        answer_from_rx(*replies, reader, sink);
    }
    if (!mine || !tun_ready || !running_) continue;
    const ssize_t got = read_tun(*replies, reader, sink);
    // Heavy traffic from the TUN (or the interface gone, which the transmit loop reports): the
    // transmit loop takes it, so encryption and decryption run on two cores.
    if (got < 0 || static_cast<size_t>(got) >= kBusyPackets) {
      hand_tun(rx_poller_, tx_poller_, true);
      mine = false;
    }
  }
}

bool WgEngine::process_rx_batch(const io::PacketPool& pool, io::Batch& in, core::AllowedIps::Reader&, LoopSink& sink) {
  sink.begin(&pool);
  uint64_t t = now();
  bool queued = false;
  rx_datagrams_.clear();
  auto one = [&](const wg::Endpoint& src, uint8_t* data, size_t len) {
    wg::MessageType type = wg::Device::classify(data, len);
    if (type == wg::MessageType::kInitiation || type == wg::MessageType::kResponse ||
        type == wg::MessageType::kCookieReply) {
      queued |= queue_handshake(src, data, len);
      return;
    }
    // With crypto workers the batch is collected and opened in parallel (Device::receive_batch).
    if (workers_)
      rx_datagrams_.emplace_back(src, data, len);
    else
      device_->receive(src, data, len, t, sink);
  };
  for (size_t i = 0; i < in.count; i++) {
    io::Packet& p = in.pkts[i];
    const wg::Endpoint src = to_core(p.ep);
    if (!p.gso_size) {
      one(src, p.data, p.len);
      continue;
    }
    // UDP GRO: equal-size datagrams back to back (the last may be shorter), each decrypted in place.
    for (size_t off = 0; off < p.len; off += p.gso_size) one(src, p.data + off, std::min<size_t>(p.gso_size, p.len - off));
  }
  if (workers_) device_->receive_batch(rx_datagrams_.data(), rx_datagrams_.size(), t, sink);
  const bool delivered = sink.flush();
  if (queued) hs_cv_.notify_one();
  return delivered;
}

bool WgEngine::queue_handshake(const wg::Endpoint& src, const uint8_t* data, size_t len) {
  std::lock_guard<std::mutex> lock(hs_mu_);
  if (hs_queue_.size() >= kHandshakeQueueMax) {
    hs_queue_dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  HandshakeItem& item = hs_queue_.emplace_back();
  item.src = src;
  item.len = static_cast<uint16_t>(len);
  std::memcpy(item.data, data, len);
  return true;
}

void WgEngine::handshake_loop() {
  core::AllowedIps::Reader reader(allowed_);
  LoopSink sink(*this, &reader);
  std::unique_lock<std::mutex> lock(hs_mu_);
  while (!hs_stop_) {
    uint64_t t = now();
    uint64_t deadline = std::min(device_->next_deadline(), t + kMaxTimerSleepNs);
    if (hs_queue_.empty() && deadline > t)
      hs_cv_.wait_for(lock, std::chrono::nanoseconds(deadline - t));
    if (hs_stop_) break;
    // Replies go out in one sendmmsg per drained run rather than one send per handshake.
    sink.begin(nullptr);
    while (!hs_queue_.empty()) {
      HandshakeItem item = hs_queue_.front();
      hs_queue_.pop_front();
      size_t backlog = hs_queue_.size();
      lock.unlock();
      t = now();
      device_->set_handshake_backlog(backlog, t);
      device_->receive(item.src, item.data, item.len, t, sink);
      lock.lock();
    }
    lock.unlock();
    device_->tick(now(), sink);
    sink.flush();
    allowed_.reclaim();
    lock.lock();
  }
}

int WgEngine::rebind(const DeviceChange& change, std::string* err) {
  uint16_t current = bind_ ? bind_->port() : 0;
  uint16_t port = change.listen_port.value_or(current);
  uint32_t mark = change.fwmark.value_or(fwmark_);
  bool need_bind = !bind_ || (change.listen_port && (*change.listen_port != current || *change.listen_port == 0));
  if (!need_bind) {
    if (change.fwmark && bind_->set_mark(mark) < 0) {
      *err = "cannot set fwmark";
      return -EADDRINUSE;
    }
    fwmark_ = mark;
    return 0;
  }
  io::UdpConfig cfg;
  cfg.port = port;
  cfg.fwmark = mark;
  cfg.gso = env_switch("GRIDWIRE_UDP_GSO");
  cfg.gro = env_switch("GRIDWIRE_UDP_GRO");
  cfg.mmsg = env_switch("GRIDWIRE_UDP_MMSG");
  auto fresh = std::make_unique<io::UdpBind>();
  if (int rc = fresh->open(cfg); rc < 0) {
    *err = "cannot bind UDP port " + std::to_string(port) + ": " + std::strerror(-rc);
    return -EADDRINUSE;
  }
  stop_loops();
  bind_ = std::move(fresh);
  fwmark_ = mark;
  if (int rc = start_loops(); rc < 0) post("error", nullptr, std::string("cannot restart the data loops: ") + std::strerror(-rc));
  return 0;
}

void WgEngine::remove_peer(const Key& pub) {
  wg::PeerRef peer = device_->find_peer(pub.data());
  if (!peer) return;
  allowed_.remove_peer(peer.get());
  device_->remove_peer(pub.data());
  // The data loops may still hold the raw pointer from a lookup: free it only after their grace period.
  auto* keep = new wg::PeerRef(peer);
  allowed_.retire([](void* p) { delete static_cast<wg::PeerRef*>(p); }, keep);
  preshared_keys_.erase(pub);
}

void WgEngine::remove_all_peers() {
  for (const wg::PeerRef& p : device_->peers()) {
    Key k;
    std::memcpy(k.data(), p->public_key(), k.size());
    remove_peer(k);
  }
}

void WgEngine::apply_peer(const PeerChange& pc, uint64_t t, LoopSink& sink) {
  if (pc.remove) return remove_peer(pc.public_key);
  wg::PeerRef peer = device_->find_peer(pc.public_key.data());
  if (!peer) {
    if (pc.update_only) return;
    peer = device_->add_peer(pc.public_key.data());
    if (!peer) return;  // our own public key: ignored, as wireguard-go does
  }
  if (pc.preshared_key) {
    device_->set_preshared_key(*peer, pc.preshared_key->data());
    if (is_zero(*pc.preshared_key))
      preshared_keys_.erase(pc.public_key);
    else
      preshared_keys_[pc.public_key] = *pc.preshared_key;
  }
  if (pc.endpoint) device_->set_endpoint(*peer, to_core(*pc.endpoint));
  if (pc.replace_allowed_ips) allowed_.remove_peer(peer.get());
  for (const core::IpPrefix& p : pc.add_allowed_ips) allowed_.insert(peer.get(), p);
  for (const core::IpPrefix& p : pc.remove_allowed_ips) allowed_.remove_prefix(peer.get(), p);
  if (pc.persistent_keepalive) device_->set_persistent_keepalive(*peer, *pc.persistent_keepalive, t, sink);
}

int WgEngine::configure(const DeviceChange& change, std::string* err) {
  std::lock_guard<std::mutex> lock(config_mu_);
  if (!device_) {
    *err = "engine not started";
    return -EINVAL;
  }
  // The only step that can fail comes first, so a failure leaves everything as it was.
  if (change.listen_port || change.fwmark || !bind_)
    if (int rc = rebind(change, err); rc < 0) return rc;
  if (change.private_key) {
    // Reported back clamped, as wireguard-go and the kernel do.
    Key key = *change.private_key;
    if (!is_zero(key)) crypto::x25519_clamp(key.data());
    // The core drops a peer whose key becomes our own; take it out of the trie first.
    Key pub;
    if (!is_zero(key) && crypto::x25519_public(key.data(), pub.data())) remove_peer(pub);
    device_->set_private_key(key.data());
    private_key_ = is_zero(key) ? std::nullopt : std::optional<Key>(key);
  }
  if (change.replace_peers) remove_all_peers();
  core::AllowedIps::Reader reader(allowed_);
  LoopSink sink(*this, &reader);
  sink.begin(nullptr);
  uint64_t t = now();
  for (const PeerChange& pc : change.peers) apply_peer(pc, t, sink);
  sink.flush();
  hs_cv_.notify_all();
  return 0;
}

std::optional<Key> WgEngine::private_key() const {
  std::lock_guard<std::mutex> lock(config_mu_);
  return private_key_;
}

uint16_t WgEngine::listen_port() const {
  std::lock_guard<std::mutex> lock(config_mu_);
  return bind_ ? bind_->port() : 0;
}

uint32_t WgEngine::fwmark() const {
  std::lock_guard<std::mutex> lock(config_mu_);
  return fwmark_;
}

std::vector<PeerInfo> WgEngine::peers() const {
  std::lock_guard<std::mutex> lock(config_mu_);
  std::vector<PeerInfo> out;
  if (!device_) return out;
  for (const wg::PeerRef& p : device_->peers()) {
    PeerInfo info;
    std::memcpy(info.public_key.data(), p->public_key(), 32);
    if (auto it = preshared_keys_.find(info.public_key); it != preshared_keys_.end()) info.preshared_key = it->second;
    wg::Endpoint ep = p->endpoint();
    if (ep.valid()) info.endpoint = format(ep);
    info.stats = p->stats();
    info.persistent_keepalive = p->persistent_keepalive();
    info.allowed_ips = allowed_.prefixes_of(p.get());
    out.push_back(std::move(info));
  }
  return out;
}

namespace {

// An IPv4/UDP packet with a valid header checksum (the receiver checks only addresses and lengths).
size_t build_ipv4_udp(const uint8_t src[4], const uint8_t dst[4], size_t payload, uint8_t* out) {
  const size_t len = 28 + payload;
  std::memset(out, 0x5a, len);
  const uint8_t ip[20] = {0x45, 0, uint8_t(len >> 8), uint8_t(len), 0, 0, 0, 0, 64, IPPROTO_UDP, 0, 0,
                          src[0], src[1], src[2], src[3], dst[0], dst[1], dst[2], dst[3]};
  std::memcpy(out, ip, sizeof ip);
  const uint16_t sum = static_cast<uint16_t>(~io::vnet::csum_fold(io::vnet::csum_add(0, out, 20)));
  std::memcpy(out + 10, &sum, sizeof sum);
  const uint8_t udp[8] = {0x9c, 0x40, 0, 9, uint8_t((8 + payload) >> 8), uint8_t(8 + payload), 0, 0};
  std::memcpy(out + 20, udp, sizeof udp);
  return len;
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace

WgEngine::InjectResult WgEngine::inject(const uint8_t src[4], const uint8_t dst[4], size_t payload, double seconds) {
  std::lock_guard<std::mutex> lock(config_mu_);
  InjectResult r;
  if (!bind_ || !running_ || payload + 28 > static_cast<size_t>(options_.mtu)) return r;
  std::vector<uint8_t> tmpl(28 + payload);
  const size_t len = build_ipv4_udp(src, dst, payload, tmpl.data());
  core::AllowedIps::Reader reader(allowed_);
  LoopSink sink(*this, &reader);
  io::PacketPool pool;
  pool.init(io::kBatchSize, kMaxPacket);
  io::Batch batch;
  const double cpu0 = thread_cpu_seconds();
  const uint64_t end = now() + static_cast<uint64_t>(seconds * 1e9);
  while (now() < end) {
    pool.fill(batch);
    for (io::Packet& p : batch.pkts) p.rewind(), std::memcpy(p.data, tmpl.data(), len), p.len = static_cast<uint32_t>(len);
    process_tx_batch(pool, batch.pkts, io::kBatchSize, reader, sink);
    r.packets += io::kBatchSize;
  }
  r.cpu_seconds = thread_cpu_seconds() - cpu0;
  return r;
}

std::vector<std::pair<std::string, uint64_t>> WgEngine::counters() const {
  static const char* kDropNames[] = {
      "invalid_message", "no_private_key", "mac1", "cookie_reply_sent", "rate_limited", "handshake_decrypt",
      "unknown_peer", "handshake_replay", "unknown_index", "cookie_reply_invalid", "keypair_expired", "decrypt",
      "replay", "invalid_inner_packet", "source_not_allowed", "no_endpoint", "buffer_too_small", "staged_overflow",
      "staged_dropped", "no_session", "peer_removed"};
  static_assert(sizeof kDropNames / sizeof *kDropNames == static_cast<size_t>(wg::DropReason::kCount));
  std::vector<std::pair<std::string, uint64_t>> out;
  if (device_)
    for (size_t i = 0; i < static_cast<size_t>(wg::DropReason::kCount); i++)
      out.emplace_back(std::string("drop_") + kDropNames[i], device_->drop_count(static_cast<wg::DropReason>(i)));
  out.emplace_back("drop_no_route", no_route_.load());
  out.emplace_back("drop_handshake_queue_full", hs_queue_dropped_.load());
  out.emplace_back("tun_write_errors", tun_write_errors_.load());
  out.emplace_back("tun_read_invalid", tun_read_invalid_.load());
  out.emplace_back("tun_udp_superpackets", tun_udp_superpackets_.load());
  out.emplace_back("delivered_without_tun", delivered_without_tun_.load());
  out.emplace_back("tun_handoffs_to_tx", tun_handoffs_to_tx_.load());
  out.emplace_back("tun_handoffs_to_rx", tun_handoffs_to_rx_.load());
  out.emplace_back("parallel_batches", device_ ? device_->parallel_batches() : 0);
  return out;
}

}  // namespace gw::engine
