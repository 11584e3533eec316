// WireGuard wire formats (types 1–4). Every handshake message is a struct of byte arrays whose layout is the
// wire layout (alignment 1, no padding), so decode is a length/type check plus a copy and encode is a copy.
// Transport messages are never copied: the header is read and written in the caller's buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace gw::wg {

enum class MessageType : uint32_t {
  kInvalid = 0,  // too short, wrong size for its type, unknown type or non-zero reserved bytes
  kInitiation = 1,
  kResponse = 2,
  kCookieReply = 3,
  kTransport = 4,
};

constexpr size_t kKeyLen = 32;
constexpr size_t kMacLen = 16;
constexpr size_t kTagLen = 16;
constexpr size_t kTimestampLen = 12;
constexpr size_t kCookieLen = 16;
constexpr size_t kCookieNonceLen = 24;

constexpr size_t kInitiationSize = 148;
constexpr size_t kResponseSize = 92;
constexpr size_t kCookieReplySize = 64;
constexpr size_t kTransportHeaderSize = 16;
constexpr size_t kTransportMinSize = kTransportHeaderSize + kTagLen;  // a keepalive
constexpr size_t kPaddingMultiple = 16;
// Room a caller must leave after the inner packet for padding and the tag.
constexpr size_t kTransportTailroom = kPaddingMultiple - 1 + kTagLen;
constexpr size_t kMaxMessageSize = 65535;

inline uint32_t load_le32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
inline void store_le32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline uint64_t load_le64(const uint8_t* p) { return uint64_t(load_le32(p)) | uint64_t(load_le32(p + 4)) << 32; }
inline void store_le64(uint8_t* p, uint64_t v) {
  store_le32(p, static_cast<uint32_t>(v));
  store_le32(p + 4, static_cast<uint32_t>(v >> 32));
}

struct MsgInitiation {
  uint8_t type[4];
  uint8_t sender_index[4];
  uint8_t ephemeral[kKeyLen];
  uint8_t encrypted_static[kKeyLen + kTagLen];
  uint8_t encrypted_timestamp[kTimestampLen + kTagLen];
  uint8_t mac1[kMacLen];
  uint8_t mac2[kMacLen];
};

struct MsgResponse {
  uint8_t type[4];
  uint8_t sender_index[4];
  uint8_t receiver_index[4];
  uint8_t ephemeral[kKeyLen];
  uint8_t encrypted_nothing[kTagLen];
  uint8_t mac1[kMacLen];
  uint8_t mac2[kMacLen];
};

struct MsgCookieReply {
  uint8_t type[4];
  uint8_t receiver_index[4];
  uint8_t nonce[kCookieNonceLen];
  uint8_t encrypted_cookie[kCookieLen + kTagLen];
};

static_assert(sizeof(MsgInitiation) == kInitiationSize && alignof(MsgInitiation) == 1);
static_assert(sizeof(MsgResponse) == kResponseSize && alignof(MsgResponse) == 1);
static_assert(sizeof(MsgCookieReply) == kCookieReplySize && alignof(MsgCookieReply) == 1);

// mac1 covers everything before it, mac2 everything before it (including mac1).
constexpr size_t kInitiationMac1Offset = offsetof(MsgInitiation, mac1);
constexpr size_t kResponseMac1Offset = offsetof(MsgResponse, mac1);

// Type and length check in one step, as wireguard-go and the kernel do (reserved bytes must be zero).
MessageType classify(const uint8_t* data, size_t len);

bool decode(const uint8_t* data, size_t len, MsgInitiation* out);
bool decode(const uint8_t* data, size_t len, MsgResponse* out);
bool decode(const uint8_t* data, size_t len, MsgCookieReply* out);

// Sets the type field; callers fill the rest.
void init_header(MsgInitiation* m);
void init_header(MsgResponse* m);
void init_header(MsgCookieReply* m);

template <typename Msg>
inline const uint8_t* bytes(const Msg& m) {
  return reinterpret_cast<const uint8_t*>(&m);
}
template <typename Msg>
inline uint8_t* bytes(Msg& m) {
  return reinterpret_cast<uint8_t*>(&m);
}

// Transport header view over a caller buffer of at least kTransportHeaderSize bytes.
inline uint32_t transport_receiver_index(const uint8_t* msg) { return load_le32(msg + 4); }
inline uint64_t transport_counter(const uint8_t* msg) { return load_le64(msg + 8); }
void write_transport_header(uint8_t* msg, uint32_t receiver_index, uint64_t counter);

// Padded plaintext length for an inner packet (wireguard-go calculatePaddingSize): pad to 16, never past
// the MTU; mtu 0 means "unknown" and pads to 16 unconditionally.
size_t padded_length(size_t inner_len, size_t mtu);

// Length of the IP packet at the start of a decrypted payload, from its own header, or 0 if the payload is
// not a well-formed IPv4/IPv6 packet (this strips the sender's padding).
size_t inner_packet_length(const uint8_t* payload, size_t len);

}  // namespace gw::wg
