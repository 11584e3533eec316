#include "../util/hex.h"
#include "planetary_engine.h"

#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "../core/planetary/address.h"
#include "../crypto/curve.h"
#include "../io/tcp.h"
#include "../util/env.h"
#include "../util/thread_name.h"

namespace gw::engine {

using planetary::Bytes;
using planetary::LinkError;

namespace {

constexpr uint64_t kTokenWake = 1ull << 56;
constexpr uint64_t kTokenTun = 2ull << 56;
constexpr uint64_t kTokenListener = 3ull << 56;
constexpr uint64_t kTokenConn = 4ull << 56;
constexpr uint64_t kTokenMask = 0xffull << 56;
constexpr uint64_t kFirstBackoff = planetary::kSecond;
constexpr uint64_t kMaxBackoff = 60 * planetary::kSecond;
constexpr uint64_t kConnectTimeout = 10 * planetary::kSecond;
constexpr size_t kReadChunk = 256 * 1024;  // several whole 64 KiB frames per read, each handed on in place
constexpr size_t kDirectWriteMin = 16 * 1024;
constexpr int kTunReadsPerWake = 64;
constexpr size_t kMaxBacklog = 4 << 20;

// Go's text of a TCP address, which Endpoint::format matches: a link-local zone is the interface's name
// (its number once the interface is gone), [fe80::1%eth0]:5000.
std::string format(const io::Endpoint& e) {
  char buf[io::Endpoint::kMaxText];
  return e.format(buf, sizeof buf) ? std::string(buf) : std::string("?");
}

// yggdrasil names an inbound link by Go's URL of the remote address, the zone escaped:
// tls://[fe80::1%25eth0]:5000.
std::string url_host(const io::Endpoint& e) {
  std::string text = format(e);
  size_t pct = text.find('%');
  return pct == std::string::npos ? text : text.insert(pct + 1, "25");
}

std::string hex(const Key& k) { return to_hex(k.data(), k.size()); }

// yggdrasil's "Disconnected" line names the error unless the link just ended (EOF, closed by either side).
bool closed_cleanly(const std::string& reason) {
  return reason == "closed by peer" || reason == "link closed" || reason == "peer removed";
}

// yggdrasil's log text for a link that came up: "outbound: 201:…@10.0.0.2:7000, source 10.0.0.1:50644".
std::string link_log_text(int fd, bool inbound, const Key& peer) {
  sockaddr_storage remote{}, local{};
  socklen_t rlen = sizeof remote, llen = sizeof local;
  io::Endpoint r, l;
  getpeername(fd, reinterpret_cast<sockaddr*>(&remote), &rlen);
  getsockname(fd, reinterpret_cast<sockaddr*>(&local), &llen);
  io::Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&remote), rlen, &r);
  io::Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&local), llen, &l);
  planetary::Address a = planetary::address_for_key(peer);
  char addr[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, a.data(), addr, sizeof addr);
  return std::string(inbound ? "inbound: " : "outbound: ") + addr + "@" + format(r) + ", source " + format(l);
}

// How Go's net.Dial starts its error text: "dial tcp 10.0.0.2:7000: ".
std::string dialing(const io::Endpoint& e) { return "dial tcp " + format(e) + ": "; }

// yggdrasil 0.5.12's words for a failed dial: its own for a source interface it cannot dial from,
// else Go's net.OpError, "dial tcp 10.0.0.1:7000: connect: connection refused" (Go's errno texts are
// the C library's, lower-cased).
std::string dial_error(const PlanetaryLinkSpec& spec, int err) {
  const std::string q = "\"" + spec.sintf + "\"";
  if (!spec.sintf.empty() && err == -ENODEV) return "interface " + q + " not found";
  if (!spec.sintf.empty() && err == -ENETDOWN) return "interface " + q + " is not up";
  if (!spec.sintf.empty() && err == -EADDRNOTAVAIL) return "no suitable source address found on interface " + q;
  std::string text = std::strerror(-err);
  text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return dialing(spec.endpoint) + "connect: " + text;
}

}  // namespace

