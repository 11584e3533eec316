#include "pathfinder.h"

#include <cstring>

#include "../../crypto/curve.h"
#include "address.h"

namespace gw::planetary {

Pathfinder::Pathfinder(const Key& self, const uint8_t seed[32], const PathTimings& t) : self_(self), t_(t) {
  std::memcpy(seed_, seed, sizeof seed_);
}

Pathfinder::Entry* Pathfinder::find(const Key& dest) {
  auto it = paths_.find(dest);
  return it == paths_.end() ? nullptr : &it->second;
}

bool Pathfinder::rumor_due(const Key& dest, uint64_t now) {
  auto [it, fresh] = rumors_.try_emplace(bloom_transform(dest));
  Rumor& r = it->second;
  if (!fresh && now - r.sent < t_.throttle) return false;
  r.sent = now;
  r.expires = now + t_.timeout;
  return true;
}

bool Pathfinder::path_lookup_due(const Key& dest, uint64_t now) {
  Entry* e = find(dest);
  if (!e) return true;
  if (e->looked_up && now - e->last_lookup < t_.throttle) return false;
  e->looked_up = true;
  e->last_lookup = now;
  return true;
}

void Pathfinder::buffer(const Key& dest, const uint8_t* payload, size_t len) {
  auto it = rumors_.find(bloom_transform(dest));
  if (it == rumors_.end()) return;
  it->second.dest = dest;
  it->second.payload.assign(payload, payload + len);
  it->second.has_packet = true;
}

bool Pathfinder::accept_notify(const PathNotify& n, uint64_t now, std::vector<std::vector<uint8_t>>* resend) {
  Entry* old = find(n.source);
  auto rumor = rumors_.find(bloom_transform(n.source));
  if (old) {
    // Only a strictly newer and different path replaces a known one.
    if (n.info.seq <= old->seq || n.info.path == old->path) return false;
  } else if (rumor == rumors_.end()) {
    return false;
  }
  n.info.signed_bytes(&scratch_);
  if (!crypto::ed25519_verify(n.source.data(), scratch_.data(), scratch_.size(), n.info.sig.data())) return false;
  Entry& e = paths_[n.source];
  e.path = n.info.path;
  e.seq = n.info.seq;
  e.broken = false;
  e.expires = now + t_.timeout;
  if (e.has_last) resend->push_back(std::move(e.last_payload));
  e.has_last = false;
  if (rumor != rumors_.end() && rumor->second.has_packet && rumor->second.dest == n.source) {
    resend->push_back(std::move(rumor->second.payload));
    rumor->second.has_packet = false;
  }
  return true;
}

void Pathfinder::touch(const Key& source, uint64_t now) {
  Entry* e = find(source);
  if (e && !e->broken) e->expires = now + t_.timeout;
}

void Pathfinder::mark_broken(const Key& dest) {
  if (Entry* e = find(dest)) e->broken = true;
}

void Pathfinder::expire(uint64_t now) {
  std::erase_if(paths_, [now](const auto& kv) { return now >= kv.second.expires; });
  std::erase_if(rumors_, [now](const auto& kv) { return now >= kv.second.expires; });
}

const NotifyInfo& Pathfinder::own_info(const Path& coords, uint64_t unix_seconds) {
  if (info_valid_ && info_.seq == unix_seconds && info_.path == coords) return info_;
  info_.seq = unix_seconds;
  info_.path = coords;
  info_.signed_bytes(&scratch_);
  crypto::ed25519_sign(seed_, scratch_.data(), scratch_.size(), info_.sig.data());
  info_valid_ = true;
  return info_;
}

}  // namespace gw::planetary
