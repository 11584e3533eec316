// yggdrasil's payload layer (spec §6): the type byte inside session messages, IPv6 between the TUN and
// the network with the key store (address/subnet → key, one pending packet per destination, lookups),
// the source/destination checks, ICMPv6 Packet Too Big, and the proto messages (NodeInfo, debug).
// Sans-IO and single-threaded like the rest of the planetary core.
//
// Buffer contract: from_tun() takes the packet in place and needs kPayloadHeadroom writable bytes in
// front of it (it writes the 0x01 type byte there and hands the message on with kSessionHeadroom still
// free for Sessions::send). PayloadSink::send_message always receives a message with kSessionHeadroom
// writable bytes in front, which it may clobber, so the engine can call Sessions::send (in place) on it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "address.h"
#include "session.h"
#include "types.h"

namespace gw::planetary {

constexpr size_t kPayloadHeadroom = kSessionHeadroom + 1;
constexpr size_t kMinTunMtu = 1280;
constexpr size_t kMaxTunMtu = 65535;
constexpr uint64_t kKeyStoreTimeout = 120 * kSecond;
constexpr uint64_t kLookupThrottle = kSecond;
constexpr uint64_t kProtoRequestTimeout = 60 * kSecond;
constexpr size_t kMaxNodeInfoLen = 16384;

enum PayloadType : uint8_t { kPayloadIpv6 = 0x01, kPayloadProto = 0x02 };

// Remote queries of §6.5; each is answered by the remote's matching response.
enum class ProtoRequest : uint8_t { kNodeInfo, kGetSelf, kGetPeers, kGetTree };

class PayloadSink {
 public:
  virtual ~PayloadSink() = default;
  // msg[-kSessionHeadroom, len) is writable and may be clobbered → Sessions::send.
  virtual void send_message(const Key& dest, uint8_t* msg, size_t len) = 0;
  // Find the full key behind an address/subnet (→ Router::lookup). Already throttled here to one per
  // second per transformed key (the router need not throttle again).
  virtual void lookup(const Key& partial_key) = 0;
  virtual void write_tun(const uint8_t* packet, size_t len) = 0;

  // Answer to one of our requests(): the NodeInfo JSON, the GetSelf JSON, or concatenated 32-byte keys.
  virtual void proto_response(const Key& /*from*/, ProtoRequest /*kind*/, const uint8_t* /*data*/, size_t /*len*/) {}
  // What the debug requests of remote nodes are answered with (router state; defaults answer empty).
  virtual uint64_t routing_entries() { return 0; }
  virtual void peer_keys(std::vector<Key>* /*out*/) {}
  virtual void tree_keys(std::vector<Key>* /*out*/) {}
};

class Payload {
 public:
  explicit Payload(const Key& self, size_t tun_mtu = kMaxTunMtu);

  void set_tun_mtu(size_t mtu);  // clamped to [1280, 65535] as the reference does
  size_t tun_mtu() const { return tun_mtu_; }
  // The complete NodeInfo response JSON (the control plane merges the build fields unless privacy is on).
  // False (and unchanged) above 16384 bytes.
  bool set_nodeinfo(const std::string& json);
  const Address& address() const { return address_; }
  const Subnet& subnet() const { return subnet_; }

  // An IPv6 packet read from the TUN; pkt[-kPayloadHeadroom, len) writable, clobbered.
  void from_tun(uint8_t* pkt, size_t len, uint64_t now, PayloadSink& sink);
  // A session message from source (Sessions' deliver).
  void from_network(const Key& source, const uint8_t* msg, size_t len, uint64_t now, PayloadSink& sink);
  // The router learned a path to key (accepted PathNotify): learn its address/subnet, flush what waited.
  void path_found(const Key& key, uint64_t now, PayloadSink& sink);
  // Sends a proto request to a full key; the response arrives via PayloadSink::proto_response.
  void request(const Key& dest, ProtoRequest kind, uint64_t now, PayloadSink& sink);
  void tick(uint64_t now);
  uint64_t next_deadline() const;  // kNoDeadline when idle

  size_t known_keys() const { return keys_.size(); }
  size_t pending_packets() const { return pending_.size(); }

 private:
  // A destination route: a node address, or a /64 stored as its 8-byte prefix followed by zeros.
  using Route = Address;
  struct KeyInfo {
    Address address;
    Subnet subnet;
    uint64_t expires;
  };
  struct Pending {
    std::vector<uint8_t> buf;  // kSessionHeadroom ‖ 0x01 ‖ packet
    uint64_t expires;
  };

  void send_routed(const Route& route, uint8_t* msg, size_t len, uint64_t now, PayloadSink& sink);
  void hold(const Route& route, const uint8_t* msg, size_t len, uint64_t now, PayloadSink& sink);
  KeyInfo& learn(const Key& key, uint64_t now, PayloadSink& sink);
  void flush(const Route& route, const Key& key, PayloadSink& sink);
  void ipv6_from_network(const Key& source, const uint8_t* pkt, size_t len, uint64_t now, PayloadSink& sink);
  void send_packet_too_big(const uint8_t* pkt, size_t len, uint64_t now, PayloadSink& sink);

  void proto_from_network(const Key& source, const uint8_t* msg, size_t len, uint64_t now, PayloadSink& sink);
  void debug_from_network(const Key& source, const uint8_t* msg, size_t len, uint64_t now, PayloadSink& sink);
  void answer_keys(const Key& dest, uint8_t dtype, const std::vector<Key>& keys, PayloadSink& sink);
  void take_response(const Key& source, ProtoRequest kind, const uint8_t* data, size_t len, uint64_t now,
                     PayloadSink& sink);
  // Sends prefix ‖ body to dest through scratch_ (so the message has its headroom).
  void send_built(const Key& dest, const uint8_t* prefix, size_t prefix_len, const uint8_t* body, size_t len,
                  PayloadSink& sink);

  Key self_;
  Address address_;
  Subnet subnet_;
  size_t tun_mtu_;
  std::string nodeinfo_ = "{}";
  std::map<Key, KeyInfo> keys_;
  std::map<Route, Key> routes_;
  std::map<Route, Pending> pending_;
  std::map<Key, uint64_t> lookups_;  // transformed key → throttle end
  std::map<std::pair<Key, ProtoRequest>, uint64_t> requests_;
  std::vector<uint8_t> scratch_;
  std::vector<Key> keys_scratch_;
};

}  // namespace gw::planetary
