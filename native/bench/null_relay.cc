// null-relay: the floor of a userspace tunnel on this machine, for `gridwire bench`.
//
// It does the least any userspace tunnel must do per packet — one TUN read and one send one way, one
// receive and one TUN write the other — with no cipher, no protocol and no state, on one epoll thread
// like gridwire's light-traffic loops. What a ping through a pair of these adds over the raw veth is
// what the kernel crossings and wake-ups alone cost here, so the bench can show how much of an engine's
// added latency is the engine's own. Over UDP it is the floor of WireGuard; over TCP (packets framed
// by a 2-byte length, as a link must) the floor of the planetary network's TCP links. As a bridge —
// one process holding both TUNs, the far one opened inside the peer's namespace, with no outer path at
// all — it is the floor of any tunnel that takes its packets from a TUN, however it carries them.
//
// usage: null-relay IFNAME udp LOCAL_PORT PEER_IPV4 PEER_PORT
//        null-relay IFNAME tcp-listen PORT          (accepts one connection)
//        null-relay IFNAME tcp-connect PEER_IPV4 PORT (retries until the listener is up)
//        null-relay IFNAME bridge PEER_NETNS_PATH PEER_IFNAME (e.g. /var/run/netns/b)
// Each TUN comes up with MTU 1420 and no address (the bench adds it); the process runs until killed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "../io/poller.h"
#include "../io/tun.h"

namespace {

constexpr uint64_t kTunToken = 1;
constexpr uint64_t kLinkToken = 2;
constexpr size_t kPacketMax = 2048;  // above the relay MTU: a datagram never arrives truncated

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

sockaddr_in ipv4(const in_addr& addr, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr = addr;
  a.sin_port = htons(port);
  return a;
}

int bind_to(int fd, uint16_t port) {
  sockaddr_in a = ipv4(in_addr{INADDR_ANY}, port);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  return bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
}

int connect_to(int fd, const in_addr& peer, uint16_t port) {
  sockaddr_in a = ipv4(peer, port);
  return connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
}

// The link's fd stays blocking for sends (a full buffer waits rather than drops); receives pass
// MSG_DONTWAIT so the loop drains what is there and goes back to epoll.
int open_udp(uint16_t port, const in_addr& peer, uint16_t peer_port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  if (bind_to(fd, port) == 0 && connect_to(fd, peer, peer_port) == 0) return fd;
  int err = -errno;
  close(fd);
  return err;
}

int nodelay(int fd) {
  int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0) return fd;
  int err = -errno;
  close(fd);
  return err;
}

int open_tcp_listen(uint16_t port) {
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (lfd < 0) return -errno;
  int fd = bind_to(lfd, port) == 0 && listen(lfd, 1) == 0 ? accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC) : -1;
  int err = -errno;
  close(lfd);
  return fd < 0 ? err : nodelay(fd);
}

int open_tcp_connect(const in_addr& peer, uint16_t port) {
  for (int tries = 0; tries < 100; tries++) {  // the listener may still be starting: 10 s at most
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (connect_to(fd, peer, port) == 0) return nodelay(fd);
    int err = errno;
    close(fd);
    if (err != ECONNREFUSED) return -err;
    usleep(100'000);
  }
  return -ECONNREFUSED;
}

// The tunnel's far side: datagrams, a stream of 2-byte-length frames, or the peer's TUN itself.
struct Link {
  int fd = -1;
  bool stream = false;
  bool tun = false;
  uint8_t in[64 * 1024];
  size_t have = 0;  // stream bytes received and not yet passed on

  void send_packet(const uint8_t* pkt, size_t n) {
    if (tun) {
      (void)!write(fd, pkt, n);
      return;
    }
    if (!stream) {
      send(fd, pkt, n, 0);
      return;
    }
    uint8_t len[2] = {static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)};
    iovec iov[2] = {{len, 2}, {const_cast<uint8_t*>(pkt), n}};
    (void)!writev(fd, iov, 2);
  }

  // Receives what is there and hands each whole packet to deliver. False when the peer is gone.
  template <typename F>
  bool receive(F&& deliver) {
    for (;;) {
      ssize_t n = tun ? read(fd, in, kPacketMax) : recv(fd, in + have, stream ? sizeof in - have : kPacketMax, MSG_DONTWAIT);
      // A datagram socket's errors are the ICMP answers to earlier sends (peer not up yet): passing.
      if (n < 0) return !stream || errno == EAGAIN || errno == EINTR;
      if (n == 0 && stream) return false;
      if (!stream) {
        deliver(in, static_cast<size_t>(n));
        continue;
      }
      have += static_cast<size_t>(n);
      size_t at = 0;
      while (have - at >= 2 && have - at >= 2u + (in[at] << 8 | in[at + 1])) {
        size_t len = in[at] << 8 | in[at + 1];
        deliver(in + at + 2, len);
        at += 2 + len;
      }
      std::memmove(in, in + at, have - at);
      have -= at;
    }
  }
};