// A transport connection and the Link speaking over it.
struct PlanetaryEngine::Conn final : planetary::LinkSink {
  PlanetaryEngine& engine;
  LinkId id;
  int fd;
  bool inbound;
  PlanetaryLinkSpec spec;
  Dialer* dialer;
  planetary::Link link;
  std::unique_ptr<io::TlsConn> tls;
  bool connecting = false;
  bool link_started = false;
  bool is_up = false;
  bool dead = false;
  std::string reason;
  std::string remote;
  std::string log_text;  // set when the link comes up
  std::vector<uint8_t> out;
  size_t out_off = 0;
  uint64_t rx = 0, tx = 0, since = 0, connect_deadline = 0;
  uint64_t rx_rate = 0, tx_rate = 0, rx_sampled = 0, tx_sampled = 0;
  uint32_t armed = 0;

  Conn(PlanetaryEngine& e, LinkId i, int f, bool in, const PlanetaryLinkSpec& s, Dialer* d)
      : engine(e), id(i), fd(f), inbound(in), spec(s), dialer(d),
        link(e.identity_, s.options, in ? planetary::LinkDirection::kInbound : planetary::LinkDirection::kOutbound) {}

  // How yggdrasil names a link in getPeers: the configured URI, or scheme://remote for inbound links.
  std::string name() const { return inbound ? std::string(spec.tls ? "tls://" : "tcp://") + remote : spec.uri; }

  void write(Bytes head, Bytes body) override {
    size_t sent = write_direct(head, body);
    if (sent < head.size()) out.insert(out.end(), head.begin() + sent, head.end());
    sent = sent > head.size() ? sent - head.size() : 0;
    out.insert(out.end(), body.begin() + sent, body.end());
  }
  // A large frame with nothing queued before it goes to the socket at once by writev, instead of being
  // copied into `out` first. Returns the bytes written; an error is left for flush() to find.
  size_t write_direct(Bytes head, Bytes body) {
    if (!engine.direct_write_ || body.size() < kDirectWriteMin || out_off != out.size() || connecting || tls || dead)
      return 0;
    iovec iov[2] = {{const_cast<uint8_t*>(head.data()), head.size()}, {const_cast<uint8_t*>(body.data()), body.size()}};
    ssize_t n = io::tcp_writev(fd, iov, 2);
    if (n <= 0) return 0;
    tx += static_cast<size_t>(n);
    return static_cast<size_t>(n);
  }
  void up(const Key& peer, uint8_t priority) override;
  void frame(Bytes f) override;
  void close(LinkError, const char* why) override {
    dead = true;
    reason = why;
  }
};

// The sinks between the cores: each layer's output is the next layer's input, on the loop thread.
class PlanetaryEngine::RouterGlue final : public planetary::RouterSink {
 public:
  explicit RouterGlue(PlanetaryEngine& e) : e_(e) {}
  void send_frame(LinkId link, const uint8_t* frame, size_t len) override;
  void deliver(const Key& source, const uint8_t* payload, size_t len) override;
  void path_found(const Key& key) override;
  void close_link(LinkId link, const char* reason) override;

 private:
  PlanetaryEngine& e_;
};

class PlanetaryEngine::SessionGlue final : public planetary::SessionSink {
 public:
  explicit SessionGlue(PlanetaryEngine& e) : e_(e) {}
  void send_traffic(const Key& dest, const uint8_t* data, size_t len) override;
  void deliver(const Key& source, const uint8_t* msg, size_t len) override;

 private:
  PlanetaryEngine& e_;
};

class PlanetaryEngine::PayloadGlue final : public planetary::PayloadSink {
 public:
  explicit PayloadGlue(PlanetaryEngine& e) : e_(e) {}
  void send_message(const Key& dest, uint8_t* msg, size_t len) override;
  void lookup(const Key& partial) override;
  void write_tun(const uint8_t* packet, size_t len) override;
  void proto_response(const Key& from, planetary::ProtoRequest kind, const uint8_t* data, size_t len) override {
    static const char* kKinds[] = {"nodeinfo", "getself", "getpeers", "gettree"};
    e_.post("proto-response", std::string(kKinds[static_cast<int>(kind)]) + " " + hex(from) + " " + to_hex(data, len));
  }
  uint64_t routing_entries() override { return e_.router_->self_info().routing_entries; }
  void peer_keys(std::vector<Key>* out) override {
    for (const auto& p : e_.router_->peers()) out->push_back(p.key);
  }
  void tree_keys(std::vector<Key>* out) override {
    for (const auto& t : e_.router_->tree()) out->push_back(t.key);
  }

