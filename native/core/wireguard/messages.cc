#include "messages.h"

namespace gw::wg {

MessageType classify(const uint8_t* data, size_t len) {
  if (data == nullptr || len < 4) return MessageType::kInvalid;
  switch (load_le32(data)) {
    case 1: return len == kInitiationSize ? MessageType::kInitiation : MessageType::kInvalid;
    case 2: return len == kResponseSize ? MessageType::kResponse : MessageType::kInvalid;
    case 3: return len == kCookieReplySize ? MessageType::kCookieReply : MessageType::kInvalid;
    case 4: return len >= kTransportMinSize ? MessageType::kTransport : MessageType::kInvalid;
    default: return MessageType::kInvalid;
  }
}

namespace {

template <typename Msg>
bool decode_as(MessageType want, const uint8_t* data, size_t len, Msg* out) {
  if (classify(data, len) != want) return false;
  std::memcpy(out, data, sizeof(Msg));
  return true;
}

template <typename Msg>
void set_type(Msg* m, MessageType t) {
  store_le32(m->type, static_cast<uint32_t>(t));
}

}  // namespace

bool decode(const uint8_t* d, size_t n, MsgInitiation* out) { return decode_as(MessageType::kInitiation, d, n, out); }
bool decode(const uint8_t* d, size_t n, MsgResponse* out) { return decode_as(MessageType::kResponse, d, n, out); }
bool decode(const uint8_t* d, size_t n, MsgCookieReply* out) { return decode_as(MessageType::kCookieReply, d, n, out); }

void init_header(MsgInitiation* m) { set_type(m, MessageType::kInitiation); }
void init_header(MsgResponse* m) { set_type(m, MessageType::kResponse); }
void init_header(MsgCookieReply* m) { set_type(m, MessageType::kCookieReply); }

void write_transport_header(uint8_t* msg, uint32_t receiver_index, uint64_t counter) {
  store_le32(msg, static_cast<uint32_t>(MessageType::kTransport));
  store_le32(msg + 4, receiver_index);
  store_le64(msg + 8, counter);
}

size_t padded_length(size_t inner_len, size_t mtu) {
  auto align = [](size_t n) { return (n + kPaddingMultiple - 1) & ~(kPaddingMultiple - 1); };
  if (mtu == 0) return align(inner_len);
  // Only GSO super-packets exceed the MTU; their last segment is what gets padded.
  size_t last = inner_len > mtu ? inner_len % mtu : inner_len;
  size_t padded = align(last);
  if (padded > mtu) padded = mtu;
  return inner_len + (padded - last);
}

size_t inner_packet_length(const uint8_t* p, size_t len) {
  if (len == 0) return 0;
  switch (p[0] >> 4) {
    case 4: {
      if (len < 20) return 0;
      size_t total = size_t(p[2]) << 8 | p[3];
      return total >= 20 && total <= len ? total : 0;
    }
    case 6: {
      if (len < 40) return 0;
      size_t total = 40 + (size_t(p[4]) << 8 | p[5]);
      return total <= len ? total : 0;
    }
    default: return 0;
  }
}

}  // namespace gw::wg
