// The planetary (Yggdrasil 0.5) engine: the sans-IO cores — links (core/planetary/link), the ironwood
// router, end-to-end sessions and the IPv6 payload layer — wired to TCP/TLS connections and a TUN
// device by one event loop thread the engine owns.
//
//   loop thread   epoll over listeners, connections, the TUN and a wake-up eventfd:
//                 socket bytes ─▶ Link (preamble, framing, keepalives) ─▶ Router ─▶ Sessions ─▶ Payload ─▶ TUN
//                 TUN packets  ─▶ Payload ─▶ Sessions ─▶ Router ─▶ Link ─▶ socket
//                 timers of every layer, outbound dials with backoff
//
// Every core object belongs to the loop thread. The JS thread reaches them only through run() (a
// closure executed on the loop, with the caller waiting for it), so the cores need no locks.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../core/planetary/link.h"
#include "../core/planetary/payload.h"
#include "../core/planetary/router.h"
#include "../core/planetary/session.h"
#include "../io/endpoint.h"
#include "../io/tls.h"
#include "../io/tun.h"

namespace gw::engine {

using planetary::Key;
using planetary::LinkId;

// One peering target or listener, parsed and resolved by the control plane.
struct PlanetaryLinkSpec {
  std::string uri;  // as configured: the identity of the peer for addPeer/removePeer and getPeers
  io::Endpoint endpoint;
  bool tls = false;
  std::string sni;  // TLS server name (host names only)
  planetary::LinkOptions options;
  bool multicast = false;  // found by or listening for multicast beacons: exempt from AllowedPublicKeys, as in yggdrasil
  std::string sintf;       // source interface (InterfacePeers, addPeer's interface): dialed out of it only
};

struct PlanetaryOptions {
  uint8_t seed[32] = {};
  std::string tun_name;  // empty: no TUN
  int mtu = 65535;
  std::vector<PlanetaryLinkSpec> listen;
  std::vector<PlanetaryLinkSpec> peers;
  std::vector<Key> allowed_keys;  // inbound links from other keys are refused; empty: all allowed
  std::string nodeinfo;           // NodeInfo response JSON
  double time_scale = 1;
  // Called on the loop thread; must be quick and thread-safe.
  std::function<void(const std::string& type, const std::string& detail)> on_event;
};

// A running listener: its URI as configured and the address it is bound to ("[::]:34685").
struct PlanetaryListenerRow {
  std::string uri;
  std::string address;
  uint16_t port = 0;
};

struct PlanetaryPeerRow {
  std::string uri;     // configured URI, or the remote address for inbound links
  std::string remote;  // ip:port
  bool up = false;
  bool inbound = false;
  Key key{};
  uint8_t priority = 0;
  uint64_t port = 0;
  uint64_t cost = 0;
  uint64_t rx_bytes = 0, tx_bytes = 0;
  uint64_t uptime_ns = 0;
  uint64_t rx_rate = 0, tx_rate = 0;  // bytes in the last whole second
  uint64_t latency_ns = 0;
  std::string last_error;
  uint64_t last_error_age_ns = 0;
};

struct PlanetarySnapshot {
  planetary::RouterSelfInfo self;
  std::vector<PlanetaryPeerRow> peers;
  std::vector<planetary::RouterTreeEntry> tree;
  std::vector<planetary::RouterPathEntry> paths;
  std::vector<planetary::SessionStats> sessions;
  std::vector<PlanetaryListenerRow> listeners;
  std::string tun_name;  // the kernel's name for the TUN ("" without one)
};

class PlanetaryEngine {
 public:
  PlanetaryEngine();
  ~PlanetaryEngine();
  PlanetaryEngine(const PlanetaryEngine&) = delete;
  PlanetaryEngine& operator=(const PlanetaryEngine&) = delete;

  // Opens the TUN and listeners, starts dialing, starts the loop. 0 or -errno with *err.
  int start(PlanetaryOptions options, std::string* err);
  void stop();

