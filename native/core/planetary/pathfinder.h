// Source-side path state (spec §4.9–4.10): learned destination coordinates, "rumors" (outstanding
// lookups keyed by the transformed destination, holding the latest unsent packet), lookup throttling
// and our own signed PathNotify info. Pure state: the router does the sending.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "frames.h"
#include "types.h"

namespace gw::planetary {

struct PathTimings {
  uint64_t timeout = 60 * kSecond;  // path entry and rumor lifetime
  uint64_t throttle = kSecond;      // minimum spacing of lookups per destination
};

class Pathfinder {
 public:
  struct Entry {
    Path path;
    uint64_t seq = 0;
    uint64_t expires = 0;
    uint64_t last_lookup = 0;
    bool looked_up = false;
    bool broken = false;
    // The last packet sent on this path, re-sent if a newer notify moves the destination.
    std::vector<uint8_t> last_payload;
    bool has_last = false;
  };
  struct Rumor {
    uint64_t sent = 0;
    uint64_t expires = 0;
    Key dest{};
    std::vector<uint8_t> payload;
    bool has_packet = false;
  };

  Pathfinder(const Key& self, const uint8_t seed[32], const PathTimings& t);

  Entry* find(const Key& dest);
  const std::map<Key, Entry>& entries() const { return paths_; }

  // Rumor step of a lookup: false if the rumor for xform(dest) was refreshed less than `throttle` ago.
  bool rumor_due(const Key& dest, uint64_t now);
  // Path step of a lookup: false if this known path was looked up less than `throttle` ago.
  bool path_lookup_due(const Key& dest, uint64_t now);
  // Keeps only the latest packet for a destination still being looked up.
  void buffer(const Key& dest, const uint8_t* payload, size_t len);

  // Acceptance rules for a PathNotify addressed to us (§4.9). On success the entry is stored and the
  // packets to (re)send are moved into `resend` (at most the rumor's and the path's last packet).
  bool accept_notify(const PathNotify& n, uint64_t now, std::vector<std::vector<uint8_t>>* resend);
  // Traffic from `source` arrived: keep its path alive unless it is marked broken.
  void touch(const Key& source, uint64_t now);
  void mark_broken(const Key& dest);
  void expire(uint64_t now);

  // Our signed coordinates, re-signed only when the coordinates or the second changes.
  const NotifyInfo& own_info(const Path& coords, uint64_t unix_seconds);

 private:
  Key self_;
  uint8_t seed_[32];
  PathTimings t_;
  std::map<Key, Entry> paths_;
  std::map<Key, Rumor> rumors_;  // keyed by bloom_transform(dest)
  NotifyInfo info_;
  bool info_valid_ = false;
  std::vector<uint8_t> scratch_;
};

}  // namespace gw::planetary
