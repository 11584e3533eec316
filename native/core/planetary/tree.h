// The spanning-tree store (spec §4.3, §4.5): one signed info per known key, the shared update rule,
// coordinates/ancestry derived by walking parent links, and tree distance. Pure state: the router
// decides what to send and when.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "frames.h"
#include "types.h"
#include "wire.h"

namespace gw::planetary {

// dist(a, b) = |a| + |b| − 2·common prefix (§4.3).
uint64_t tree_dist(const Path& a, const Path& b);

// The total order every node must apply identically (higher seq, then lower parent, then lower nonce),
// else two nodes holding different versions ping-pong announcements forever.
bool info_supersedes(const Announce& incoming, const Announce& old);

class Tree {
 public:
  struct Entry {
    Announce info;
    // Own key: when to re-sign. Others: when the info expires.
    uint64_t deadline = 0;
  };
  struct Coords {
    Key root{};
    Path path;
  };

  explicit Tree(const Key& self) : self_(self) {}

  // Applies the update rule; on acceptance stores the info and drops cached coordinates.
  bool update(const Announce& info, uint64_t deadline);
  void erase(const Key& key);
  const Entry* find(const Key& key) const;
  const Announce* self_info() const;
  const std::map<Key, Entry>& entries() const { return entries_; }

  // Root and root-first ports of `key`. A missing info or a loop yields (key, []), as the reference
  // does, so such a node looks like a root of its own.
  const Coords& coords(const Key& key) const;
  // Keys from the root down to `key` that have infos (stops at a gap or a loop).
  std::vector<Key> ancestry(const Key& key) const;
  bool in_ancestry(const Key& needle, const Key& of) const;
  void reset_cache() const { cache_.clear(); }

 private:
  Coords walk(const Key& key) const;

  Key self_;
  std::map<Key, Entry> entries_;
  mutable std::map<Key, Coords> cache_;
};

}  // namespace gw::planetary