  // JS thread: each runs on the loop and returns its result.
  PlanetarySnapshot snapshot();
  // A configured peer is its URI plus its source interface, as in yggdrasil: the same URI may be
  // configured once per interface.
  bool add_peer(const PlanetaryLinkSpec& spec);  // false if already configured
  bool remove_peer(const std::string& uri, const std::string& sintf);  // false if unknown
  void dial_once(const PlanetaryLinkSpec& spec);  // e.g. a multicast discovery; not redialed
  // Asks a remote node for its NodeInfo or debug data; the answer arrives as a "proto-response" event
  // ("<kind> <hex key> <hex data>"), or never (the caller times out).
  void request(const Key& dest, planetary::ProtoRequest kind);
  // A listener beside the configured ones (multicast's, on interfaces that come and go). 0 or -errno.
  int listen(const PlanetaryLinkSpec& spec, uint16_t* port);
  bool stop_listening(const std::string& uri);  // false if no listener has that URI; its links stay up

 private:
  struct Conn;
  struct Dialer {
    explicit Dialer(const PlanetaryLinkSpec& s) : spec(s) {}
    PlanetaryLinkSpec spec;
    bool persistent = true;
    uint64_t next_dial = 0;
    uint64_t backoff = 0;
    LinkId conn = 0;  // 0 when not connected or connecting
    std::string last_error;
    uint64_t last_error_at = 0;
  };
  struct Listener {
    int fd = -1;  // -1: a stopped listener's slot, kept so that the epoll tokens of the others stay valid
    io::Endpoint bound;
    PlanetaryLinkSpec spec;
  };
  class RouterGlue;
  class SessionGlue;
  class PayloadGlue;

  void loop();
  void run(std::function<void()> fn);
  void drain_commands();
  void handle_event(uint64_t token, uint32_t events);
  void read_tun();
  int open_listener(const PlanetaryLinkSpec& spec, uint16_t* port);
  void accept_on(Listener& l);
  void dial(Dialer& d);
  Conn* add_conn(int fd, bool inbound, const PlanetaryLinkSpec& spec, Dialer* dialer);
  void on_conn_event(Conn& c, uint32_t events);
  void start_link(Conn& c);
  bool pump_reads(Conn& c);
  void flush(Conn& c);
  void flush_all();
  void kill(Conn& c, const std::string& reason);
  void sweep();
  void run_timers();
  void sample_rates();
  uint64_t next_deadline() const;
  void arm(Conn& c);
  uint64_t now() const;
  void post(const std::string& type, const std::string& detail);

  PlanetaryOptions options_;
  planetary::LinkIdentity identity_{};
  std::unique_ptr<io::TlsContext> tls_;
  std::unique_ptr<planetary::Router> router_;
  std::unique_ptr<planetary::Sessions> sessions_;
  std::unique_ptr<planetary::Payload> payload_;
  std::unique_ptr<RouterGlue> router_sink_;
  std::unique_ptr<SessionGlue> session_sink_;
  std::unique_ptr<PayloadGlue> payload_sink_;
  uint64_t now_ = 0;  // the loop's clock for the current round, read by the sinks
  uint64_t next_rate_sample_ = 0;
  io::Tun tun_;
  std::vector<uint8_t> tun_buf_;
  std::vector<uint8_t> rx_buf_;  // socket reads, shared by every connection
  bool direct_write_ = true;
  bool send_first_ = true;
  bool short_reads_ = true;
  bool tun_answers_ = true;
  bool wrote_tun_ = false;  // this round wrote to the TUN: the kernel's answer may already wait there

  int epfd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> running_{false};

  std::vector<Listener> listeners_;
  std::list<Dialer> dialers_;  // a list: Conn keeps a pointer to its dialer across other erasures
  std::map<LinkId, std::unique_ptr<Conn>> conns_;
  LinkId next_link_ = 1;

  std::mutex cmd_mu_;
  std::condition_variable cmd_cv_;
  std::deque<std::function<void()>> commands_;
  uint64_t commands_done_ = 0, commands_posted_ = 0;
};

}  // namespace gw::engine
