#include "payload.h"

#include <algorithm>
#include <cstring>

#include "icmpv6.h"

namespace gw::planetary {

namespace {

constexpr size_t kCoreMtu = 65535;  // the largest message yggdrasil hands to a session

enum ProtoType : uint8_t { kProtoNodeInfoRequest = 1, kProtoNodeInfoResponse = 2, kProtoDebug = 255 };
enum DebugType : uint8_t {
  kDebugGetSelfRequest = 1,
  kDebugGetSelfResponse = 2,
  kDebugGetPeersRequest = 3,
  kDebugGetPeersResponse = 4,
  kDebugGetTreeRequest = 5,
  kDebugGetTreeResponse = 6,
};

bool is_ipv6(const uint8_t* pkt, size_t len) { return len >= icmpv6::kIpv6HeaderLen && (pkt[0] & 0xf0) == 0x60; }

bool in(const uint8_t* ip, const Address& address, const Subnet& subnet) {
  return std::memcmp(ip, address.data(), address.size()) == 0 || std::memcmp(ip, subnet.data(), subnet.size()) == 0;
}

std::string hex(const Key& key) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : key) out += digits[b >> 4], out += digits[b & 15];
  return out;
}

// A /64 as a route: its prefix padded with zeros.
Address route_of(const Subnet& subnet) {
  Address route{};
  std::memcpy(route.data(), subnet.data(), subnet.size());
  return route;
}

template <typename Map>
uint64_t earliest(const Map& map, uint64_t next) {
  for (const auto& [k, v] : map) next = std::min(next, v);
  return next;
}

}  // namespace

Payload::Payload(const Key& self, size_t tun_mtu)
    : self_(self), address_(address_for_key(self)), subnet_(subnet_for_key(self)) {
  set_tun_mtu(tun_mtu);
}

void Payload::set_tun_mtu(size_t mtu) { tun_mtu_ = std::clamp(mtu, kMinTunMtu, kMaxTunMtu); }

bool Payload::set_nodeinfo(const std::string& json) {
  if (json.size() > kMaxNodeInfoLen) return false;
  nodeinfo_ = json;
  return true;
}

// ---------------------------------------------------------------------------------- TUN → network

void Payload::from_tun(uint8_t* pkt, size_t len, uint64_t now, PayloadSink& sink) {
  if (!is_ipv6(pkt, len)) return;
  // Anything not from our address or /64 (link-local chatter above all) is dropped silently.
  if (!in(pkt + 8, address_, subnet_)) return;
  const uint8_t* dst = pkt + 24;
  Route route{};
  if (dst[0] == 0x02) {
    std::memcpy(route.data(), dst, route.size());
  } else if (dst[0] == 0x03) {
    std::memcpy(route.data(), dst, sizeof(Subnet));
  } else {
    return;
  }
  pkt[-1] = kPayloadIpv6;
  send_routed(route, pkt - 1, len + 1, now, sink);
}

void Payload::send_routed(const Route& route, uint8_t* msg, size_t len, uint64_t now, PayloadSink& sink) {
  auto it = routes_.find(route);
  if (it == routes_.end()) return hold(route, msg, len, now, sink);
  const Key key = it->second;
  keys_[key].expires = now + kKeyStoreTimeout;
  sink.send_message(key, msg, len);
}

void Payload::hold(const Route& route, const uint8_t* msg, size_t len, uint64_t now, PayloadSink& sink) {
  Pending& p = pending_[route];
  p.buf.resize(kSessionHeadroom + len);
  std::memcpy(p.buf.data() + kSessionHeadroom, msg, len);
  p.expires = now + kKeyStoreTimeout;
  // An address and its /64 share one transformed key, and so one lookup.
  auto [it, fresh] = lookups_.try_emplace(partial_key_for_prefix(route.data(), sizeof(Subnet)), 0);
  if (!fresh && now < it->second) return;
  it->second = now + kLookupThrottle;
  // A subnet route is its prefix padded with zeros, which is exactly what the reference maps back.
  sink.lookup(partial_key_for_prefix(route.data(), route.size()));
}

