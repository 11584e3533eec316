#include "frames.h"

#include "../../crypto/curve.h"

namespace gw::planetary {

namespace {

// The Notify/Broken header shared by both: path ‖ watermark ‖ source ‖ dest.
void read_routed(Reader& r, Path* path, uint64_t* watermark, Key* source, Key* dest) {
  r.path(path);
  r.uvarint(watermark);
  r.key(source);
  r.key(dest);
}

void write_routed(Writer& w, const Path& path, uint64_t watermark, const Key& source, const Key& dest) {
  w.path(path);
  w.uvarint(watermark);
  w.key(source);
  w.key(dest);
}

void read_res(Reader& r, SigRes* m) {
  r.uvarint(&m->req.seq);
  r.uvarint(&m->req.nonce);
  r.uvarint(&m->port);
  r.sig(&m->psig);
}

void write_res(Writer& w, const SigRes& m) {
  w.uvarint(m.req.seq);
  w.uvarint(m.req.nonce);
  w.uvarint(m.port);
  w.sig(m.psig);
}

}  // namespace

size_t sig_bytes(const Key& node, const Key& parent, uint64_t seq, uint64_t nonce, uint64_t port,
                 uint8_t out[kMaxSigBytes]) {
  std::memcpy(out, node.data(), kKeyLen);
  std::memcpy(out + kKeyLen, parent.data(), kKeyLen);
  size_t n = 2 * kKeyLen;
  n += put_uvarint(out + n, seq);
  n += put_uvarint(out + n, nonce);
  n += put_uvarint(out + n, port);
  return n;
}

bool Announce::same_as(const Announce& o) const {
  return key == o.key && parent == o.parent && res.req == o.res.req && res.port == o.res.port &&
         res.psig == o.res.psig && sig == o.sig;
}

bool Announce::verify() const {
  if (res.port == 0 && key != parent) return false;
  uint8_t msg[kMaxSigBytes];
  size_t n = sig_bytes(key, parent, res.req.seq, res.req.nonce, res.port, msg);
  return crypto::ed25519_verify(key.data(), msg, n, sig.data()) &&
         crypto::ed25519_verify(parent.data(), msg, n, res.psig.data());
}

void NotifyInfo::signed_bytes(std::vector<uint8_t>* out) const {
  out->clear();
  Writer w(out);
  w.uvarint(seq);
  w.path(path);
}

bool decode(const uint8_t* body, size_t len, SigReq* m) {
  Reader r(body, len);
  r.uvarint(&m->seq);
  r.uvarint(&m->nonce);
  return r.done();
}

bool decode(const uint8_t* body, size_t len, SigRes* m) {
  Reader r(body, len);
  read_res(r, m);
  return r.done();
}

bool decode(const uint8_t* body, size_t len, Announce* m) {
  Reader r(body, len);
  r.key(&m->key);
  r.key(&m->parent);
  read_res(r, &m->res);
  r.sig(&m->sig);
  return r.done();
}

bool decode(const uint8_t* body, size_t len, Bloom* m) {
  Reader r(body, len);
  return m->decode(r) && r.done();
}

bool decode(const uint8_t* body, size_t len, PathLookup* m) {
  Reader r(body, len);
  r.key(&m->source);
  r.key(&m->dest);
  r.path(&m->from);
  return r.done();
}

bool decode(const uint8_t* body, size_t len, PathNotify* m) {
  Reader r(body, len);
  read_routed(r, &m->path, &m->watermark, &m->source, &m->dest);
  r.uvarint(&m->info.seq);
  r.path(&m->info.path);
  r.sig(&m->info.sig);
  return r.done();
}

bool decode(const uint8_t* body, size_t len, PathBroken* m) {
  Reader r(body, len);
  read_routed(r, &m->path, &m->watermark, &m->source, &m->dest);
  return r.done();
}

bool decode(const uint8_t* body, size_t len, Traffic* m) {
  Reader r(body, len);
  r.path(&m->path);
  r.path(&m->from);
  r.key(&m->source);
  r.key(&m->dest);
  // Unlike Notify/Broken, the watermark follows the keys (spec §9.4: getting this wrong drops links).
  r.uvarint(&m->watermark);
  r.rest(&m->payload, &m->payload_len);
  return r.done();
}

void encode(const SigReq& m, std::vector<uint8_t>* out) {
  Writer w(out);
  w.u8(kFrameSigReq);
  w.uvarint(m.seq);
  w.uvarint(m.nonce);
}

void encode(const SigRes& m, std::vector<uint8_t>* out) {
  Writer w(out);
  w.u8(kFrameSigRes);
  write_res(w, m);
}

void encode(const Announce& m, std::vector<uint8_t>* out) {
  Writer w(out);
  w.u8(kFrameAnnounce);
  w.key(m.key);
  w.key(m.parent);
  write_res(w, m.res);
  w.sig(m.sig);
}

void encode(const Bloom& m, std::vector<uint8_t>* out) {
  Writer w(out);
  w.u8(kFrameBloom);
  m.encode(w);
}

void encode(const PathLookup& m, std::vector<uint8_t>* out) {
  Writer w(out);
  w.u8(kFramePathLookup);
  w.key(m.source);
  w.key(m.dest);
  w.path(m.from);
}

void encode(const PathNotify& m, std::vector<uint8_t>* out) {
  Writer w(out);
  w.u8(kFramePathNotify);
  write_routed(w, m.path, m.watermark, m.source, m.dest);
  w.uvarint(m.info.seq);
  w.path(m.info.path);
  w.sig(m.info.sig);
}

void encode(const PathBroken& m, std::vector<uint8_t>* out) {
  Writer w(out);
  w.u8(kFramePathBroken);
  write_routed(w, m.path, m.watermark, m.source, m.dest);
}

void encode(const Traffic& m, std::vector<uint8_t>* out) {
  Writer w(out);
  w.u8(kFrameTraffic);
  w.path(m.path);
  w.path(m.from);
  w.key(m.source);
  w.key(m.dest);
  w.uvarint(m.watermark);
  w.bytes(m.payload, m.payload_len);
}

}  // namespace gw::planetary