 private:
  PlanetaryEngine& e_;
};

void PlanetaryEngine::RouterGlue::send_frame(LinkId link, const uint8_t* frame, size_t len) {
  auto it = e_.conns_.find(link);
  if (it == e_.conns_.end() || it->second->dead) return;
  Conn& c = *it->second;
  // A peer that stops reading must not grow our memory without bound: beyond this backlog, routed
  // packets are dropped (as yggdrasil's queue drops them); control frames still go out.
  if (c.out.size() - c.out_off > kMaxBacklog && len && frame[0] >= planetary::kFramePathLookup) return;
  c.link.send_frame(Bytes(frame, len), e_.now_, c);
}

void PlanetaryEngine::RouterGlue::deliver(const Key& source, const uint8_t* payload, size_t len) {
  e_.sessions_->receive(source, payload, len, e_.now_, *e_.session_sink_);
}

void PlanetaryEngine::RouterGlue::path_found(const Key& key) {
  e_.payload_->path_found(key, e_.now_, *e_.payload_sink_);
}

void PlanetaryEngine::RouterGlue::close_link(LinkId link, const char* reason) {
  auto it = e_.conns_.find(link);
  if (it != e_.conns_.end()) e_.kill(*it->second, std::string("protocol violation: ") + reason);
}

void PlanetaryEngine::SessionGlue::send_traffic(const Key& dest, const uint8_t* data, size_t len) {
  e_.router_->send_traffic(dest, data, len, e_.now_, *e_.router_sink_);
}

void PlanetaryEngine::SessionGlue::deliver(const Key& source, const uint8_t* msg, size_t len) {
  e_.payload_->from_network(source, msg, len, e_.now_, *e_.payload_sink_);
}

void PlanetaryEngine::PayloadGlue::send_message(const Key& dest, uint8_t* msg, size_t len) {
  e_.sessions_->send(dest, msg, len, e_.now_, *e_.session_sink_);
}

void PlanetaryEngine::PayloadGlue::lookup(const Key& partial) { e_.router_->lookup(partial, e_.now_, *e_.router_sink_); }

void PlanetaryEngine::PayloadGlue::write_tun(const uint8_t* packet, size_t len) {
  if (e_.tun_.fd() < 0) return;
  (void)!::write(e_.tun_.fd(), packet, len);
  e_.wrote_tun_ = true;
}

void PlanetaryEngine::Conn::up(const Key& peer, uint8_t priority) {
  const auto& allowed = engine.options_.allowed_keys;
  if (inbound && !spec.multicast && !allowed.empty() && std::find(allowed.begin(), allowed.end(), peer) == allowed.end()) {
    link.stop();
    dead = true;
    reason = "key not in AllowedPublicKeys";
    return;
  }
  is_up = true;
  since = engine.now_;
  if (dialer) dialer->backoff = 0;
  engine.router_->add_link(id, peer, priority, engine.now_, *engine.router_sink_);
  log_text = link_log_text(fd, inbound, peer);
  engine.post("peer-up", log_text);
}

void PlanetaryEngine::Conn::frame(Bytes f) {
  engine.router_->handle_frame(id, f.data(), f.size(), engine.now_, *engine.router_sink_);
}

PlanetaryEngine::PlanetaryEngine() = default;

PlanetaryEngine::~PlanetaryEngine() { stop(); }

uint64_t PlanetaryEngine::now() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void PlanetaryEngine::post(const std::string& type, const std::string& detail) {
  if (options_.on_event) options_.on_event(type, detail);
}

