// Interop probe: a Router behind a minimal TCP link shim (0.5 "meta" preamble, uvarint framing,
// keepalive every second) dialled to a real yggdrasil 0.5.12. Prints what the router learned and exits
// 0 if it joined the tree under the real node's root and a lookup of the real node succeeded.
// Usage: router_interop HOST PORT SECONDS [low|high]  (low/high: pick a key that likely becomes root/child)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../../core/planetary/router.h"
#include "../../crypto/crypto.h"
#include "../../crypto/curve.h"
#include "../../crypto/hash.h"

using namespace gw::planetary;

namespace {

uint64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * kSecond + uint64_t(ts.tv_nsec);
}

bool write_all(int fd, const uint8_t* p, size_t n) {
  while (n) {
    ssize_t w = ::write(fd, p, n);
    if (w <= 0) return false;
    p += w, n -= size_t(w);
  }
  return true;
}

bool read_all(int fd, uint8_t* p, size_t n) {
  while (n) {
    ssize_t r = ::read(fd, p, n);
    if (r <= 0) return false;
    p += r, n -= size_t(r);
  }
  return true;
}

std::vector<uint8_t> preamble(const uint8_t seed[32], const Key& pub) {
  std::vector<uint8_t> body = {0, 0, 0, 2, 0, 0, 0, 1, 0, 2, 0, 5, 0, 2, 0, 32};
  body.insert(body.end(), pub.begin(), pub.end());
  body.insert(body.end(), {0, 3, 0, 1, 0});
  uint8_t hash[64], sig[64];
  gw::crypto::blake2b512(nullptr, 0, pub.data(), pub.size(), hash);
  gw::crypto::ed25519_sign(seed, hash, sizeof hash, sig);
  body.insert(body.end(), sig, sig + 64);
  std::vector<uint8_t> out = {'m', 'e', 't', 'a', uint8_t(body.size() >> 8), uint8_t(body.size())};
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

bool peer_key_from_preamble(int fd, Key* key) {
  uint8_t head[6];
  if (!read_all(fd, head, 6) || std::memcmp(head, "meta", 4)) return false;
  std::vector<uint8_t> body((head[4] << 8) | head[5]);
  if (!read_all(fd, body.data(), body.size()) || body.size() < 64) return false;
  for (size_t off = 0; off + 4 <= body.size() - 64;) {
    size_t type = (body[off] << 8) | body[off + 1], len = (body[off + 2] << 8) | body[off + 3];
    if (type == 2 && len == 32) return std::memcpy(key->data(), &body[off + 4], 32), true;
    off += 4 + len;
  }
  return false;
}

struct Shim : RouterSink {
  int fd;
  Key looked_up{};
  bool found = false;
  const char* closed = nullptr;
  void send_frame(LinkId, const uint8_t* frame, size_t len) override {
    uint8_t prefix[kMaxUvarintLen];
    write_all(fd, prefix, put_uvarint(prefix, len));
    write_all(fd, frame, len);
  }
  void deliver(const Key&, const uint8_t*, size_t) override {}
  void path_found(const Key& key) override { found |= key == looked_up; }
  void close_link(LinkId, const char* reason) override { closed = reason; }
};

// Feeds every complete frame in buf to the router; keeps the incomplete tail.
bool drain(std::vector<uint8_t>* buf, Router& r, Shim& shim) {
  size_t off = 0;
  for (;;) {
    uint64_t len;
    size_t n = get_uvarint(buf->data() + off, buf->size() - off, &len);
    if (n == 0 || buf->size() - off - n < len) break;
    if (len == 0 || len > 131070) return false;
    r.handle_frame(1, buf->data() + off + n, len, mono_ns(), shim);
    off += n + len;
  }
  buf->erase(buf->begin(), buf->begin() + off);
  return shim.closed == nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4 || gw::crypto::init()) return 2;
  uint8_t seed[32];
  const char* want = argc > 4 ? argv[4] : "";
  for (Key k{};;) {
    gw::crypto::random_bytes(seed, sizeof seed);
    gw::crypto::ed25519_public(seed, k.data());
    if ((!std::strcmp(want, "low") && k[0] > 0x0f) || (!std::strcmp(want, "high") && k[0] < 0xf0)) continue;
    break;
  }
  Router router(seed);
  Shim shim;
  shim.fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(uint16_t(std::atoi(argv[2])));
  inet_pton(AF_INET, argv[1], &sa.sin_addr);
  if (connect(shim.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return perror("connect"), 2;
  std::vector<uint8_t> pre = preamble(seed, router.key());
  Key peer;
  if (!write_all(shim.fd, pre.data(), pre.size()) || !peer_key_from_preamble(shim.fd, &peer)) return 3;
  shim.looked_up = peer;
  router.add_link(1, peer, 0, mono_ns(), shim);
  uint64_t end = mono_ns() + uint64_t(std::atoi(argv[3])) * kSecond, next_ka = 0, lookup_at = mono_ns() + 4 * kSecond;
  std::vector<uint8_t> buf;
  while (mono_ns() < end && !shim.closed) {
    pollfd p{shim.fd, POLLIN, 0};
    if (poll(&p, 1, 50) > 0) {
      uint8_t tmp[65536];
      ssize_t n = read(shim.fd, tmp, sizeof tmp);
      if (n <= 0) return std::printf("link closed by peer\n"), 4;
      buf.insert(buf.end(), tmp, tmp + n);
      if (!drain(&buf, router, shim)) break;
    }
    uint64_t now = mono_ns();
    if (now >= router.next_deadline()) router.tick(now, shim);
    if (now >= next_ka) next_ka = now + kSecond, shim.send_frame(1, (const uint8_t*)"\x01", 1);
    if (lookup_at && now >= lookup_at) lookup_at = 0, router.lookup(peer, now, shim);
  }
  RouterSelfInfo s = router.self_info();
  auto hex = [](const Key& k) { for (int i = 0; i < 4; i++) std::printf("%02x", k[i]); };
  std::printf("self "), hex(s.key), std::printf(" root "), hex(s.root), std::printf(" seq %llu coords [", (unsigned long long)s.seq);
  for (uint64_t port : s.coords) std::printf(" %llu", (unsigned long long)port);
  std::printf(" ] entries %zu found %d closed %s\n", s.routing_entries, shim.found, shim.closed ? shim.closed : "-");
  bool root_ok = key_less(peer, router.key()) ? s.root == peer && s.coords.size() == 1 : s.root == router.key();
  return root_ok && shim.found && !shim.closed ? 0 : 1;
}
