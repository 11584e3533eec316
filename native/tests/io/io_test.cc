// io/ against the real kernel. The process moves itself into a fresh network namespace (so TUN names,
// addresses and ports cannot collide with the host), which needs root; without it only the pure tests
// run and the namespace tests are reported as skipped.
#include <arpa/inet.h>
#include <netinet/ip.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>

#include "../../io/endpoint.h"
#include "../../io/packet.h"
#include "../../io/poller.h"
#include "../../io/tun.h"
#include "../../io/udp.h"
#include "harness.h"

using namespace gw::io;

namespace {

bool g_netns = false;  // true once we are root inside our own namespace

bool need_netns() {
  if (!g_netns) gwtest::skip("needs root (CAP_NET_ADMIN) and a private network namespace");
  return g_netns;
}

bool sh(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
bool sh(const char* fmt, ...) {
  char cmd[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  const int rc = std::system(cmd);
  CHECKF(rc == 0, "command failed (%d): %s", rc, cmd);
  return rc == 0;
}

std::string to_string(const Endpoint& ep) {
  char buf[Endpoint::kMaxText];
  ep.format(buf, sizeof buf);
  return buf;
}

// ---- IPv4 packet building/parsing for the TUN side ----

uint16_t checksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += (p[i] << 8) | p[i + 1];
  if (n & 1) sum += p[n - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

void put16(uint8_t* p, uint16_t v) { p[0] = static_cast<uint8_t>(v >> 8), p[1] = static_cast<uint8_t>(v); }
uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// Writes an IPv4 header for proto with body_len bytes following; returns the header length.
size_t ip4_header(uint8_t* p, uint8_t proto, const char* src, const char* dst, size_t body_len) {
  std::memset(p, 0, 20);
  p[0] = 0x45;
  put16(p + 2, static_cast<uint16_t>(20 + body_len));
  p[8] = 64;
  p[9] = proto;
  inet_pton(AF_INET, src, p + 12);
  inet_pton(AF_INET, dst, p + 16);
  put16(p + 10, checksum(p, 20));
  return 20;
}

// UDP with checksum 0 (allowed for IPv4).
size_t build_udp4(Packet& pkt, const char* src, uint16_t sport, const char* dst, uint16_t dport, const void* body,
                  size_t n) {
  uint8_t* p = pkt.data;
  ip4_header(p, IPPROTO_UDP, src, dst, 8 + n);
  put16(p + 20, sport);
  put16(p + 22, dport);
  put16(p + 24, static_cast<uint16_t>(8 + n));
  put16(p + 26, 0);
  std::memcpy(p + 28, body, n);
  return pkt.len = static_cast<uint32_t>(28 + n);
}

size_t build_echo4(Packet& pkt, const char* src, const char* dst, uint16_t id, uint16_t seq) {
  uint8_t* p = pkt.data;
  ip4_header(p, IPPROTO_ICMP, src, dst, 16);
  uint8_t* icmp = p + 20;
  std::memset(icmp, 0, 16);
  icmp[0] = 8;  // echo request
  put16(icmp + 4, id);
  put16(icmp + 6, seq);
  std::memcpy(icmp + 8, "gridwire", 8);
  put16(icmp + 2, checksum(icmp, 16));
  return pkt.len = 36;
}

bool is_ip4(const Packet& p, uint8_t proto) { return p.len >= 20 && p.data[0] >> 4 == 4 && p.data[9] == proto; }

// Reads from the TUN until `want` packets satisfy keep() or 2 s pass; others (IPv6 RS/MLD chatter the
// kernel sends on a fresh interface) are skipped.
size_t read_tun_until(Tun& tun, Poller& poller, PacketPool& pool, size_t want,
                      const std::function<void(const Packet&)>& keep, const std::function<bool(const Packet&)>& match) {
  Batch b;
  pool.fill(b);
  size_t got = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (got < want && std::chrono::steady_clock::now() < deadline) {
    epoll_event ev[4];
    poller.wait(ev, 4, 100);
    const IoResult r = tun.read_batch(b);
    CHECKF(r.status == IoStatus::kOk || r.status == IoStatus::kAgain, "tun read status %d err %d", int(r.status), r.err);
    for (size_t i = 0; i < b.count; ++i)
      if (match(b.pkts[i])) keep(b.pkts[i]), ++got;
  }
  pool.drain(b);
  return got;
}

struct TunFixture {
  Tun tun;
  Poller poller;
  PacketPool pool;
  bool ok = false;

  TunFixture(const char* name, const char* cidr, bool vnet = false) {
    TunConfig cfg;
    cfg.name = name;
    cfg.vnet_hdr = vnet;
    const int err = tun.open(cfg);
    CHECKF(err == 0, "tun open %s: %s", name, std::strerror(-err));
    ok = err == 0 && pool.init(256, 2048) && poller.open() == 0 && poller.add(tun.fd(), EPOLLIN, 1) == 0 &&
         sh("ip addr add %s dev %s", cidr, tun.name());
  }
};

// ---- pure tests ----

TEST(endpoint_parse_format_compare) {
  Endpoint a, b;
  CHECK(Endpoint::parse("192.0.2.7:51820", &a) && to_string(a) == "192.0.2.7:51820" && a.port() == 51820);
  CHECK(Endpoint::parse("[2001:db8::1]:443", &b) && to_string(b) == "[2001:db8::1]:443" && b.family() == AF_INET6);
  CHECK(a != b);
  CHECK(Endpoint::parse("[::ffff:192.0.2.7]:51820", &b) && b.family() == AF_INET && a == b);
  CHECK(Endpoint::parse("[fe80::1%3]:1", &b) && to_string(b) == "[fe80::1%3]:1");
  CHECK(Endpoint::parse("192.0.2.7:51821", &b) && a != b);
  for (const char* bad : {"192.0.2.7", "192.0.2.7:", "192.0.2.7:65536", "[::1]", "[::1]x1", "::1:5", "a.b.c.d:1", "[::1]:-1"})
    CHECKF(!Endpoint::parse(bad, &b), "accepted %s", bad);
  sockaddr_in6 mapped{};
  mapped.sin6_family = AF_INET6;
  mapped.sin6_port = htons(9);
  inet_pton(AF_INET6, "::ffff:10.0.0.1", &mapped.sin6_addr);
  CHECK(Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&mapped), sizeof mapped, &b) && to_string(b) == "10.0.0.1:9");
  char tiny[8];
  CHECK(a.format(tiny, sizeof tiny) == 0 && tiny[0] == '\0');
}

TEST(packet_pool_and_headroom) {
  PacketPool pool;
  CHECK(pool.init(100, 1420));
  Batch b;
  CHECK(!pool.fill(b) || pool.available() == 36);
  CHECK(pool.available() == 36);
  Packet& p = b.pkts[0];
  CHECK(reinterpret_cast<uintptr_t>(p.data) % 64 == 0 && p.cap == 1420 && p.headroom() == kHeadroom);
  p.len = 100;
  CHECK(p.push(kWgDataHdrLen) == p.data && p.len == 116 && p.headroom() == kHeadroom - kWgDataHdrLen);
  CHECK(p.push(kHeadroom) == nullptr);
  CHECK(p.put(16 + 15) != nullptr);
  p.pull(kWgDataHdrLen);
  CHECK(p.len == 131 && p.cap == 1420);
  p.len = 1420;
  CHECK(p.put(kTailroom) != nullptr && p.put(1) == nullptr);
  p.rewind();
  CHECK(p.len == 0 && p.cap == 1420 && p.headroom() == kHeadroom);
  pool.drain(b);
  CHECK(pool.available() == 100);
  PacketPool tiny;
  CHECK(tiny.init(10, 64) && !tiny.fill(b) && tiny.available() == 0);
  tiny.drain(b);
  CHECK(tiny.available() == 10);
}

TEST(poller_wake_from_another_thread) {
  Poller poller;
  CHECK(poller.open() == 0);
  const auto start = std::chrono::steady_clock::now();
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    poller.wake();
  });
  epoll_event ev[4];
  const int n = poller.wait(ev, 4, 5000);
  t.join();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  CHECK(n == 1 && ev[0].data.u64 == Poller::kWakeToken);
  CHECKF(ms < 1000, "wake took %lld ms", static_cast<long long>(ms));
  CHECK(poller.wait(ev, 4, 0) == 0);  // drained: no stale wake-up
}