int PlanetaryEngine::start(PlanetaryOptions options, std::string* err) {
  options_ = std::move(options);
  std::memcpy(identity_.seed, options_.seed, 32);
  if (!crypto::ed25519_public(identity_.seed, identity_.public_key.data())) {
    *err = "invalid private key";
    return -EINVAL;
  }
  tls_ = std::make_unique<io::TlsContext>();
  if (const char* e = tls_->init(identity_.seed)) {
    *err = std::string("TLS: ") + e;
    return -EINVAL;
  }
  int64_t unix_offset_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::system_clock::now().time_since_epoch()).count() -
                           static_cast<int64_t>(now());
  planetary::RouterConfig rc;
  rc.unix_offset_seconds = unix_offset_ns / static_cast<int64_t>(planetary::kSecond);
  router_ = std::make_unique<planetary::Router>(identity_.seed, rc);
  planetary::SessionsConfig sc;
  sc.unix_offset_ns = static_cast<uint64_t>(unix_offset_ns);
  sessions_ = std::make_unique<planetary::Sessions>(identity_.seed, sc);
  payload_ = std::make_unique<planetary::Payload>(identity_.public_key, static_cast<size_t>(options_.mtu));
  if (!options_.nodeinfo.empty()) payload_->set_nodeinfo(options_.nodeinfo);
  direct_write_ = env_switch("GRIDWIRE_PLANETARY_DIRECT_WRITE");
  rx_buf_.resize(env_switch("GRIDWIRE_PLANETARY_BIG_READS") ? kReadChunk : 64 * 1024);
  send_first_ = env_switch("GRIDWIRE_PLANETARY_SEND_FIRST");
  short_reads_ = env_switch("GRIDWIRE_PLANETARY_SHORT_READS");
  tun_answers_ = env_switch("GRIDWIRE_PLANETARY_TUN_ANSWERS");
  router_sink_ = std::make_unique<RouterGlue>(*this);
  session_sink_ = std::make_unique<SessionGlue>(*this);
  payload_sink_ = std::make_unique<PayloadGlue>(*this);
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epfd_ < 0 || wake_fd_ < 0) {
    *err = std::string("epoll: ") + std::strerror(errno);
    return -errno;
  }
  epoll_event ev{EPOLLIN, {.u64 = kTokenWake}};
  epoll_ctl(epfd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  if (!options_.tun_name.empty()) {
    io::TunConfig cfg;
    cfg.name = options_.tun_name.c_str();
    cfg.mtu = options_.mtu;
    if (int rc2 = tun_.open(cfg); rc2 < 0) {
      *err = "cannot create TUN " + options_.tun_name + ": " + std::strerror(-rc2);
      return rc2;
    }
    tun_buf_.resize(planetary::kPayloadHeadroom + 65535);
    epoll_event tev{EPOLLIN, {.u64 = kTokenTun}};
    epoll_ctl(epfd_, EPOLL_CTL_ADD, tun_.fd(), &tev);
  }
  for (const PlanetaryLinkSpec& spec : options_.listen) {
    if (int rc2 = open_listener(spec, nullptr); rc2 < 0) {
      *err = "cannot listen on " + spec.uri + ": " + std::strerror(-rc2);
      return rc2;
    }
  }
  for (const PlanetaryLinkSpec& spec : options_.peers) dialers_.emplace_back(spec);
  running_ = true;
  name_thread(thread_ = std::thread(&PlanetaryEngine::loop, this), "gw-planet", tun_.name());
  return 0;
}