Payload::KeyInfo& Payload::learn(const Key& key, uint64_t now, PayloadSink& sink) {
  auto [it, fresh] = keys_.try_emplace(key);
  KeyInfo& info = it->second;
  info.expires = now + kKeyStoreTimeout;
  if (!fresh) return info;
  info.address = address_for_key(key);
  info.subnet = subnet_for_key(key);
  Route subnet_route = route_of(info.subnet);
  routes_[info.address] = key;
  routes_[subnet_route] = key;
  flush(info.address, key, sink);
  flush(subnet_route, key, sink);
  return info;
}

void Payload::flush(const Route& route, const Key& key, PayloadSink& sink) {
  auto it = pending_.find(route);
  if (it == pending_.end()) return;
  std::vector<uint8_t> buf = std::move(it->second.buf);
  pending_.erase(it);
  sink.send_message(key, buf.data() + kSessionHeadroom, buf.size() - kSessionHeadroom);
}

void Payload::path_found(const Key& key, uint64_t now, PayloadSink& sink) { learn(key, now, sink); }

// ---------------------------------------------------------------------------------- network → TUN

void Payload::from_network(const Key& source, const uint8_t* msg, size_t len, uint64_t now, PayloadSink& sink) {
  if (len == 0) return;
  if (msg[0] == kPayloadIpv6) return ipv6_from_network(source, msg + 1, len - 1, now, sink);
  if (msg[0] == kPayloadProto) return proto_from_network(source, msg + 1, len - 1, now, sink);
}

void Payload::ipv6_from_network(const Key& source, const uint8_t* pkt, size_t len, uint64_t now,
                                PayloadSink& sink) {
  if (!is_ipv6(pkt, len)) return;
  // Checked before the addresses, as the reference does: the PTB's own source check then decides.
  if (len > tun_mtu_) return send_packet_too_big(pkt, len, now, sink);
  if (!in(pkt + 24, address_, subnet_)) return;
  // Learning before the anti-spoofing check matches the reference: any authenticated sender refreshes.
  const KeyInfo& info = learn(source, now, sink);
  if (!in(pkt + 8, info.address, info.subnet)) return;
  sink.write_tun(pkt, len);
}

void Payload::send_packet_too_big(const uint8_t* pkt, size_t len, uint64_t now, PayloadSink& sink) {
  if (scratch_.size() < kPayloadHeadroom + icmpv6::kPtbMaxLen) scratch_.resize(kPayloadHeadroom + icmpv6::kPtbMaxLen);
  uint8_t* ptb = scratch_.data() + kPayloadHeadroom;
  size_t n = icmpv6::packet_too_big(pkt, len, static_cast<uint32_t>(tun_mtu_), ptb);
  // Back out through the outbound path, like a packet the host wrote to the TUN.
  from_tun(ptb, n, now, sink);
}

// ------------------------------------------------------------------------------------------- proto

void Payload::proto_from_network(const Key& source, const uint8_t* msg, size_t len, uint64_t now,
                                 PayloadSink& sink) {
  if (len == 0) return;
  static const uint8_t kNodeInfoPrefix[] = {kPayloadProto, kProtoNodeInfoResponse};
  switch (msg[0]) {
    case kProtoNodeInfoRequest:
      // Every request is answered; nothing is cached or rate-limited, as in the reference.
      return send_built(source, kNodeInfoPrefix, sizeof kNodeInfoPrefix,
                        reinterpret_cast<const uint8_t*>(nodeinfo_.data()), nodeinfo_.size(), sink);
    case kProtoNodeInfoResponse:
      return take_response(source, ProtoRequest::kNodeInfo, msg + 1, len - 1, now, sink);
    case kProtoDebug:
      return debug_from_network(source, msg + 1, len - 1, now, sink);
    default:
      return;
  }
}