// ---- TUN ----

TEST(tun_open_sets_name_mtu_up) {
  if (!need_netns()) return;
  Tun tun;
  TunConfig cfg;
  cfg.name = "gwt0";
  cfg.mtu = 1380;
  CHECK(tun.open(cfg) == 0);
  CHECK(std::strcmp(tun.name(), "gwt0") == 0);
  CHECK(tun.mtu() == 1380);
  CHECK(tun.set_mtu(1420) == 0 && tun.mtu() == 1420);
  CHECK(sh("ip link show gwt0 | grep -q ',UP'"));
  Tun other;
  cfg.name = "gwt%d";
  CHECK(other.open(cfg) == 0 && std::strncmp(other.name(), "gwt", 3) == 0 && std::strcmp(other.name(), "gwt0") != 0);
  Batch b;
  PacketPool pool;
  pool.init(64, 1500);
  pool.fill(b);
  CHECK(tun.read_batch(b).status == IoStatus::kAgain || b.count > 0);  // nonblocking
  pool.drain(b);
}

void echo_roundtrip(bool vnet) {
  TunFixture f(vnet ? "gwv1" : "gwt1", vnet ? "10.9.5.1/24" : "10.9.1.1/24", vnet);
  if (!f.ok) return;
  CHECK(f.tun.vnet_hdr() == vnet);
  const char* local = vnet ? "10.9.5.1" : "10.9.1.1";
  const char* remote = vnet ? "10.9.5.2" : "10.9.1.2";
  Batch out;
  f.pool.fill(out);
  for (size_t i = 0; i < 8; ++i) build_echo4(out.pkts[i], remote, local, 0x4757, static_cast<uint16_t>(i));
  out.count = 8;
  const IoResult w = f.tun.write_batch(out);
  CHECK(w.status == IoStatus::kOk && w.count == 8 && w.dropped == 0);
  f.pool.drain(out);
  uint32_t seen = 0;
  const size_t got = read_tun_until(
      f.tun, f.poller, f.pool, 8, [&](const Packet& p) { seen |= 1u << get16(p.data + 26); },
      [&](const Packet& p) {
        uint8_t want_dst[4];
        inet_pton(AF_INET, remote, want_dst);
        return is_ip4(p, IPPROTO_ICMP) && p.data[20] == 0 && get16(p.data + 24) == 0x4757 &&
               std::memcmp(p.data + 16, want_dst, 4) == 0;
      });
  CHECKF(got == 8 && seen == 0xff, "got %zu echo replies (mask %x)", got, seen);
}

