// A layer-3 Linux TUN device (IFF_TUN | IFF_NO_PI), nonblocking, read and written in batches.
//
// Threads: open/close/set_* on the control thread while no loop uses the device. read_batch and
// write_batch may run concurrently on two threads (one reader, one writer): each call is a sequence of
// independent read()/write() syscalls.
//
// Deletion: `ip link del` succeeds even while we hold the fd (a non-persistent TUN is not pinned by
// it). The fd stays open but detached: epoll reports EPOLLERR (0x8, even when only EPOLLIN was asked
// for; no EPOLLHUP), and read() and write() fail with EBADFD (77), never EAGAIN, EIO or ENODEV
// (tun_chr_poll/tun_chr_read_iter/tun_chr_write_iter see a NULL tun). Both batch calls turn that into
// IoStatus::kGone; the owner should close the fd and tell the control plane. Verified by io_test on
// this kernel (6.18).
#pragma once

#include <net/if.h>

#include "packet.h"

namespace gw::io {

struct TunConfig {
  const char* name = "";  // "" lets the kernel pick tunN; a "%d" pattern is allowed
  int mtu = 1420;         // spec §1.16 default; 0 leaves the kernel's default
  bool up = true;         // SIOCSIFFLAGS IFF_UP after creation
  // Hook for offloads: every read/write carries a virtio_net_hdr in the headroom just before data.
  // TUNSETOFFLOAD (TSO/USO) is not requested yet, so the kernel sends plain packets with a zero header.
  bool vnet_hdr = false;
};

class Tun {
 public:
  Tun() = default;
  ~Tun() { close(); }
  Tun(const Tun&) = delete;
  Tun& operator=(const Tun&) = delete;

  int open(const TunConfig& cfg);  // 0 or -errno; name() then holds the kernel's name
  void close();

  int fd() const { return fd_; }
  const char* name() const { return name_; }
  bool vnet_hdr() const { return vnet_hdr_; }
  int set_mtu(int mtu);  // 0 or -errno
  int mtu() const;       // the interface MTU, or -errno
  int set_up(bool up);   // 0 or -errno

  // Reads into b.pkts[0..) until EAGAIN, the batch is full, or a packet without a slab; b.count is the
  // number read. kAgain only when nothing was read. The kernel truncates silently, so slabs must hold
  // the MTU (65535 once TSO is on).
  IoResult read_batch(Batch& b);
  // Writes b.pkts[0..b.count). A packet the kernel rejects (bad header) is dropped and counted.
  IoResult write_batch(const Batch& b);

 private:
  int fd_ = -1;
  bool vnet_hdr_ = false;
  char name_[IFNAMSIZ] = {};
};

}  // namespace gw::io
