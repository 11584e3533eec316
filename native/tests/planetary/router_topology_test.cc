// Many Routers on fake links: tree agreement, coordinates, bloom convergence, lookups, traffic, and
// recovery after losing the root or a parent.
#include <functional>
#include <queue>

#include "../../core/planetary/address.h"
#include "router_sim.h"

using namespace rtest;

namespace {

using Edge = std::pair<size_t, size_t>;

uint64_t lcg(uint64_t* s) { return (*s = *s * 6364136223846793005ull + 1442695040888963407ull) >> 33; }

// A random spanning tree over n nodes (in shuffled order, so the root is rarely the hub) plus `extra`
// random chords.
std::vector<Edge> random_graph(size_t n, size_t extra, uint64_t seed) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; i++) order[i] = i;
  for (size_t i = n; i > 1; i--) std::swap(order[i - 1], order[lcg(&seed) % i]);
  std::vector<Edge> edges;
  for (size_t i = 1; i < n; i++) edges.push_back({order[i], order[lcg(&seed) % i]});
  while (extra > 0) {
    size_t a = lcg(&seed) % n, b = lcg(&seed) % n;
    if (a == b || std::count(edges.begin(), edges.end(), Edge{a, b}) || std::count(edges.begin(), edges.end(), Edge{b, a})) continue;
    edges.push_back({a, b});
    extra--;
  }
  return edges;
}

Key parent_of(Router& r) {
  for (const auto& e : r.tree()) {
    if (e.key == r.key()) return e.parent;
  }
  return r.key();
}

size_t index_of_key(SimNet& net, const Key& k) {
  for (size_t i = 0; i < net.nodes.size(); i++) {
    if (net.key(i) == k) return i;
  }
  return ~size_t{0};
}

// Every live node agrees on the lowest live key as root, and its coordinates are its parent's plus the
// port the parent assigned to it.
bool converged(SimNet& net) {
  std::vector<size_t> alive = net.alive();
  const Key& root = net.key(alive.front());
  bool ok = true;
  for (size_t i : alive) {
    RouterSelfInfo s = net.r(i).self_info();
    if (s.root != root) {
      std::printf("  node %zu root mismatch\n", i);
      ok = false;
      continue;
    }
    if (i == alive.front()) {
      ok = ok && s.coords.empty();
      continue;
    }
    Router& parent = net.r(index_of_key(net, parent_of(net.r(i))));
    Path want = parent.self_info().coords;
    for (const auto& p : parent.peers()) {
      if (p.key == s.key) {
        want.push_back(p.port);
        break;
      }
    }
    if (want != s.coords) std::printf("  node %zu coords mismatch\n", i), ok = false;
  }
  return ok;
}

std::vector<size_t> subtree(SimNet& net, size_t top) {
  std::vector<size_t> out{top};
  for (size_t k = 0; k < out.size(); k++) {
    for (size_t i : net.alive()) {
      if (i != out[k] && parent_of(net.r(i)) == net.key(out[k]) && i != top) out.push_back(i);
    }
  }
  return out;
}

// On every tree edge the child's last filter covers its subtree and the parent's covers everyone else.
bool blooms_converged(SimNet& net) {
  bool ok = true;
  for (size_t child : net.alive()) {
    Key pk = parent_of(net.r(child));
    if (pk == net.key(child)) continue;
    std::vector<size_t> below = subtree(net, child);
    for (const auto& [id, end] : net.ends) {
      if (end.node != child || net.index_of(end.other) != index_of_key(net, pk)) continue;
      const Bloom& up = net.last_bloom[id];
      const Bloom& down = net.last_bloom[end.other];
      for (size_t n : net.alive()) {
        bool in_sub = std::count(below.begin(), below.end(), n) > 0;
        const Bloom& b = in_sub ? up : down;
        if (!b.test(bloom_transform(net.key(n)))) std::printf("  bloom %zu->parent misses %zu\n", child, n), ok = false;
      }
    }
  }
  return ok;
}