TEST(tun_icmp_echo_written_and_reply_read) {
  if (!need_netns()) return;
  echo_roundtrip(false);
}

TEST(tun_vnet_hdr_hook_echo) {
  if (!need_netns()) return;
  echo_roundtrip(true);
}

TEST(tun_udp_to_socket_and_back_in_batches) {
  if (!need_netns()) return;
  TunFixture f("gwt2", "10.9.2.1/24");
  UdpSocket sock;
  CHECK(sock.open(AF_INET, 5555) == 0 && sock.port() == 5555);
  if (!f.ok || !sock.is_open()) return;

  Batch out;
  f.pool.fill(out);
  for (uint32_t i = 0; i < kBatchSize; ++i) build_udp4(out.pkts[i], "10.9.2.2", 4444, "10.9.2.1", 5555, &i, sizeof i);
  out.count = kBatchSize;
  CHECK(f.tun.write_batch(out).count == kBatchSize);
  f.pool.drain(out);

  Batch in;
  f.pool.fill(in);
  size_t got = 0;
  uint64_t seen = 0;
  Endpoint want;
  Endpoint::parse("10.9.2.2:4444", &want);
  for (int tries = 0; tries < 200 && got < kBatchSize; ++tries) {
    const IoResult r = sock.recv_batch(in);
    if (r.status == IoStatus::kAgain) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    for (size_t i = 0; i < in.count; ++i, ++got) {
      uint32_t id;
      std::memcpy(&id, in.pkts[i].data, 4);
      seen |= 1ull << (id % 64);
      CHECKF(in.pkts[i].ep == want && in.pkts[i].len == 4, "from %s len %u", to_string(in.pkts[i].ep).c_str(), in.pkts[i].len);
    }
  }
  CHECKF(got == kBatchSize && seen == ~0ull, "socket got %zu of %zu from the TUN", got, kBatchSize);

  // Reply to every source in one sendmmsg; the kernel routes them back out of the TUN.
  for (size_t i = 0; i < in.count; ++i) in.pkts[i].len = 4;
  Batch replies;
  f.pool.fill(replies);
  for (uint32_t i = 0; i < kBatchSize; ++i) {
    std::memcpy(replies.pkts[i].data, &i, 4);
    replies.pkts[i].len = 4;
    replies.pkts[i].ep = want;
  }
  replies.count = kBatchSize;
  const IoResult s = sock.send_batch(replies.pkts, replies.count);
  CHECKF(s.count == kBatchSize && s.dropped == 0, "sent %zu dropped %zu err %d", s.count, s.dropped, s.err);
  f.pool.drain(replies);
  f.pool.drain(in);
  seen = 0;
  got = read_tun_until(
      f.tun, f.poller, f.pool, kBatchSize,
      [&](const Packet& p) {
        uint32_t id;
        std::memcpy(&id, p.data + 28, 4);
        seen |= 1ull << (id % 64);
      },
      [](const Packet& p) { return is_ip4(p, IPPROTO_UDP) && get16(p.data + 20) == 5555 && get16(p.data + 22) == 4444; });
  CHECKF(got == kBatchSize && seen == ~0ull, "TUN got %zu of %zu from the socket", got, kBatchSize);
}

