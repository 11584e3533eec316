#include "tun.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace gw::io {

namespace {

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
  fd_ = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0) return -errno;
  ifreq ifr = named_ifreq(cfg.name);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (cfg.vnet_hdr ? IFF_VNET_HDR : 0);
  int err = ioctl(fd_, TUNSETIFF, &ifr) == 0 ? 0 : -errno;
  if (!err) {
    std::memcpy(name_, ifr.ifr_name, IFNAMSIZ);
    vnet_hdr_ = cfg.vnet_hdr;
  }
  if (!err && cfg.mtu > 0) err = set_mtu(cfg.mtu);
  if (!err && cfg.up) err = set_up(true);
  if (err) close();
  return err;
}

void Tun::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
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

IoResult Tun::write_batch(const Batch& b) {
  IoResult r;
  const size_t hdr = vnet_hdr_ ? kVnetHdrLen : 0;
  for (; r.count < b.count; ++r.count) {
    const Packet& p = b.pkts[r.count];
    if (hdr) std::memset(p.data - hdr, 0, hdr);  // GSO_NONE, no checksum offload
    const ssize_t n = ::write(fd_, p.data - hdr, p.len + hdr);
    if (n >= 0) continue;
    if (errno == EINTR) { --r.count; continue; }
    if (errno != EINVAL) return failure(r, errno);
    ++r.dropped, r.err = errno;
  }
  return r;
}

}  // namespace gw::io
