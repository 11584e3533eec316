// null-relay: the floor of a userspace tunnel on this machine, for `gridwire bench`.
//
// It does the least any userspace TUN↔UDP tunnel must do per packet — one TUN read and one UDP send
// one way, one UDP receive and one TUN write the other — with no cipher, no protocol and no state, on
// one epoll thread like gridwire's light-traffic loop. What a ping through a pair of these adds over
// the raw veth is what the kernel crossings and wake-ups alone cost here, so the bench can show how
// much of an engine's added latency is the engine's own.
//
// usage: null-relay IFNAME LISTEN_PORT PEER_IPV4 PEER_PORT
// The TUN comes up with MTU 1420 and no address (the bench adds it); the process runs until killed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "../io/poller.h"
#include "../io/tun.h"

namespace {

constexpr uint64_t kTunToken = 1;
constexpr uint64_t kUdpToken = 2;
constexpr size_t kBufSize = 2048;  // above the relay MTU: a datagram never arrives truncated

int fail(const char* what, int err) {
  std::fprintf(stderr, "null-relay: %s: %s\n", what, std::strerror(err));
  return 1;
}

bool parse_port(const char* s, uint16_t* out) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < 1 || v > 65535) return false;
  *out = static_cast<uint16_t>(v);
  return true;
}

// A nonblocking UDP socket bound to port and connected to the peer, so send/recv need no address.
int open_udp(uint16_t port, const in_addr& peer, uint16_t peer_port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    a.sin_addr = peer;
    a.sin_port = htons(peer_port);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return fd;
  }
  int err = -errno;
  close(fd);
  return err;
}

void tun_to_udp(int tun, int udp, uint8_t* buf) {
  ssize_t n;
  while ((n = read(tun, buf, kBufSize)) > 0) send(udp, buf, static_cast<size_t>(n), 0);
}

// After each TUN write the kernel may already have queued its answer on the TUN (an echo reply is
// built inside the write), so the TUN is read before the next wait, as gridwire's loop does.
void udp_to_tun(int udp, int tun, uint8_t* buf) {
  ssize_t n;
  while ((n = recv(udp, buf, kBufSize, 0)) > 0) {
    (void)!write(tun, buf, static_cast<size_t>(n));
    tun_to_udp(tun, udp, buf);
  }
}

}  // namespace

int main(int argc, char** argv) {
  uint16_t port = 0, peer_port = 0;
  in_addr peer{};
  if (argc != 5 || !parse_port(argv[2], &port) || inet_pton(AF_INET, argv[3], &peer) != 1 || !parse_port(argv[4], &peer_port)) {
    std::fprintf(stderr, "usage: null-relay IFNAME LISTEN_PORT PEER_IPV4 PEER_PORT\n");
    return 2;
  }
  gw::io::Tun tun;
  gw::io::TunConfig cfg;
  cfg.name = argv[1];
  if (int rc = tun.open(cfg); rc < 0) return fail("opening the TUN", -rc);
  int udp = open_udp(port, peer, peer_port);
  if (udp < 0) return fail("opening the UDP socket", -udp);
  gw::io::Poller poller;
  if (int rc = poller.open(); rc < 0) return fail("epoll", -rc);
  if (int rc = poller.add(tun.fd(), EPOLLIN, kTunToken); rc < 0) return fail("epoll add TUN", -rc);
  if (int rc = poller.add(udp, EPOLLIN, kUdpToken); rc < 0) return fail("epoll add UDP", -rc);
  static uint8_t buf[kBufSize];
  epoll_event ev[2];
  for (;;) {
    int n = poller.wait(ev, 2, -1);
    if (n < 0) return fail("epoll wait", -n);
    for (int i = 0; i < n; i++) {
      if (ev[i].data.u64 == kTunToken) tun_to_udp(tun.fd(), udp, buf);
      if (ev[i].data.u64 == kUdpToken) udp_to_tun(udp, tun.fd(), buf);
    }
  }
}