void tun_to_link(int tun, Link& link, uint8_t* buf) {
  ssize_t n;
  while ((n = read(tun, buf, kPacketMax)) > 0) link.send_packet(buf, static_cast<size_t>(n));
}

struct Args {
  const char* ifname;
  const char* mode;
  const char* peer_netns = nullptr;
  const char* peer_ifname = nullptr;
  uint16_t port = 0, peer_port = 0;
  in_addr peer{};
};

bool parse(int argc, char** argv, Args* a) {
  if (argc < 4) return false;
  a->ifname = argv[1];
  a->mode = argv[2];
  if (!std::strcmp(a->mode, "udp")) return argc == 6 && parse_port(argv[3], &a->port) && inet_pton(AF_INET, argv[4], &a->peer) == 1 && parse_port(argv[5], &a->peer_port);
  if (!std::strcmp(a->mode, "bridge")) {
    if (argc != 5) return false;
    a->peer_netns = argv[3];
    a->peer_ifname = argv[4];
    return true;
  }
  if (!std::strcmp(a->mode, "tcp-listen")) return argc == 4 && parse_port(argv[3], &a->port);
  if (!std::strcmp(a->mode, "tcp-connect")) return argc == 5 && inet_pton(AF_INET, argv[3], &a->peer) == 1 && parse_port(argv[4], &a->port);
  return false;
}

gw::io::TunConfig tun_config(const char* ifname) {
  gw::io::TunConfig cfg;
  cfg.name = ifname;
  return cfg;
}

// A TUN is created in the namespace of the thread that opens it, so the peer's is opened from inside
// the peer's namespace; the process stays there (nothing it does afterwards depends on it).
int open_peer_tun(const Args& a, gw::io::Tun* peer) {
  int ns = open(a.peer_netns, O_RDONLY | O_CLOEXEC);
  if (ns < 0) return -errno;
  int rc = setns(ns, CLONE_NEWNET) == 0 ? peer->open(tun_config(a.peer_ifname)) : -errno;
  close(ns);
  return rc < 0 ? rc : peer->fd();
}

int open_link(const Args& a, gw::io::Tun* peer) {
  if (!std::strcmp(a.mode, "bridge")) return open_peer_tun(a, peer);
  if (!std::strcmp(a.mode, "udp")) return open_udp(a.port, a.peer, a.peer_port);
  return !std::strcmp(a.mode, "tcp-listen") ? open_tcp_listen(a.port) : open_tcp_connect(a.peer, a.port);
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parse(argc, argv, &args)) {
    std::fprintf(stderr,
                 "usage: null-relay IFNAME udp LOCAL_PORT PEER_IPV4 PEER_PORT\n"
                 "       null-relay IFNAME tcp-listen PORT\n"
                 "       null-relay IFNAME tcp-connect PEER_IPV4 PORT\n"
                 "       null-relay IFNAME bridge PEER_NETNS_PATH PEER_IFNAME\n");
    return 2;
  }
  gw::io::Tun tun, peer_tun;
  if (int rc = tun.open(tun_config(args.ifname)); rc < 0) return fail("opening the TUN", -rc);
  static Link link;
  link.stream = !std::strncmp(args.mode, "tcp-", 4);
  link.tun = !std::strcmp(args.mode, "bridge");
  link.fd = open_link(args, &peer_tun);
  if (link.fd < 0) return fail("opening the link", -link.fd);
  gw::io::Poller poller;
  if (int rc = poller.open(); rc < 0) return fail("epoll", -rc);
  if (int rc = poller.add(tun.fd(), EPOLLIN, kTunToken); rc < 0) return fail("epoll add TUN", -rc);
  if (int rc = poller.add(link.fd, EPOLLIN, kLinkToken); rc < 0) return fail("epoll add link", -rc);
  static uint8_t buf[kPacketMax];
  // After each TUN write the kernel may already have queued its answer on the TUN (an echo reply is
  // built inside the write), so the TUN is read before the next wait, as gridwire's loops do.
  auto to_tun = [&](const uint8_t* pkt, size_t n) {
    (void)!write(tun.fd(), pkt, n);
    tun_to_link(tun.fd(), link, buf);
  };
  epoll_event ev[2];
  for (;;) {
    int n = poller.wait(ev, 2, -1);
    if (n < 0) return fail("epoll wait", -n);
    for (int i = 0; i < n; i++) {
      if (ev[i].data.u64 == kTunToken) {
        tun_to_link(tun.fd(), link, buf);
        // A bridge's far TUN holds the kernel's answer once the write returns, as the near one does in to_tun.
        if (link.tun) link.receive(to_tun);
      }
      if (ev[i].data.u64 == kLinkToken && !link.receive(to_tun)) return fail("link", ECONNRESET);
    }
  }
}