bool all_lookups(SimNet& net) {
  bool ok = true;
  for (size_t i : net.alive()) {
    for (size_t j : net.alive()) {
      if (i == j) continue;
      net.r(i).lookup(net.key(j), net.now, *net.nodes[i]);
      net.pump();
      if (!net.nodes[i]->found.count(net.key(j))) std::printf("  lookup %zu -> %zu failed\n", i, j), ok = false;
    }
  }
  return ok;
}

bool all_traffic(SimNet& net) {
  bool ok = true;
  for (size_t i : net.alive()) {
    for (size_t j : net.alive()) {
      if (i == j) continue;
      Bytes payload{static_cast<uint8_t>(i), static_cast<uint8_t>(j), 0xaa};
      size_t before = net.nodes[j]->delivered.size();
      net.r(i).send_traffic(net.key(j), payload.data(), payload.size(), net.now, *net.nodes[i]);
      net.pump();
      auto& d = net.nodes[j]->delivered;
      if (d.size() != before + 1 || d.back().first != net.key(i) || d.back().second != payload) {
        std::printf("  traffic %zu -> %zu not delivered\n", i, j);
        ok = false;
      }
    }
  }
  return ok;
}

void build(SimNet& net, const std::vector<Edge>& edges) {
  for (auto [a, b] : edges) net.connect(a, b);
}

void check_full(SimNet& net) {
  CHECK(converged(net));
  CHECK(blooms_converged(net));
  CHECK(all_lookups(net));
  CHECK(all_traffic(net));
  CHECK(net.closes.empty());
}

bool stays_connected(const std::vector<Edge>& edges, size_t n, size_t removed) {
  std::vector<std::vector<size_t>> adj(n);
  for (auto [a, b] : edges) {
    if (a != removed && b != removed) adj[a].push_back(b), adj[b].push_back(a);
  }
  size_t start = removed == 0 ? 1 : 0, seen_count = 1;
  std::vector<bool> seen(n);
  seen[start] = true;
  std::queue<size_t> q;
  q.push(start);
  while (!q.empty()) {
    size_t x = q.front();
    q.pop();
    for (size_t y : adj[x]) {
      if (!seen[y]) seen[y] = true, seen_count++, q.push(y);
    }
  }
  return seen_count == n - 1;
}

}  // namespace

TEST(router_topology_line) {
  SimNet net(6, 1);
  build(net, {{3, 1}, {1, 5}, {5, 0}, {0, 4}, {4, 2}});
  // Filters move one hop per maintenance tick, as in the reference.
  net.run(12);
  check_full(net);
  CHECK_EQ(net.r(2).self_info().coords.size(), 2u);
}

TEST(router_topology_star) {
  SimNet net(10, 2);
  for (size_t i = 0; i < 10; i++) {
    if (i != 6) net.connect(6, i);
  }
  net.run(6);
  check_full(net);
  // The root is a leaf of the star, so every other leaf sits two hops below it.
  CHECK_EQ(net.r(3).self_info().coords.size(), 2u);
}

TEST(router_topology_random_tree) {
  SimNet net(20, 3);
  build(net, random_graph(20, 0, 42));
  net.run(20);
  check_full(net);
}

TEST(router_topology_mesh_kill_root) {
  SimNet net(15, 4);
  std::vector<Edge> edges = random_graph(15, 6, 7);
  CHECK(stays_connected(edges, 15, 0));
  build(net, edges);
  net.run(8);
  CHECK(converged(net));
  net.kill(0);
  net.run(20);
  check_full(net);
  CHECK(net.r(5).self_info().root == net.key(1));
}

