// In-memory network of Routers joined by fake links, driven on simulated time. Frames are delivered in
// FIFO order with zero latency; every tick advances time by one maintenance interval.
#pragma once

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "../../core/planetary/frames.h"
#include "../../core/planetary/router.h"
#include "router_test_util.h"

namespace rtest {

using namespace gw::planetary;

struct SimNet;

struct SimNode : RouterSink {
  SimNode(SimNet* n, const uint8_t seed[32], uint64_t rng_seed);
  void send_frame(LinkId link, const uint8_t* frame, size_t len) override;
  void deliver(const Key& source, const uint8_t* payload, size_t len) override {
    delivered.push_back({source, Bytes(payload, payload + len)});
  }
  void path_found(const Key& key) override { found.insert(key); }
  void close_link(LinkId link, const char* reason) override;

  SimNet* net;
  std::array<uint8_t, 32> seed;
  std::unique_ptr<Router> router;
  bool alive = true;
  std::vector<std::pair<Key, Bytes>> delivered;
  std::set<Key> found;
};

struct SimNet {
  struct End {
    size_t node;
    LinkId other;
  };
  struct InFlight {
    LinkId from;
    Bytes frame;
  };

  uint64_t now = 1000 * kSecond;
  std::vector<std::unique_ptr<SimNode>> nodes;
  std::map<LinkId, End> ends;
  std::deque<InFlight> queue;
  LinkId next_link = 1;
  std::vector<std::string> closes;
  std::map<LinkId, Bloom> last_bloom;  // last filter sent on each link end
  int type_count[10] = {};

  // Nodes sorted by key: node 0 has the lowest key and becomes the root.
  explicit SimNet(size_t n, uint64_t salt = 0) {
    std::vector<std::array<uint8_t, 32>> seeds(n);
    std::vector<std::pair<Key, size_t>> order;
    for (size_t i = 0; i < n; i++) {
      for (size_t b = 0; b < 32; b++) seeds[i][b] = static_cast<uint8_t>((i + 1) * 131 + b * 7 + salt * 17 + (i * b));
      Key k;
      gw::crypto::ed25519_public(seeds[i].data(), k.data());
      order.push_back({k, i});
    }
    std::sort(order.begin(), order.end());
    for (size_t i = 0; i < n; i++) nodes.push_back(std::make_unique<SimNode>(this, seeds[order[i].second].data(), i + 1));
  }

  Router& r(size_t i) { return *nodes[i]->router; }
  const Key& key(size_t i) { return nodes[i]->router->key(); }
  size_t index_of(LinkId end) { return ends.at(end).node; }

  LinkId connect(size_t a, size_t b, uint8_t prio = 0) {
    LinkId la = next_link++, lb = next_link++;
    ends[la] = {a, lb};
    ends[lb] = {b, la};
    r(a).add_link(la, key(b), prio, now, *nodes[a]);
    r(b).add_link(lb, key(a), prio, now, *nodes[b]);
    pump();
    return la;
  }

  void disconnect(LinkId la) {
    auto it = ends.find(la);
    if (it == ends.end()) return;
    End a = it->second, b = ends.at(a.other);
    ends.erase(la);
    ends.erase(a.other);
    r(a.node).remove_link(la, now, *nodes[a.node]);
    r(b.node).remove_link(a.other, now, *nodes[b.node]);
    pump();
  }

  void kill(size_t n) {
    std::vector<LinkId> mine;
    for (auto& [id, e] : ends) {
      if (e.node == n) mine.push_back(id);
    }
    for (LinkId id : mine) disconnect(id);
    nodes[n]->alive = false;
  }

  void pump() {
    while (!queue.empty()) {
      InFlight f = std::move(queue.front());
      queue.pop_front();
      auto it = ends.find(f.from);
      if (it == ends.end()) continue;
      LinkId to = it->second.other;
      size_t n = ends.at(to).node;
      r(n).handle_frame(to, f.frame.data(), f.frame.size(), now, *nodes[n]);
    }
  }

  void run(int ticks) {
    for (int t = 0; t < ticks; t++) {
      now += kSecond;
      for (auto& node : nodes) {
        if (node->alive) node->router->tick(now, *node);
      }
      pump();
    }
  }

  std::vector<size_t> alive() {
    std::vector<size_t> out;
    for (size_t i = 0; i < nodes.size(); i++) {
      if (nodes[i]->alive) out.push_back(i);
    }
    return out;
  }
};

inline SimNode::SimNode(SimNet* n, const uint8_t s[32], uint64_t rng_seed) : net(n) {
  std::copy(s, s + 32, seed.begin());
  RouterConfig cfg;
  uint64_t state = rng_seed * 0x9e3779b97f4a7c15ull;
  cfg.random64 = [state]() mutable {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  router = std::make_unique<Router>(s, cfg);
}

inline void SimNode::send_frame(LinkId link, const uint8_t* frame, size_t len) {
  if (len && frame[0] < 10) net->type_count[frame[0]]++;
  if (len && frame[0] == kFrameBloom) {
    Bloom b;
    if (decode(frame + 1, len - 1, &b)) net->last_bloom[link] = b;
  }
  net->queue.push_back({link, Bytes(frame, frame + len)});
}

inline void SimNode::close_link(LinkId link, const char* reason) {
  net->closes.push_back(std::to_string(link) + ": " + reason);
}

}  // namespace rtest
