#include "tree.h"

#include <algorithm>

namespace gw::planetary {

uint64_t tree_dist(const Path& a, const Path& b) {
  size_t common = 0;
  size_t end = std::min(a.size(), b.size());
  while (common < end && a[common] == b[common]) common++;
  return a.size() + b.size() - 2 * common;
}

bool info_supersedes(const Announce& incoming, const Announce& old) {
  if (old.res.req.seq != incoming.res.req.seq) return incoming.res.req.seq > old.res.req.seq;
  if (old.parent != incoming.parent) return key_less(incoming.parent, old.parent);
  return incoming.res.req.nonce < old.res.req.nonce;
}

bool Tree::update(const Announce& info, uint64_t deadline) {
  auto it = entries_.find(info.key);
  if (it != entries_.end() && !info_supersedes(info, it->second.info)) return false;
  entries_[info.key] = Entry{info, deadline};
  reset_cache();
  return true;
}

void Tree::erase(const Key& key) {
  entries_.erase(key);
  reset_cache();
}

const Tree::Entry* Tree::find(const Key& key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second;
}

const Announce* Tree::self_info() const {
  const Entry* e = find(self_);
  return e ? &e->info : nullptr;
}

const Tree::Coords& Tree::coords(const Key& key) const {
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  return cache_.emplace(key, walk(key)).first->second;
}

Tree::Coords Tree::walk(const Key& key) const {
  Coords c;
  std::vector<Key> visited;
  Key next = key;
  for (;;) {
    const Entry* e = find(next);
    if (!e || std::find(visited.begin(), visited.end(), next) != visited.end()) return Coords{key, {}};
    visited.push_back(next);
    c.root = next;
    if (e->info.parent == next) break;
    c.path.push_back(e->info.res.port);
    next = e->info.parent;
  }
  std::reverse(c.path.begin(), c.path.end());
  return c;
}

std::vector<Key> Tree::ancestry(const Key& key) const {
  std::vector<Key> anc;
  Key here = key;
  for (;;) {
    if (std::find(anc.begin(), anc.end(), here) != anc.end()) break;
    const Entry* e = find(here);
    if (!e) break;
    anc.push_back(here);
    here = e->info.parent;
  }
  std::reverse(anc.begin(), anc.end());
  return anc;
}

bool Tree::in_ancestry(const Key& needle, const Key& of) const {
  std::vector<Key> anc = ancestry(of);
  return std::find(anc.begin(), anc.end(), needle) != anc.end();
}

}  // namespace gw::planetary
