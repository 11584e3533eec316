// The planetary routing layer (ironwood `network`, spec §4): spanning tree, bloom-filtered lookups and
// greedy tree-space forwarding with a watermark, over links the engine owns.
//
// Sans-IO and single-threaded: no sockets, threads or clock reads. The engine serialises every call
// (one thread or one strand) and passes monotonic time in nanoseconds. Output goes synchronously to the
// RouterSink given to each call; a sink must not call back into the Router. The engine calls tick()
// no later than next_deadline().
//
// Deviations from the reference, all invisible on the wire: no per-link 25 ms drop queue (frames go to
// the sink at once; the engine's link writer owns queueing), bloom filters are sent exact (no "keep the
// ones" anti-flap step), and timers run on the 1-s maintenance tick, so expiries fire up to one tick late.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <vector>

#include "bloom.h"
#include "frames.h"
#include "pathfinder.h"
#include "tree.h"
#include "types.h"

namespace gw::planetary {

class RouterSink {
 public:
  virtual ~RouterSink() = default;
  // frame = type byte ‖ body; the link layer adds the length prefix.
  virtual void send_frame(LinkId link, const uint8_t* frame, size_t len) = 0;
  // Traffic addressed to us: payload is the session-layer packet.
  virtual void deliver(const Key& source, const uint8_t* payload, size_t len) = 0;
  // A PathNotify was accepted: yggdrasil learns address → key from this.
  virtual void path_found(const Key& key) = 0;
  // Protocol violation on that link: the engine drops it (and then calls remove_link).
  virtual void close_link(LinkId link, const char* reason) = 0;
};

struct RouterConfig {
  uint64_t maintenance_interval = kSecond;
  uint64_t refresh_interval = 240 * kSecond;  // re-sign own info
  uint64_t info_timeout = 300 * kSecond;      // forget others' infos
  PathTimings path;
  uint32_t bloom_resend_ticks = 3600;
  // PathNotify info.seq is the responder's Unix second and receivers only take strictly newer ones, so
  // it must not go backwards across restarts: seconds = now / kSecond + unix_offset_seconds.
  int64_t unix_offset_seconds = 0;
  // 64 random bits for SigReq nonces; default is the OpenSSL CSPRNG (crypto::init() must have run).
  std::function<uint64_t()> random64;
};

struct RouterSelfInfo {
  Key key{};
  Key root{};
  Path coords;
  uint64_t seq = 0;
  size_t routing_entries = 0;  // size of the tree store, as getSelf reports it
};

struct RouterPeerInfo {
  LinkId link = 0;
  Key key{};
  uint64_t port = 0;
  uint8_t priority = 0;
  uint64_t cost = 0;  // whole milliseconds, ≥ 1 (getPeers "cost")
  uint64_t latency = 0;  // the last SigReq→SigRes round trip, ns; 0 before the first (getPeers "latency")
  bool on_tree = false;
  Key root{};
  Path coords;
};

struct RouterTreeEntry {
  Key key{};
  Key parent{};
  uint64_t seq = 0;
};

struct RouterPathEntry {
  Key key{};
  Path path;
  uint64_t seq = 0;
  bool broken = false;
};

class Router {
 public:
  explicit Router(const uint8_t ed25519_seed[32], const RouterConfig& config = {});

  const Key& key() const { return self_; }

  void add_link(LinkId link, const Key& peer, uint8_t priority, uint64_t now, RouterSink& sink);
  void remove_link(LinkId link, uint64_t now, RouterSink& sink);
  // Frame types 2..9; 0 and 1 are ignored; anything malformed closes the link.
  void handle_frame(LinkId link, const uint8_t* frame, size_t len, uint64_t now, RouterSink& sink);
  // Sends on a known path, else buffers the packet (latest only) and starts a throttled lookup.
  void send_traffic(const Key& dest, const uint8_t* payload, size_t len, uint64_t now, RouterSink& sink);
  // Looks up a full key or a partial key derived from an address (address.h), throttled.
  void lookup(const Key& partial_or_full_key, uint64_t now, RouterSink& sink);
  void tick(uint64_t now, RouterSink& sink);
  uint64_t next_deadline() const { return next_maintenance_; }