void Payload::debug_from_network(const Key& source, const uint8_t* msg, size_t len, uint64_t now,
                                 PayloadSink& sink) {
  if (len == 0) return;
  keys_scratch_.clear();
  switch (msg[0]) {
    case kDebugGetSelfRequest: {
      std::string json =
          "{\"key\":\"" + hex(self_) + "\",\"routing_entries\":\"" + std::to_string(sink.routing_entries()) + "\"}";
      const uint8_t prefix[] = {kPayloadProto, kProtoDebug, kDebugGetSelfResponse};
      return send_built(source, prefix, sizeof prefix, reinterpret_cast<const uint8_t*>(json.data()), json.size(),
                        sink);
    }
    case kDebugGetPeersRequest:
      sink.peer_keys(&keys_scratch_);
      return answer_keys(source, kDebugGetPeersResponse, keys_scratch_, sink);
    case kDebugGetTreeRequest:
      sink.tree_keys(&keys_scratch_);
      return answer_keys(source, kDebugGetTreeResponse, keys_scratch_, sink);
    case kDebugGetSelfResponse:
      return take_response(source, ProtoRequest::kGetSelf, msg + 1, len - 1, now, sink);
    case kDebugGetPeersResponse:
      return take_response(source, ProtoRequest::kGetPeers, msg + 1, len - 1, now, sink);
    case kDebugGetTreeResponse:
      return take_response(source, ProtoRequest::kGetTree, msg + 1, len - 1, now, sink);
    default:
      return;
  }
}

void Payload::answer_keys(const Key& dest, uint8_t dtype, const std::vector<Key>& keys, PayloadSink& sink) {
  static_assert(sizeof(Key) == kKeyLen, "keys are sent as one contiguous array");
  // The reference stops before 2 + len would exceed the session MTU.
  size_t n = std::min(keys.size(), (kCoreMtu - 2) / kKeyLen);
  const uint8_t prefix[] = {kPayloadProto, kProtoDebug, dtype};
  send_built(dest, prefix, sizeof prefix, keys.empty() ? nullptr : keys[0].data(), n * kKeyLen, sink);
}

void Payload::take_response(const Key& source, ProtoRequest kind, const uint8_t* data, size_t len, uint64_t now,
                            PayloadSink& sink) {
  // Only answers to our own outstanding requests are passed on.
  auto it = requests_.find({source, kind});
  if (it == requests_.end() || now >= it->second) return;
  requests_.erase(it);
  sink.proto_response(source, kind, data, len);
}

void Payload::request(const Key& dest, ProtoRequest kind, uint64_t now, PayloadSink& sink) {
  static const uint8_t kMessages[][3] = {
      {kPayloadProto, kProtoNodeInfoRequest, 0},
      {kPayloadProto, kProtoDebug, kDebugGetSelfRequest},
      {kPayloadProto, kProtoDebug, kDebugGetPeersRequest},
      {kPayloadProto, kProtoDebug, kDebugGetTreeRequest},
  };
  requests_[{dest, kind}] = now + kProtoRequestTimeout;
  size_t n = kind == ProtoRequest::kNodeInfo ? 2 : 3;
  send_built(dest, kMessages[static_cast<size_t>(kind)], n, nullptr, 0, sink);
}

void Payload::send_built(const Key& dest, const uint8_t* prefix, size_t prefix_len, const uint8_t* body, size_t len,
                         PayloadSink& sink) {
  if (scratch_.size() < kSessionHeadroom + prefix_len + len) scratch_.resize(kSessionHeadroom + prefix_len + len);
  uint8_t* msg = scratch_.data() + kSessionHeadroom;
  std::memcpy(msg, prefix, prefix_len);
  if (len) std::memcpy(msg + prefix_len, body, len);
  sink.send_message(dest, msg, prefix_len + len);
}

// -------------------------------------------------------------------------------------------- timers

void Payload::tick(uint64_t now) {
  for (auto it = keys_.begin(); it != keys_.end();) {
    if (now < it->second.expires) {
      ++it;
      continue;
    }
    // Another key may have taken over a route since (colliding prefixes); leave that one alone.
    for (const Route& r : {it->second.address, route_of(it->second.subnet)}) {
      auto route = routes_.find(r);
      if (route != routes_.end() && route->second == it->first) routes_.erase(route);
    }
    it = keys_.erase(it);
  }
  std::erase_if(pending_, [now](const auto& kv) { return now >= kv.second.expires; });
  std::erase_if(lookups_, [now](const auto& kv) { return now >= kv.second; });
  std::erase_if(requests_, [now](const auto& kv) { return now >= kv.second; });
}

uint64_t Payload::next_deadline() const {
  uint64_t next = kNoDeadline;
  for (const auto& [k, info] : keys_) next = std::min(next, info.expires);
  for (const auto& [r, p] : pending_) next = std::min(next, p.expires);
  return earliest(requests_, earliest(lookups_, next));
}

}  // namespace gw::planetary