// What the kernel does when the interface is deleted under an open fd (the answer is in tun.h).
TEST(tun_deletion_reported_as_gone) {
  if (!need_netns()) return;
  TunFixture f("gwdel", "10.9.3.1/24");
  if (!f.ok) return;
  sh("ip link del gwdel");
  epoll_event ev[4];
  const int n = f.poller.wait(ev, 4, 1000);
  CHECKF(n == 1 && (ev[0].events & EPOLLERR), "epoll after delete: n=%d events=0x%x", n, n > 0 ? ev[0].events : 0);
  Batch b;
  f.pool.fill(b);
  const IoResult r = f.tun.read_batch(b);
  std::printf("     after `ip link del`: epoll events 0x%x, read -> %s (%d)", n > 0 ? ev[0].events : 0, std::strerror(r.err), r.err);
  CHECK(r.status == IoStatus::kGone && r.count == 0);
  build_echo4(b.pkts[0], "10.9.3.2", "10.9.3.1", 1, 1);
  b.count = 1;
  const IoResult w = f.tun.write_batch(b);
  std::printf(", write -> %s (%d)\n", std::strerror(w.err), w.err);
  CHECK(w.status == IoStatus::kGone && w.count == 0);
  f.pool.drain(b);
  sh("! ip link show gwdel >/dev/null 2>&1");  // the fd did not keep the interface alive
}

// ---- UDP ----

size_t recv_all(UdpSocket& s, PacketPool& pool, Batch& in, size_t want, const std::function<void(const Packet&)>& each) {
  Poller poller;
  poller.open();
  poller.add(s.fd(), EPOLLIN, 1);
  size_t got = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  Batch chunk;
  pool.fill(chunk);
  while (got < want && std::chrono::steady_clock::now() < deadline) {
    epoll_event ev[2];
    poller.wait(ev, 2, 100);
    const IoResult r = s.recv_batch(chunk);
    CHECKF(r.status == IoStatus::kOk || r.status == IoStatus::kAgain, "recv status %d", int(r.status));
    for (size_t i = 0; i < chunk.count && got < want; ++i, ++got) {
      each(chunk.pkts[i]);
      std::swap(in.pkts[got], chunk.pkts[i]);  // keep the datagram, give chunk the spare slab
    }
  }
  in.count = got;
  pool.drain(chunk);
  return got;
}