void PlanetaryEngine::stop() {
  if (running_.exchange(false)) {
    uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
    thread_.join();
  }
  for (auto& [id, c] : conns_) {
    c->tls.reset();
    ::close(c->fd);
  }
  conns_.clear();
  for (Listener& l : listeners_)
    if (l.fd >= 0) ::close(l.fd);
  listeners_.clear();
  tun_.close();
  if (epfd_ >= 0) ::close(epfd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  epfd_ = wake_fd_ = -1;
  // Commands still waiting must not block their callers forever.
  std::lock_guard<std::mutex> lock(cmd_mu_);
  commands_.clear();
  commands_done_ = commands_posted_;
  cmd_cv_.notify_all();
}

void PlanetaryEngine::run(std::function<void()> fn) {
  if (!running_) return;
  std::unique_lock<std::mutex> lock(cmd_mu_);
  commands_.push_back(std::move(fn));
  uint64_t ticket = ++commands_posted_;
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
  cmd_cv_.wait(lock, [&] { return commands_done_ >= ticket || !running_; });
}

void PlanetaryEngine::drain_commands() {
  uint64_t n;
  while (::read(wake_fd_, &n, sizeof n) > 0) {
  }
  for (;;) {
    std::function<void()> fn;
    {
      std::lock_guard<std::mutex> lock(cmd_mu_);
      if (commands_.empty()) return;
      fn = std::move(commands_.front());
      commands_.pop_front();
    }
    now_ = now();
    fn();
    std::lock_guard<std::mutex> lock(cmd_mu_);
    commands_done_++;
    cmd_cv_.notify_all();
  }
}

void PlanetaryEngine::loop() {
  epoll_event events[64];
  while (running_) {
    now_ = now();
    uint64_t deadline = next_deadline();
    int timeout = deadline <= now_ ? 0 : static_cast<int>(std::min<uint64_t>((deadline - now_) / 1'000'000 + 1, 1000));
    int n = epoll_wait(epfd_, events, 64, timeout);
    now_ = now();
    for (int i = 0; i < n; i++) handle_event(events[i].data.u64, events[i].events);
    // The kernel answers much of what we write to the TUN (an echo reply, a TCP ACK) inside that write:
    // reading it now, before timers and the next wait, sends it on sooner and spares the wait a round.
    if (wrote_tun_ && tun_answers_) read_tun();
    wrote_tun_ = false;
    run_timers();
    flush_all();
    sweep();
  }
}

void PlanetaryEngine::handle_event(uint64_t token, uint32_t events) {
  uint64_t kind = token & kTokenMask, index = token & ~kTokenMask;
  if (kind == kTokenWake) return drain_commands();
  if (kind == kTokenTun) return read_tun();
  if (kind == kTokenListener && index < listeners_.size() && listeners_[index].fd >= 0)
    return accept_on(listeners_[index]);
  if (kind == kTokenConn) {
    auto it = conns_.find(index);
    if (it != conns_.end()) on_conn_event(*it->second, events);
  }
}

void PlanetaryEngine::read_tun() {
  uint8_t* pkt = tun_buf_.data() + planetary::kPayloadHeadroom;
  for (int i = 0; i < kTunReadsPerWake; i++) {
    ssize_t n = ::read(tun_.fd(), pkt, 65535);
    if (n <= 0) {
      if (n < 0 && (errno == EBADFD || errno == EIO)) post("interface-gone", options_.tun_name);
      return;
    }
    payload_->from_tun(pkt, static_cast<size_t>(n), now_, *payload_sink_);
    // A lone packet (a ping, a request) leaves before we look for more; the ones after it in the same
    // wake-up are still gathered into one write per link.
    if (i == 0 && send_first_) flush_all();
  }
}

void PlanetaryEngine::flush_all() {
  for (auto& [id, c] : conns_) flush(*c);
}

PlanetaryEngine::Conn* PlanetaryEngine::add_conn(int fd, bool inbound, const PlanetaryLinkSpec& spec,
                                                 Dialer* dialer) {
  LinkId id = next_link_++;
  auto conn = std::make_unique<Conn>(*this, id, fd, inbound, spec, dialer);
  Conn* c = conn.get();
  c->since = now_;
  conns_.emplace(id, std::move(conn));
  c->armed = EPOLLIN | EPOLLOUT;
  epoll_event ev{c->armed, {.u64 = kTokenConn | id}};
  epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
  if (spec.tls) {
    c->tls = std::make_unique<io::TlsConn>();
    const char* sni = spec.sni.empty() ? nullptr : spec.sni.c_str();
    if (const char* e = c->tls->open(*tls_, fd, inbound ? io::TlsRole::kServer : io::TlsRole::kClient, sni)) {
      kill(*c, e);
    }
  }
  return c;
}

int PlanetaryEngine::open_listener(const PlanetaryLinkSpec& spec, uint16_t* port) {
  Listener l;
  l.spec = spec;
  l.fd = io::tcp_listen(spec.endpoint, 64, nullptr);
  if (l.fd < 0) return l.fd;
  l.bound = io::local_endpoint(l.fd);
  if (port) *port = l.bound.port();
  auto slot = std::find_if(listeners_.begin(), listeners_.end(), [](const Listener& x) { return x.fd < 0; });
  size_t index = static_cast<size_t>(slot - listeners_.begin());
  epoll_event lev{EPOLLIN, {.u64 = kTokenListener | index}};
  epoll_ctl(epfd_, EPOLL_CTL_ADD, l.fd, &lev);
  if (slot == listeners_.end()) listeners_.push_back(std::move(l));
  else *slot = std::move(l);
  return 0;
}

void PlanetaryEngine::accept_on(Listener& l) {
  for (;;) {
    io::Endpoint peer;
    int fd = io::tcp_accept(l.fd, &peer);
    if (fd < 0) return;
    Conn* c = add_conn(fd, true, l.spec, nullptr);
    c->remote = url_host(peer);
    if (!c->tls) start_link(*c);
  }
}

void PlanetaryEngine::dial(Dialer& d) {
  int fd = io::tcp_connect(d.spec.endpoint, d.spec.sintf.c_str());
  if (fd < 0) {
    d.last_error = dial_error(d.spec, fd);
    d.last_error_at = now_;
    d.backoff = std::clamp(d.backoff * 2, kFirstBackoff, kMaxBackoff);
    d.next_dial = now_ + d.backoff;
    return;
  }
  Conn* c = add_conn(fd, false, d.spec, &d);
  c->remote = format(d.spec.endpoint);
  c->connecting = true;
  c->connect_deadline = now_ + kConnectTimeout;
  d.conn = c->id;
}

void PlanetaryEngine::start_link(Conn& c) {
  c.link_started = true;
  c.link.start(now_, c);
}

void PlanetaryEngine::on_conn_event(Conn& c, uint32_t events) {
  if (c.dead) return;
  if (c.connecting) {
    int rc = io::tcp_connect_result(c.fd);
    if (rc == -EINPROGRESS) return;
    if (rc < 0) return kill(c, dial_error(c.spec, rc));
    c.connecting = false;
    if (!c.tls) start_link(c);
  }
  if (c.tls && !c.tls->handshake_done()) {
    io::TlsStatus st = c.tls->handshake();
    if (st == io::TlsStatus::kError || st == io::TlsStatus::kClosed)
      return kill(c, std::string("TLS handshake: ") + (c.tls->error() ? c.tls->error() : "closed"));
    if (st != io::TlsStatus::kOk) return;
    start_link(c);
  }
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !pump_reads(c)) return;
  flush(c);
}

