#include "router.h"

#include <algorithm>
#include <cstring>

#include "../../crypto/crypto.h"
#include "../../crypto/curve.h"
#include "address.h"

namespace gw::planetary {

namespace {

uint64_t default_random64() {
  uint64_t v = 0;
  crypto::random_bytes(reinterpret_cast<uint8_t*>(&v), sizeof v);
  return v;
}

Key public_key_of(const uint8_t seed[32]) {
  Key k{};
  crypto::ed25519_public(seed, k.data());
  return k;
}

}  // namespace

Router::Router(const uint8_t ed25519_seed[32], const RouterConfig& config)
    : self_(public_key_of(ed25519_seed)),
      self_xform_(bloom_transform(self_)),
      cfg_(config),
      tree_(self_),
      pf_(self_, ed25519_seed, config.path) {
  std::memcpy(seed_, ed25519_seed, sizeof seed_);
  if (!cfg_.random64) cfg_.random64 = default_random64;
  // The reference starts with doRoot2 set, so its first maintenance (at start) self-roots with seq 1.
  do_root2_ = true;
}

void Router::enter(uint64_t now, RouterSink& sink) {
  now_ = now;
  sink_ = &sink;
  if (started_) return;
  started_ = true;
  next_maintenance_ = now + cfg_.maintenance_interval;
  maintenance();
}

// ---------------------------------------------------------------- public entry points

void Router::add_link(LinkId id, const Key& peer_key, uint8_t priority, uint64_t now, RouterSink& sink) {
  enter(now, sink);
  if (peer_key == self_) return sink.close_link(id, "link to our own key");
  if (links_.count(id)) return;
  auto [it, fresh] = peers_.try_emplace(peer_key);
  Peer& peer = it->second;
  if (fresh) peer.port = alloc_port();
  Link& link = links_[id] = Link{peer_key, priority, ++link_counter_};
  peer.links.push_back(id);
  // A further link to a known key learns everything the key was already told.
  for (const Key& k : peer.sent) {
    if (const Tree::Entry* e = tree_.find(k)) {
      tx_.clear();
      encode(e->info, &tx_);
      send(id);
    }
  }
  if (!peer.has_req) peer.req = new_request(), peer.has_req = true;
  send_request(id, link, peer.req);
  tx_.clear();
  encode(peer.sent_bloom, &tx_);
  send(id);
}

void Router::remove_link(LinkId id, uint64_t now, RouterSink& sink) {
  enter(now, sink);
  auto it = links_.find(id);
  if (it == links_.end()) return;
  Key key = it->second.peer;
  links_.erase(it);
  Peer& peer = peers_[key];
  peer.links.erase(std::remove(peer.links.begin(), peer.links.end(), id), peer.links.end());
  if (peer.links.empty()) {
    peers_.erase(key);
    tree_.reset_cache();
    fix();
    return;
  }
  tx_.clear();
  encode(peer.sent_bloom, &tx_);
  send_all(peer);
}

void Router::handle_frame(LinkId id, const uint8_t* frame, size_t len, uint64_t now, RouterSink& sink) {
  enter(now, sink);
  auto it = links_.find(id);
  if (it == links_.end()) return;
  if (len == 0) return sink.close_link(id, "empty frame");
  if (const char* reason = dispatch(id, it->second, frame[0], frame + 1, len - 1)) sink.close_link(id, reason);
}

void Router::send_traffic(const Key& dest, const uint8_t* payload, size_t len, uint64_t now, RouterSink& sink) {
  enter(now, sink);
  originate(dest, payload, len);
}

void Router::lookup(const Key& partial_or_full_key, uint64_t now, RouterSink& sink) {
  enter(now, sink);
  rumor_lookup(partial_or_full_key);
}

void Router::tick(uint64_t now, RouterSink& sink) {
  enter(now, sink);
  if (now < next_maintenance_) return;
  next_maintenance_ = now + cfg_.maintenance_interval;
  expire_infos();
  pf_.expire(now);
  maintenance();
}

// ---------------------------------------------------------------- frame handlers

const char* Router::dispatch(LinkId id, Link& link, uint8_t type, const uint8_t* body, size_t len) {
  switch (type) {
    case kFrameDummy:
    case kFrameKeepAlive:
      return nullptr;
    case kFrameSigReq:
      return on_sig_req(id, link, body, len);
    case kFrameSigRes:
      return on_sig_res(link, body, len);
    case kFrameAnnounce:
      return on_announce(id, link, body, len);
    case kFrameBloom:
      return on_bloom(link, body, len);
    case kFramePathLookup:
      return on_lookup(link, body, len);
    case kFramePathNotify:
      return on_notify(body, len);
    case kFramePathBroken:
      return on_broken(body, len);
    case kFrameTraffic:
      return on_traffic(body, len);
    default:
      return "unrecognized frame type";
  }
}

const char* Router::on_sig_req(LinkId id, Link& link, const uint8_t* body, size_t len) {
  SigRes res;
  if (!decode(body, len, &res.req)) return "malformed SigReq";
  // The responder checks nothing: any peer may ask us to vouch for it as its parent.
  res.port = peers_[link.peer].port;
  uint8_t msg[kMaxSigBytes];
  size_t n = sig_bytes(link.peer, self_, res.req.seq, res.req.nonce, res.port, msg);
  crypto::ed25519_sign(seed_, msg, n, res.psig.data());
  tx_.clear();
  encode(res, &tx_);
  send(id);
  return nullptr;
}

const char* Router::on_sig_res(Link& link, const uint8_t* body, size_t len) {
  SigRes res;
  if (!decode(body, len, &res)) return "malformed SigRes";
  uint8_t msg[kMaxSigBytes];
  size_t n = sig_bytes(self_, link.peer, res.req.seq, res.req.nonce, res.port, msg);
  if (!crypto::ed25519_verify(link.peer.data(), msg, n, res.psig.data())) return "bad SigRes signature";
  Peer& peer = peers_[link.peer];
  if (!peer.has_req || !(peer.req == res.req)) return nullptr;
  uint64_t rtt = now_ - link.req_sent;
  link.lag = link.has_lag ? link.lag / 8 * 7 + std::min(rtt, 2 * link.lag) / 8 : 2 * rtt;
  link.has_lag = true;
  link.rtt = rtt;
  if (!peer.has_res) peer.res = res, peer.has_res = true;
  return nullptr;
}

const char* Router::on_announce(LinkId id, Link& link, const uint8_t* body, size_t len) {
  Announce a;
  if (!decode(body, len, &a)) return "malformed Announce";
  if (!a.verify()) return "bad Announce signature";
  Peer& peer = peers_[link.peer];
  if (update_info(a)) {
    // Our own key from a peer: we restarted and it remembers a later seq; re-sign above it.
    if (a.key == self_) refresh_ = true;
    peer.sent.insert(a.key);
    return nullptr;
  }
  const Tree::Entry* held = tree_.find(a.key);
  if (held && !held->info.same_as(a)) {
    // The peer holds a losing version: hand it ours on this link so both converge.
    tx_.clear();
    encode(held->info, &tx_);
    send(id);
  }
  peer.sent.insert(a.key);
  return nullptr;
}

const char* Router::on_bloom(Link& link, const uint8_t* body, size_t len) {
  Bloom b;
  if (!decode(body, len, &b)) return "malformed Bloom";
  peers_[link.peer].recv = b;
  return nullptr;
}

const char* Router::on_lookup(Link& link, const uint8_t* body, size_t len) {
  PathLookup l;
  if (!decode(body, len, &l)) return "malformed PathLookup";
  if (!peers_[link.peer].on_tree) return nullptr;
  multicast(l, link.peer);
  if (bloom_transform(l.dest) == self_xform_) answer_lookup(l);
  return nullptr;
}

const char* Router::on_notify(const uint8_t* body, size_t len) {
  PathNotify n;
  if (!decode(body, len, &n)) return "malformed PathNotify";
  route_notify(n);
  return nullptr;
}

const char* Router::on_broken(const uint8_t* body, size_t len) {
  PathBroken b;
  if (!decode(body, len, &b)) return "malformed PathBroken";
  route_broken(b);
  return nullptr;
}

const char* Router::on_traffic(const uint8_t* body, size_t len) {
  if (!decode(body, len, &rx_traffic_)) return "malformed Traffic";
  route_traffic(rx_traffic_);
  return nullptr;
}

// ---------------------------------------------------------------- tree maintenance

void Router::maintenance() {
  do_root2_ = do_root2_ || do_root1_;
  tree_.reset_cache();
  fix();
  send_announces();
  update_on_tree();
  send_blooms();
}

void Router::expire_infos() {
  std::vector<Key> gone;
  for (const auto& [key, e] : tree_.entries()) {
    if (now_ < e.deadline) continue;
    if (key == self_) {
      refresh_ = true;
    } else {
      gone.push_back(key);
    }
  }
  for (const Key& k : gone) {
    tree_.erase(k);
    for (auto& [pk, peer] : peers_) peer.sent.erase(k);
  }
}

bool Router::update_info(const Announce& info) {
  uint64_t deadline = now_ + (info.key == self_ ? cfg_.refresh_interval : cfg_.info_timeout);
  if (!tree_.update(info, deadline)) return false;
  for (auto& [pk, peer] : peers_) peer.sent.erase(info.key);
  return true;
}

void Router::fix() {
  const Announce* self = tree_.self_info();
  Key current = self ? self->parent : self_;
  Key best_root = self_, best_parent = self_;
  uint64_t best_cost = kMaxU64;
  auto cur = peers_.find(current);
  if (cur != peers_.end()) {
    const Tree::Coords& c = tree_.coords(self_);
    if (key_less(c.root, best_root)) {
      best_root = c.root, best_parent = current, best_cost = c.path.size() * peer_cost(cur->second);
    }
  }
  for (const auto& [k, peer] : peers_) {
    if (!peer.has_res || !tree_.find(k) || tree_.in_ancestry(self_, k)) continue;
    const Tree::Coords& c = tree_.coords(k);
    uint64_t cost = c.path.size() * peer_cost(peer);
    bool take = key_less(c.root, best_root);
    if (!take && c.root != best_root) continue;
    take = take || (refresh_ && 2 * cost < best_cost) || (best_parent != current && cost < best_cost);
    if (take) best_root = c.root, best_parent = k, best_cost = cost;
  }
  if (!(refresh_ || do_root1_ || do_root2_ || current != best_parent)) return;
  auto best = peers_.find(best_parent);
  bool parent_ok = best_root != self_ && best != peers_.end() && best->second.has_res &&
                   use_response(best_parent, best->second.res);
  if (parent_ok || (do_root2_ && become_root())) {
    refresh_ = do_root1_ = do_root2_ = false;
    send_requests();
  } else if (!do_root1_) {
    // Grace period: self-root on the next-but-one tick unless a better parent shows up.
    do_root1_ = true;
  }
}

bool Router::use_response(const Key& parent, const SigRes& res) {
  Announce a;
  a.key = self_;
  a.parent = parent;
  a.res = res;
  uint8_t msg[kMaxSigBytes];
  size_t n = sig_bytes(self_, parent, res.req.seq, res.req.nonce, res.port, msg);
  crypto::ed25519_sign(seed_, msg, n, a.sig.data());
  return update_info(a);
}

bool Router::become_root() {
  Announce a;
  a.key = a.parent = self_;
  a.res.req = new_request();
  uint8_t msg[kMaxSigBytes];
  size_t n = sig_bytes(self_, self_, a.res.req.seq, a.res.req.nonce, 0, msg);
  crypto::ed25519_sign(seed_, msg, n, a.sig.data());
  a.res.psig = a.sig;
  return update_info(a);
}

SigReq Router::new_request() {
  const Announce* self = tree_.self_info();
  return SigReq{(self ? self->res.req.seq : 0) + 1, cfg_.random64()};
}

void Router::send_requests() {
  for (auto& [k, peer] : peers_) {
    peer.req = new_request();
    peer.has_req = true;
    peer.has_res = false;
    for (LinkId id : peer.links) send_request(id, links_[id], peer.req);
  }
}

void Router::send_request(LinkId id, Link& link, const SigReq& req) {
  tx_.clear();
  encode(req, &tx_);
  link.req_sent = now_;
  send(id);
}

void Router::send_announces() {
  // Only ancestries travel: ours and the peer's own, root first, minus what the peer already holds.
  std::vector<Key> self_anc = tree_.ancestry(self_);
  for (auto& [pk, peer] : peers_) {
    std::vector<Key> keys = self_anc;
    std::vector<Key> peer_anc = tree_.ancestry(pk);
    keys.insert(keys.end(), peer_anc.begin(), peer_anc.end());
    for (const Key& k : keys) {
      if (!peer.sent.insert(k).second) continue;
      tx_.clear();
      encode(tree_.find(k)->info, &tx_);
      send_all(peer);
    }
  }
}

uint64_t Router::link_cost(const Link& link) const { return std::max<uint64_t>(1, link.lag / kMillisecond); }

uint64_t Router::peer_cost(const Peer& peer) const {
  uint64_t best = kMaxU64;
  for (LinkId id : peer.links) best = std::min(best, link_cost(links_.at(id)));
  return best;
}

uint64_t Router::alloc_port() const {
  std::set<uint64_t> used;
  for (const auto& [k, peer] : peers_) used.insert(peer.port);
  uint64_t port = 1;
  while (used.count(port)) port++;
  return port;
}

// ---------------------------------------------------------------- blooms

void Router::update_on_tree() {
  const Announce* self = tree_.self_info();
  for (auto& [k, peer] : peers_) {
    bool was = peer.on_tree;
    const Tree::Entry* e = tree_.find(k);
    peer.on_tree = (self && self->parent == k) || (e && e->info.parent == self_);
    // Clear what it holds now, so a later return to the tree starts from a known state.
    if (was && !peer.on_tree) send_bloom(peer, Bloom{});
  }
}

void Router::send_blooms() {
  for (auto& [k, peer] : peers_) {
    if (!peer.on_tree) continue;
    Bloom b = bloom_for(k);
    if (!(b == peer.sent_bloom) || ++peer.bloom_age >= cfg_.bloom_resend_ticks) send_bloom(peer, b);
  }
}

Bloom Router::bloom_for(const Key& key) const {
  Bloom b;
  b.add(self_xform_);
  for (const auto& [k, peer] : peers_) {
    if (peer.on_tree && k != key) b.merge(peer.recv);
  }
  return b;
}

void Router::send_bloom(Peer& peer, const Bloom& bloom) {
  peer.sent_bloom = bloom;
  peer.bloom_age = 0;
  tx_.clear();
  encode(bloom, &tx_);
  send_all(peer);
}

// ---------------------------------------------------------------- routing

LinkId Router::next_hop(const Path& dest, uint64_t* watermark, bool* found) const {
  *found = false;
  uint64_t self_dist = tree_dist(own_coords(), dest);
  if (self_dist >= *watermark) return 0;
  *watermark = self_dist;
  const Link* best = nullptr;
  LinkId best_id = 0;
  uint64_t best_dist = 0;
  for (const auto& [id, link] : links_) {
    uint64_t d = tree_dist(tree_.coords(link.peer).path, dest);
    if (d >= self_dist) continue;
    if (best && !better_hop(link, d, *best, best_dist, self_dist)) continue;
    best = &link, best_id = id, best_dist = d;
  }
  *found = best != nullptr;
  return best_id;
}

bool Router::better_hop(const Link& cand, uint64_t cand_dist, const Link& best, uint64_t best_dist,
                        uint64_t self_dist) const {
  if (cand.peer == best.peer && cand.priority != best.priority) return cand.priority < best.priority;
  // Cost per unit of progress: a slow link must bring us proportionally closer.
  uint64_t cand_cpd = link_cost(cand) / (self_dist - cand_dist);
  uint64_t best_cpd = link_cost(best) / (self_dist - best_dist);
  if (cand_cpd != best_cpd) return cand_cpd < best_cpd;
  if (cand_dist != best_dist) return cand_dist < best_dist;
  return cand.order < best.order;
}

void Router::multicast(const PathLookup& lookup, const Key& from) {
  Key xf = bloom_transform(lookup.dest);
  tx_.clear();
  encode(lookup, &tx_);
  for (const auto& [k, peer] : peers_) {
    if (!peer.on_tree || k == from || !peer.recv.test(xf)) continue;
    LinkId best = peer.links.front();
    for (LinkId id : peer.links) {
      if (links_.at(id).priority < links_.at(best).priority) best = id;
    }
    send(best);
  }
}

void Router::rumor_lookup(const Key& dest) {
  if (pf_.rumor_due(dest, now_)) send_lookup(dest);
}

void Router::send_lookup(const Key& dest) {
  if (!pf_.path_lookup_due(dest, now_)) return;
  PathLookup l;
  l.source = self_;
  l.dest = dest;
  l.from = own_coords();
  multicast(l, self_);
}

void Router::answer_lookup(const PathLookup& lookup) {
  PathNotify n;
  n.path = lookup.from;
  n.source = self_;
  n.dest = lookup.source;
  uint64_t unix_now = static_cast<uint64_t>(static_cast<int64_t>(now_ / kSecond) + cfg_.unix_offset_seconds);
  n.info = pf_.own_info(own_coords(), unix_now);
  route_notify(n);
}

void Router::route_notify(PathNotify& n) {
  bool found;
  LinkId next = next_hop(n.path, &n.watermark, &found);
  if (found) {
    tx_.clear();
    encode(n, &tx_);
    return send(next);
  }
  if (n.dest != self_) return;
  std::vector<std::vector<uint8_t>> resend;
  if (!pf_.accept_notify(n, now_, &resend)) return;
  sink_->path_found(n.source);
  for (const auto& p : resend) originate(n.source, p.data(), p.size());
}

void Router::route_broken(PathBroken& b) {
  bool found;
  LinkId next = next_hop(b.path, &b.watermark, &found);
  if (found) {
    tx_.clear();
    encode(b, &tx_);
    return send(next);
  }
  if (b.source != self_ || !pf_.find(b.dest)) return;
  pf_.mark_broken(b.dest);
  send_lookup(b.dest);
}

void Router::route_traffic(Traffic& t) {
  bool found;
  LinkId next = next_hop(t.path, &t.watermark, &found);
  if (found) {
    tx_.clear();
    encode(t, &tx_);
    return send(next);
  }
  if (t.dest == self_) {
    pf_.touch(t.source, now_);
    return sink_->deliver(t.source, t.payload, t.payload_len);
  }
  PathBroken b;
  b.path = t.from;
  b.source = t.source;
  b.dest = t.dest;
  route_broken(b);
}

void Router::originate(const Key& dest, const uint8_t* payload, size_t len) {
  Pathfinder::Entry* e = pf_.find(dest);
  if (!e) {
    rumor_lookup(dest);
    return pf_.buffer(dest, payload, len);
  }
  Traffic& t = tx_traffic_;
  t.path = e->path;
  t.from = own_coords();
  t.source = self_;
  t.dest = dest;
  t.watermark = kMaxU64;
  t.payload = payload;
  t.payload_len = len;
  // Kept so a notify that moves the destination can re-send it (receivers drop duplicates).
  e->last_payload.assign(payload, payload + len);
  e->has_last = true;
  route_traffic(t);
}

void Router::send(LinkId id) { sink_->send_frame(id, tx_.data(), tx_.size()); }

void Router::send_all(const Peer& peer) {
  for (LinkId id : peer.links) send(id);
}

// ---------------------------------------------------------------- snapshots

RouterSelfInfo Router::self_info() const {
  RouterSelfInfo s;
  s.key = self_;
  const Tree::Coords& c = tree_.coords(self_);
  s.root = c.root;
  s.coords = c.path;
  if (const Announce* a = tree_.self_info()) s.seq = a->res.req.seq;
  s.routing_entries = tree_.entries().size();
  return s;
}

std::vector<RouterPeerInfo> Router::peers() const {
  std::vector<RouterPeerInfo> out;
  for (const auto& [id, link] : links_) {
    const Peer& peer = peers_.at(link.peer);
    const Tree::Coords& c = tree_.coords(link.peer);
    out.push_back({id, link.peer, peer.port, link.priority, link_cost(link), link.rtt, peer.on_tree, c.root, c.path});
  }
  return out;
}

std::vector<RouterTreeEntry> Router::tree() const {
  std::vector<RouterTreeEntry> out;
  for (const auto& [k, e] : tree_.entries()) out.push_back({k, e.info.parent, e.info.res.req.seq});
  return out;
}

std::vector<RouterPathEntry> Router::paths() const {
  std::vector<RouterPathEntry> out;
  for (const auto& [k, e] : pf_.entries()) out.push_back({k, e.path, e.seq, e.broken});
  return out;
}

}  // namespace gw::planetary