void udp_roundtrip(const char* loopback, int family) {
  UdpBind a, b;
  UdpConfig cfg;
  CHECK(a.open(cfg) == 0 && b.open(cfg) == 0);
  CHECK(a.port() != 0 && a.v4().port() == a.port() && a.v6().port() == a.port());
  PacketPool pool;
  pool.init(4 * kBatchSize, 1500);
  char text[64];
  Endpoint a_ep, b_ep;
  std::snprintf(text, sizeof text, family == AF_INET ? "%s:%u" : "[%s]:%u", loopback, a.port());
  Endpoint::parse(text, &a_ep);
  std::snprintf(text, sizeof text, family == AF_INET ? "%s:%u" : "[%s]:%u", loopback, b.port());
  Endpoint::parse(text, &b_ep);

  Batch out;
  pool.fill(out);
  for (uint32_t i = 0; i < kBatchSize; ++i) {
    std::memcpy(out.pkts[i].data, &i, 4);
    out.pkts[i].len = 4 + i;  // distinct sizes catch length mix-ups
    out.pkts[i].ep = b_ep;
  }
  out.count = kBatchSize;
  const IoResult s = a.send_batch(out);
  CHECKF(s.count == kBatchSize && s.dropped == 0 && s.status == IoStatus::kOk, "send count %zu err %d", s.count, s.err);
  pool.drain(out);

  Batch in;
  UdpSocket& bs = family == AF_INET ? b.v4() : b.v6();
  const size_t got = recv_all(bs, pool, in, kBatchSize, [&](const Packet& p) {
    uint32_t id;
    std::memcpy(&id, p.data, 4);
    CHECKF(p.ep == a_ep && p.len == 4 + id, "from %s (want %s) len %u id %u", to_string(p.ep).c_str(), to_string(a_ep).c_str(), p.len, id);
  });
  CHECKF(got == kBatchSize, "received %zu of %zu", got, kBatchSize);

  // Echo everything back to where it came from: the batch already carries each source endpoint.
  const IoResult e = b.send_batch(in);
  CHECK(e.count == got && e.dropped == 0);
  pool.drain(in);
  UdpSocket& as = family == AF_INET ? a.v4() : a.v6();
  const size_t back = recv_all(as, pool, in, kBatchSize, [&](const Packet& p) { CHECK(p.ep == b_ep); });
  CHECKF(back == kBatchSize, "echoed back %zu of %zu", back, kBatchSize);
  pool.drain(in);
  CHECK(pool.available() == pool.total());
}

TEST(udp_batch_roundtrip_v4) {
  if (!need_netns()) return;
  udp_roundtrip("127.0.0.1", AF_INET);
}

TEST(udp_batch_roundtrip_v6) {
  if (!need_netns()) return;
  udp_roundtrip("::1", AF_INET6);
}

TEST(udp_options_buffers_mark_ports) {
  if (!need_netns()) return;
  UdpBind a;
  UdpConfig cfg;
  cfg.fwmark = 0x51820;
  cfg.rcvbuf = cfg.sndbuf = 8 << 20;  // above this namespace's rmem_max: only *BUFFORCE gets it
  CHECK(a.open(cfg) == 0);
  CHECKF(a.v4().rcvbuf() >= (8 << 20) && a.v6().sndbuf() >= (8 << 20), "rcvbuf %d sndbuf %d", a.v4().rcvbuf(), a.v6().sndbuf());
  int mark = 0;
  socklen_t len = sizeof mark;
  getsockopt(a.v6().fd(), SOL_SOCKET, SO_MARK, &mark, &len);
  CHECK(mark == 0x51820);
  UdpBind same;
  cfg.port = a.port();
  CHECK(same.open(cfg) == -EADDRINUSE);
  UdpBind fixed;
  cfg.port = 40123;
  CHECK(fixed.open(cfg) == 0 && fixed.port() == 40123);
  // An unreachable destination drops that packet only.
  PacketPool pool;
  pool.init(kBatchSize, 64);
  Batch b;
  pool.fill(b);
  Endpoint::parse("127.0.0.1:9", &b.pkts[0].ep);
  Endpoint::parse("203.0.113.1:9", &b.pkts[1].ep);  // no route in a fresh namespace
  Endpoint::parse("[::1]:9", &b.pkts[2].ep);
  for (int i = 0; i < 3; ++i) b.pkts[i].len = 8;
  b.count = 3;
  const IoResult r = a.send_batch(b);
  CHECKF(r.count == 3 && r.dropped == 1 && r.err == ENETUNREACH, "count %zu dropped %zu err %s", r.count, r.dropped, std::strerror(r.err));
  pool.drain(b);
}

}  // namespace

int main() {
  if (geteuid() != 0) {
    std::printf("io tests: not root, namespace tests will be skipped\n");
  } else if (unshare(CLONE_NEWNET) != 0) {
    std::printf("io tests: unshare(CLONE_NEWNET) failed (%s), namespace tests will be skipped\n", std::strerror(errno));
  } else {
    g_netns = std::system("ip link set lo up") == 0;
  }
  return gwtest::run_all();
}