bool PlanetaryEngine::pump_reads(Conn& c) {
  uint8_t* buf = rx_buf_.data();
  size_t cap = rx_buf_.size();
  for (;;) {
    size_t got = 0;
    if (c.tls) {
      io::TlsResult r = c.tls->read(buf, cap);
      if (r.status == io::TlsStatus::kWantRead || r.status == io::TlsStatus::kWantWrite) return true;
      if (r.status != io::TlsStatus::kOk) {
        kill(c, r.status == io::TlsStatus::kClosed ? "closed by peer" : "TLS error");
        return false;
      }
      got = r.bytes;
    } else {
      ssize_t n = io::tcp_read(c.fd, buf, cap);
      if (n == -EAGAIN) return true;
      if (n <= 0) {
        kill(c, n == 0 ? "closed by peer" : std::string("read: ") + std::strerror(static_cast<int>(-n)));
        return false;
      }
      got = static_cast<size_t>(n);
    }
    c.rx += got;
    if (!c.link.on_bytes(buf, got, now_, c) || c.dead) {
      if (!c.dead) kill(c, "link closed");
      return false;
    }
    // A short TCP read emptied the socket: asking again would only return EAGAIN. Whatever arrives
    // meanwhile keeps the level-triggered socket readable for the next wait. (TLS may hold decrypted
    // bytes the socket no longer shows, so it reads on.)
    if (short_reads_ && !c.tls && got < cap) return true;
  }
}