TEST(router_topology_mesh_kill_parent) {
  SimNet net(15, 5);
  std::vector<Edge> edges = random_graph(15, 8, 11);
  build(net, edges);
  net.run(8);
  CHECK(converged(net));
  // Kill a non-root node that is somebody's parent and whose loss keeps the graph connected.
  size_t victim = 0;
  for (size_t i = 1; i < 15 && !victim; i++) {
    bool is_parent = false;
    for (size_t j = 0; j < 15; j++) is_parent |= j != i && parent_of(net.r(j)) == net.key(i);
    if (is_parent && stays_connected(edges, 15, i)) victim = i;
  }
  CHECK(victim != 0);
  net.kill(victim);
  net.run(20);
  check_full(net);
}

TEST(router_traffic_waits_for_lookup) {
  SimNet net(4, 6);
  build(net, {{0, 1}, {1, 2}, {2, 3}});
  net.run(5);
  Bytes payload{1, 2, 3};
  // Unknown destination: the packet is held while the lookup runs, then sent when the notify lands.
  net.r(3).send_traffic(net.key(0), payload.data(), payload.size(), net.now, *net.nodes[3]);
  net.pump();
  CHECK(net.nodes[3]->found.count(net.key(0)));
  CHECK_EQ(net.nodes[0]->delivered.size(), 1u);
  CHECK_EQ(net.r(3).paths().size(), 1u);
  // Without traffic from the destination the path expires after a minute.
  net.run(62);
  CHECK(net.r(3).paths().empty());
}

TEST(router_path_broken_relookup) {
  // R(0) - X(1) - D(3), and A(2) hanging off R. D then moves from X to R.
  SimNet net(4, 7);
  LinkId xd = net.connect(1, 3);
  build(net, {{0, 1}, {0, 2}});
  net.run(5);
  Bytes payload{9, 9};
  net.r(2).send_traffic(net.key(3), payload.data(), payload.size(), net.now, *net.nodes[2]);
  net.pump();
  CHECK_EQ(net.nodes[3]->delivered.size(), 1u);
  Path old_path = net.r(2).paths().at(0).path;
  CHECK_EQ(old_path.size(), 2u);
  net.disconnect(xd);
  net.connect(0, 3);
  net.run(5);
  CHECK_EQ(net.r(3).self_info().coords.size(), 1u);
  int broken_before = net.type_count[kFramePathBroken];
  net.r(2).send_traffic(net.key(3), payload.data(), payload.size(), net.now, *net.nodes[2]);
  net.pump();
  // X had no way on: PathBroken went back to A, which looked D up again and re-sent the packet.
  CHECK(net.type_count[kFramePathBroken] > broken_before);
  CHECK(net.r(2).paths().at(0).path == net.r(3).self_info().coords);
  CHECK_EQ(net.nodes[3]->delivered.size(), 2u);
  CHECK(net.closes.empty());
}

TEST(router_multiple_links_share_port) {
  SimNet net(3, 8);
  LinkId first = net.connect(0, 1);
  net.connect(0, 1, 1);
  net.connect(1, 2);
  net.run(5);
  auto peers = net.r(0).peers();
  CHECK_EQ(peers.size(), 2u);
  CHECK(peers[0].port == peers[1].port && peers[0].key == peers[1].key);
  net.disconnect(first);
  net.run(3);
  CHECK_EQ(net.r(0).peers().size(), 1u);
  check_full(net);
}

TEST(router_restart_resigns_above_old_seq) {
  SimNet net(3, 9);
  build(net, {{0, 1}, {1, 2}});
  net.run(5);
  uint64_t old_seq = net.r(2).self_info().seq;
  CHECK(old_seq >= 2);
  // Restart node 2 with the same key: it starts at seq 1 while its peer remembers old_seq.
  net.kill(2);
  net.nodes[2]->alive = true;
  net.nodes[2]->router = std::make_unique<Router>(net.nodes[2]->seed.data(), RouterConfig{});
  net.connect(1, 2);
  net.run(6);
  // Usually above old_seq (it adopted its old announce from node 1 and re-signed past it); equal when its
  // own re-signing reached old_seq first and its random nonce won the tie, which is as valid to the CRDT.
  CHECK(net.r(2).self_info().seq >= old_seq);
  CHECK(converged(net));
  CHECK(all_lookups(net));
}