  RouterSelfInfo self_info() const;
  std::vector<RouterPeerInfo> peers() const;  // one row per link
  std::vector<RouterTreeEntry> tree() const;
  std::vector<RouterPathEntry> paths() const;

 private:
  struct Link {
    Key peer{};
    uint8_t priority = 0;
    uint64_t order = 0;  // connection order: lower is older
    uint64_t lag = 0;    // smoothed SigReq→SigRes time, ns
    uint64_t rtt = 0;    // the last one
    bool has_lag = false;
    uint64_t req_sent = 0;
  };
  struct Peer {
    uint64_t port = 0;
    std::vector<LinkId> links;
    std::set<Key> sent;  // infos this peer is known to hold
    SigReq req;
    bool has_req = false;
    SigRes res;
    bool has_res = false;
    Bloom recv;
    Bloom sent_bloom;
    bool on_tree = false;
    uint32_t bloom_age = 0;  // ticks since sent_bloom went out
  };

  // Time and sink of the call in progress.
  void enter(uint64_t now, RouterSink& sink);

  const char* dispatch(LinkId id, Link& link, uint8_t type, const uint8_t* body, size_t len);
  const char* on_sig_req(LinkId id, Link& link, const uint8_t* body, size_t len);
  const char* on_sig_res(Link& link, const uint8_t* body, size_t len);
  const char* on_announce(LinkId id, Link& link, const uint8_t* body, size_t len);
  const char* on_bloom(Link& link, const uint8_t* body, size_t len);
  const char* on_lookup(Link& link, const uint8_t* body, size_t len);
  const char* on_notify(const uint8_t* body, size_t len);
  const char* on_broken(const uint8_t* body, size_t len);
  const char* on_traffic(const uint8_t* body, size_t len);

  // Tree maintenance (§4.5–4.6).
  void maintenance();
  void expire_infos();
  bool update_info(const Announce& info);
  void fix();
  bool use_response(const Key& parent, const SigRes& res);
  bool become_root();
  void send_requests();
  SigReq new_request();
  void send_request(LinkId id, Link& link, const SigReq& req);
  void send_announces();
  uint64_t link_cost(const Link& link) const;
  uint64_t peer_cost(const Peer& peer) const;
  uint64_t alloc_port() const;

  // Blooms (§4.7).
  void update_on_tree();
  void send_blooms();
  Bloom bloom_for(const Key& peer) const;
  void send_bloom(Peer& peer, const Bloom& bloom);

  // Routing (§4.8–4.10).
  const Path& own_coords() const { return tree_.coords(self_).path; }
  LinkId next_hop(const Path& dest, uint64_t* watermark, bool* found) const;
  bool better_hop(const Link& cand, uint64_t cand_dist, const Link& best, uint64_t best_dist,
                  uint64_t self_dist) const;
  void multicast(const PathLookup& lookup, const Key& from);
  void rumor_lookup(const Key& dest);
  void send_lookup(const Key& dest);
  void answer_lookup(const PathLookup& lookup);
  void route_notify(PathNotify& n);
  void route_broken(PathBroken& b);
  void route_traffic(Traffic& t);
  void originate(const Key& dest, const uint8_t* payload, size_t len);

  void send(LinkId id);  // sends tx_
  void send_all(const Peer& peer);

  uint8_t seed_[32];
  Key self_{};
  Key self_xform_{};
  RouterConfig cfg_;
  Tree tree_;
  Pathfinder pf_;
  std::map<LinkId, Link> links_;
  std::map<Key, Peer> peers_;
  bool refresh_ = false, do_root1_ = false, do_root2_ = false;
  bool started_ = false;
  uint64_t next_maintenance_ = 0;
  uint64_t link_counter_ = 0;

  uint64_t now_ = 0;
  RouterSink* sink_ = nullptr;
  // Reused per frame so forwarding does not allocate once capacities settle.
  std::vector<uint8_t> tx_;
  Traffic rx_traffic_;
  Traffic tx_traffic_;
};

}  // namespace gw::planetary