// A killed connection gets this one nonblocking pass too, before sweep() closes it: a peer dropped for
// bad input still receives what was queued (our preamble at least), as yggdrasil's blocking write of
// the preamble delivers it before any byte is read.
void PlanetaryEngine::flush(Conn& c) {
  if (c.connecting || (c.tls && !c.tls->handshake_done())) return arm(c);
  while (c.out_off < c.out.size()) {
    const uint8_t* p = c.out.data() + c.out_off;
    size_t len = c.out.size() - c.out_off;
    size_t wrote = 0;
    if (c.tls) {
      io::TlsResult r = c.tls->write(p, len);
      if (r.status == io::TlsStatus::kWantRead || r.status == io::TlsStatus::kWantWrite) break;
      if (r.status != io::TlsStatus::kOk) return kill(c, "TLS write failed");
      wrote = r.bytes;
    } else {
      ssize_t n = io::tcp_write(c.fd, p, len);
      if (n == -EAGAIN) break;
      if (n < 0) return kill(c, std::string("write: ") + std::strerror(static_cast<int>(-n)));
      wrote = static_cast<size_t>(n);
    }
    c.out_off += wrote;
    c.tx += wrote;
  }
  if (c.out_off == c.out.size()) {
    c.out.clear();
    c.out_off = 0;
  }
  arm(c);
}

// Asks for writability only while bytes wait, so an idle connection does not wake the loop.
void PlanetaryEngine::arm(Conn& c) {
  if (c.dead) return;
  bool want_out = c.connecting || (c.tls && !c.tls->handshake_done()) || c.out_off < c.out.size();
  uint32_t want = EPOLLIN | (want_out ? EPOLLOUT : 0u);
  if (want == c.armed) return;
  c.armed = want;
  epoll_event ev{want, {.u64 = kTokenConn | c.id}};
  epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev);
}

void PlanetaryEngine::kill(Conn& c, const std::string& reason) {
  if (c.dead && !c.reason.empty()) return;
  c.dead = true;
  c.reason = reason;
  c.link.stop();
}

void PlanetaryEngine::sweep() {
  for (auto it = conns_.begin(); it != conns_.end();) {
    Conn& c = *it->second;
    if (!c.dead) {
      ++it;
      continue;
    }
    if (c.is_up) router_->remove_link(c.id, now_, *router_sink_);
    if (c.is_up) post("peer-down", c.log_text + (closed_cleanly(c.reason) ? "" : "; error: " + c.reason));
    else post("link-failed", c.name() + ": " + c.reason);
    if (c.dialer) {
      Dialer& d = *c.dialer;
      d.conn = 0;
      d.last_error = c.reason;
      d.last_error_at = now_;
      d.backoff = c.is_up ? kFirstBackoff : std::clamp(d.backoff * 2, kFirstBackoff, kMaxBackoff);
      d.next_dial = now_ + d.backoff;
    }
    epoll_ctl(epfd_, EPOLL_CTL_DEL, c.fd, nullptr);
    if (c.tls) c.tls->shutdown();  // close_notify, as Go's tls.Conn.Close sends
    c.tls.reset();
    ::close(c.fd);
    it = conns_.erase(it);
  }
  // One-shot dials (multicast discoveries) are forgotten once their connection is gone.
  dialers_.remove_if([](const Dialer& d) { return !d.persistent && d.conn == 0 && d.next_dial; });
}

// getPeers' rate_recvd/rate_sent: as yggdrasil 0.5.12, the bytes each link moved in the last second.
void PlanetaryEngine::sample_rates() {
  for (auto& [id, c] : conns_) {
    c->rx_rate = c->rx - c->rx_sampled, c->rx_sampled = c->rx;
    c->tx_rate = c->tx - c->tx_sampled, c->tx_sampled = c->tx;
  }
  next_rate_sample_ = now_ + planetary::kSecond;
}

void PlanetaryEngine::run_timers() {
  if (now_ >= next_rate_sample_) sample_rates();
  router_->tick(now_, *router_sink_);
  sessions_->tick(now_, *session_sink_);
  payload_->tick(now_);
  for (auto& [id, c] : conns_) {
    if (c->dead) continue;
    if (c->connecting && now_ >= c->connect_deadline) {
      kill(*c, dialing(c->spec.endpoint) + "i/o timeout");
      continue;
    }
    if (c->link_started) c->link.tick(now_, *c);
  }
  for (Dialer& d : dialers_)
    if (d.conn == 0 && now_ >= d.next_dial && (d.persistent || d.next_dial == 0)) dial(d);
}

