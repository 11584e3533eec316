// Codecs for the routing-layer frames, types 2–9 (spec §4.1–4.10). A frame is `type ‖ body`; the link
// layer owns the length prefix. Decoders take the body (after the type byte) and succeed only on exact
// consumption, except Traffic whose payload is "the rest". Encoders append `type ‖ body` to `out`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "bloom.h"
#include "types.h"
#include "wire.h"

namespace gw::planetary {

enum FrameType : uint8_t {
  kFrameDummy = 0,
  kFrameKeepAlive = 1,
  kFrameSigReq = 2,
  kFrameSigRes = 3,
  kFrameAnnounce = 4,
  kFrameBloom = 5,
  kFramePathLookup = 6,
  kFramePathNotify = 7,
  kFramePathBroken = 8,
  kFrameTraffic = 9,
};

// Signed bytes of a (node, parent) relationship; the longest form is 64 + 3·10 bytes.
constexpr size_t kMaxSigBytes = 2 * kKeyLen + 3 * kMaxUvarintLen;
size_t sig_bytes(const Key& node, const Key& parent, uint64_t seq, uint64_t nonce, uint64_t port,
                 uint8_t out[kMaxSigBytes]);

struct SigReq {
  uint64_t seq = 0;
  uint64_t nonce = 0;
  bool operator==(const SigReq&) const = default;
};

struct SigRes {
  SigReq req;
  uint64_t port = 0;
  Signature psig{};
};

// Also the stored tree info of a node (key's RouterInfo plus the key itself).
struct Announce {
  Key key{};
  Key parent{};
  SigRes res;
  Signature sig{};
  bool same_as(const Announce& o) const;
  // Structural rule (port 0 ⇔ self-parented) plus both signatures.
  bool verify() const;
};

struct PathLookup {
  Key source{};
  Key dest{};
  Path from;
};

// The responder's signed coordinates carried by a PathNotify.
struct NotifyInfo {
  uint64_t seq = 0;
  Path path;
  Signature sig{};
  // The signed message is `uvarint(seq) ‖ path(path)`.
  void signed_bytes(std::vector<uint8_t>* out) const;
};

struct PathNotify {
  Path path;
  uint64_t watermark = kMaxU64;
  Key source{};
  Key dest{};
  NotifyInfo info;
};

struct PathBroken {
  Path path;
  uint64_t watermark = kMaxU64;
  Key source{};
  Key dest{};
};

// A view: payload points into the decoded frame.
struct Traffic {
  Path path;
  Path from;
  Key source{};
  Key dest{};
  uint64_t watermark = kMaxU64;
  const uint8_t* payload = nullptr;
  size_t payload_len = 0;
};

bool decode(const uint8_t* body, size_t len, SigReq* m);
bool decode(const uint8_t* body, size_t len, SigRes* m);
bool decode(const uint8_t* body, size_t len, Announce* m);
bool decode(const uint8_t* body, size_t len, Bloom* m);
bool decode(const uint8_t* body, size_t len, PathLookup* m);
bool decode(const uint8_t* body, size_t len, PathNotify* m);
bool decode(const uint8_t* body, size_t len, PathBroken* m);
bool decode(const uint8_t* body, size_t len, Traffic* m);

void encode(const SigReq& m, std::vector<uint8_t>* out);
void encode(const SigRes& m, std::vector<uint8_t>* out);
void encode(const Announce& m, std::vector<uint8_t>* out);
void encode(const Bloom& m, std::vector<uint8_t>* out);
void encode(const PathLookup& m, std::vector<uint8_t>* out);
void encode(const PathNotify& m, std::vector<uint8_t>* out);
void encode(const PathBroken& m, std::vector<uint8_t>* out);
void encode(const Traffic& m, std::vector<uint8_t>* out);

}  // namespace gw::planetary
