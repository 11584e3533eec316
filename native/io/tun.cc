#include "tun.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "vnet.h"

namespace gw::io {

namespace {

// linux/if_tun.h of Linux 6.2; the headers of this build may be older than the kernel it runs on.
constexpr unsigned kTunUso4 = 0x20;
constexpr unsigned kTunUso6 = 0x40;

// Interface ioctls (MTU, flags) go through any socket of the namespace the device lives in.
int if_ioctl(unsigned long req, ifreq* ifr) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -errno;
  const int r = ioctl(s, req, ifr) == 0 ? 0 : -errno;
  ::close(s);
  return r;
}

ifreq named_ifreq(const char* name) {
  ifreq ifr{};
  std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
  return ifr;
}

// EBADFD is what deletion produces (see tun.h); EIO/ENODEV are kept as "gone" for older kernels whose
// blocking-read path reported an unregistering device that way.
bool device_gone(int err) { return err == EBADFD || err == EIO || err == ENODEV; }

IoResult failure(IoResult r, int err) {
  r.err = err;
  r.status = err == EAGAIN ? IoStatus::kAgain : device_gone(err) ? IoStatus::kGone : IoStatus::kError;
  if (r.status == IoStatus::kAgain && r.count > 0) r.status = IoStatus::kOk;
  return r;
}

}  // namespace

int Tun::open(const TunConfig& cfg) {
  if (fd_ >= 0) return -EBUSY;
  // named_ifreq would cut a longer name to IFNAMSIZ-1 characters and create an interface of another name.
  if (std::strlen(cfg.name) >= IFNAMSIZ) return -EINVAL;
  fd_ = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0) return -errno;
  ifreq ifr = named_ifreq(cfg.name);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (cfg.vnet_hdr ? IFF_VNET_HDR : 0);
  int err = ioctl(fd_, TUNSETIFF, &ifr) == 0 ? 0 : -errno;
  if (!err) {
    std::memcpy(name_, ifr.ifr_name, IFNAMSIZ);
    vnet_hdr_ = cfg.vnet_hdr;
    offload_ = false;
    if (cfg.vnet_hdr && cfg.offload) {
      const unsigned flags = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
      // USO needs Linux 6.2; an older kernel refuses the unknown flags with EINVAL, so ask again without.
      uso_ = cfg.uso && ioctl(fd_, TUNSETOFFLOAD, flags | kTunUso4 | kTunUso6) == 0;
      offload_ = uso_ || ioctl(fd_, TUNSETOFFLOAD, flags) == 0;
    }
  }
  if (!err && cfg.mtu > 0) err = set_mtu(cfg.mtu);
  if (!err && cfg.up) err = set_up(true);
  if (err) close();
  return err;
}

void Tun::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  offload_ = uso_ = false;
  name_[0] = '\0';
}

int Tun::set_mtu(int mtu) {
  ifreq ifr = named_ifreq(name_);
  ifr.ifr_mtu = mtu;
  return if_ioctl(SIOCSIFMTU, &ifr);
}

int Tun::mtu() const {
  ifreq ifr = named_ifreq(name_);
  const int err = if_ioctl(SIOCGIFMTU, &ifr);
  return err ? err : ifr.ifr_mtu;
}

int Tun::set_up(bool up) {
  ifreq ifr = named_ifreq(name_);
  int err = if_ioctl(SIOCGIFFLAGS, &ifr);
  if (err) return err;
  ifr.ifr_flags = static_cast<short>(up ? ifr.ifr_flags | IFF_UP : ifr.ifr_flags & ~IFF_UP);
  return if_ioctl(SIOCSIFFLAGS, &ifr);
}

IoResult Tun::read_batch(Batch& b) {
  IoResult r;
  const size_t hdr = vnet_hdr_ ? kVnetHdrLen : 0;
  for (b.count = 0; b.count < kBatchSize && b.pkts[b.count].slab; ++b.count, ++r.count) {
    Packet& p = b.pkts[b.count];
    p.rewind();
    const ssize_t n = ::read(fd_, p.data - hdr, p.cap + hdr);
    if (n < 0 && errno == EINTR) { --b.count, --r.count; continue; }
    if (n < 0) return failure(r, errno);
    p.len = static_cast<uint32_t>(n - hdr);  // the kernel never returns less than the header
  }
  return r;
}

IoResult Tun::write_batch(Packet* pkts, size_t n) {
  IoResult r;
  while (r.count < n) {
    const Packet& p = pkts[r.count];
    ssize_t w;
    size_t k = 1;
    if (!vnet_hdr_) {
      w = ::write(fd_, p.data, p.len);
    } else {
      vnet::Hdr h;
      iovec iov[2 + 64];
      if (offload_) k = vnet::tcp_run(&pkts[r.count], n - r.count, 64);
      if (k > 1) vnet::tcp_coalesce(&pkts[r.count], k, &h);
      iov[0] = {&h, sizeof h};
      iov[1] = {p.data, p.len};
      for (size_t j = 1; j < k; ++j) {
        const Packet& q = pkts[r.count + j];
        const size_t off = vnet::payload_offset(q.data);
        iov[1 + j] = {q.data + off, q.len - off};
      }
      w = ::writev(fd_, iov, static_cast<int>(k + 1));
    }
    if (w >= 0) {
      r.count += k;
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EINVAL) return failure(r, errno);
    r.count += k, r.dropped += k, r.err = errno;
  }
  return r;
}

ssize_t Tun::read_one(uint8_t* buf, size_t cap) {
  for (;;) {
    const ssize_t n = ::read(fd_, buf, cap);
    if (n >= 0) return n;
    if (errno != EINTR) return -errno;
  }
}

}  // namespace gw::io