uint64_t PlanetaryEngine::next_deadline() const {
  uint64_t t = std::min({router_->next_deadline(), sessions_->next_deadline(), payload_->next_deadline(), next_rate_sample_});
  for (const auto& [id, c] : conns_) {
    if (c->link_started) t = std::min(t, c->link.next_deadline());
    if (c->connecting) t = std::min(t, c->connect_deadline);
  }
  for (const Dialer& d : dialers_)
    if (d.conn == 0 && (d.persistent || d.next_dial == 0)) t = std::min(t, d.next_dial);
  return t;
}

PlanetarySnapshot PlanetaryEngine::snapshot() {
  PlanetarySnapshot s;
  run([&] {
    s.self = router_->self_info();
    s.tree = router_->tree();
    s.paths = router_->paths();
    sessions_->snapshot(now_, &s.sessions);
    for (const Listener& l : listeners_)
      if (l.fd >= 0) s.listeners.push_back({l.spec.uri, format(l.bound), l.bound.port()});
    if (tun_.fd() >= 0) s.tun_name = tun_.name();
    std::map<LinkId, planetary::RouterPeerInfo> routed;
    for (const auto& p : router_->peers()) routed[p.link] = p;
    for (const auto& [id, c] : conns_) {
      PlanetaryPeerRow row;
      row.uri = c->name();
      row.remote = c->remote;
      row.up = c->is_up;
      row.inbound = c->inbound;
      row.key = c->link.peer_key();
      row.rx_bytes = c->rx;
      row.tx_bytes = c->tx;
      row.uptime_ns = c->is_up ? now_ - c->since : 0;
      row.rx_rate = c->rx_rate;
      row.tx_rate = c->tx_rate;
      if (auto r = routed.find(id); r != routed.end()) {
        row.priority = r->second.priority;
        row.port = r->second.port;
        row.cost = r->second.cost;
        row.latency_ns = r->second.latency;
      }
      s.peers.push_back(std::move(row));
    }
    for (const Dialer& d : dialers_) {
      if (d.conn != 0 || !d.persistent) continue;
      PlanetaryPeerRow row;
      row.uri = d.spec.uri;
      row.remote = format(d.spec.endpoint);
      row.last_error = d.last_error;
      row.last_error_age_ns = d.last_error_at ? now_ - d.last_error_at : 0;
      s.peers.push_back(std::move(row));
    }
  });
  return s;
}

bool PlanetaryEngine::add_peer(const PlanetaryLinkSpec& spec) {
  bool added = false;
  run([&] {
    for (const Dialer& d : dialers_)
      if (d.persistent && d.spec.uri == spec.uri && d.spec.sintf == spec.sintf) return;
    dialers_.emplace_front(spec);
    added = true;
  });
  return added;
}

bool PlanetaryEngine::remove_peer(const std::string& uri, const std::string& sintf) {
  bool removed = false;
  run([&] {
    for (auto it = dialers_.begin(); it != dialers_.end(); ++it) {
      if (!it->persistent || it->spec.uri != uri || it->spec.sintf != sintf) continue;
      if (auto c = conns_.find(it->conn); c != conns_.end()) {
        kill(*c->second, "peer removed");
        c->second->dialer = nullptr;
      }
      dialers_.erase(it);
      removed = true;
      return;
    }
  });
  return removed;
}

void PlanetaryEngine::request(const Key& dest, planetary::ProtoRequest kind) {
  run([&] { payload_->request(dest, kind, now_, *payload_sink_); });
}

void PlanetaryEngine::dial_once(const PlanetaryLinkSpec& spec) {
  run([&] {
    dialers_.emplace_back(spec).persistent = false;
    dial(dialers_.back());
  });
}

int PlanetaryEngine::listen(const PlanetaryLinkSpec& spec, uint16_t* port) {
  int rc = -ESHUTDOWN;  // stays when the engine is stopped and the command never runs
  run([&] { rc = open_listener(spec, port); });
  return rc;
}

bool PlanetaryEngine::stop_listening(const std::string& uri) {
  bool stopped = false;
  run([&] {
    for (Listener& l : listeners_) {
      if (l.fd < 0 || l.spec.uri != uri) continue;
      epoll_ctl(epfd_, EPOLL_CTL_DEL, l.fd, nullptr);
      ::close(l.fd);
      l.fd = -1;
      stopped = true;
      return;
    }
  });
  return stopped;
}

}  // namespace gw::engine
