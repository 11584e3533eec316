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
#include <sys/types.h>

#include "packet.h"

namespace gw::io {

struct TunConfig {
  const char* name = "";  // "" lets the kernel pick tunN; a "%d" pattern is allowed
  int mtu = 1420;         // spec §1.16 default; 0 leaves the kernel's default
  bool up = true;         // SIOCSIFFLAGS IFF_UP after creation
  // Every read/write carries a virtio_net_hdr (in the headroom just before data for read_batch).
  bool vnet_hdr = false;
  // With vnet_hdr: TUNSETOFFLOAD(CSUM|TSO4|TSO6), so reads may be TCP super-packets (split them with
  // vnet::gso_split) and write_batch coalesces TCP runs (GRO). If the kernel refuses, offload() is false
  // and the device works as with vnet_hdr alone.
  bool offload = false;
  // With offload: also TUN_F_USO4/6 (Linux 6.2+), so reads may be UDP super-packets from senders using
  // UDP_SEGMENT; gso_split cuts them as well. Refused by an older kernel: uso() is false then.
  bool uso = true;
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
  bool offload() const { return offload_; }
  bool uso() const { return uso_; }
  int set_mtu(int mtu);  // 0 or -errno
  int mtu() const;       // the interface MTU, or -errno
  int set_up(bool up);   // 0 or -errno

  // Reads into b.pkts[0..) until EAGAIN, the batch is full, or a packet without a slab; b.count is the
  // number read. kAgain only when nothing was read. The kernel truncates silently, so slabs must hold
  // the MTU (65535 once TSO is on).
  IoResult read_batch(Batch& b);
  // Writes b.pkts[0..b.count). A packet the kernel rejects (bad header) is dropped and counted.
  IoResult write_batch(Batch& b) { return write_batch(b.pkts, b.count); }
  // With offload(), consecutive TCP segments of one flow go out as one super-packet (vnet::tcp_run).
  IoResult write_batch(Packet* pkts, size_t n);
  // One read of at most cap bytes into buf (with vnet_hdr: header first). Bytes read, or -errno.
  ssize_t read_one(uint8_t* buf, size_t cap);

 private:
  int fd_ = -1;
  bool vnet_hdr_ = false;
  bool offload_ = false;
  bool uso_ = false;
  char name_[IFNAMSIZ] = {};
};

}  // namespace gw::io
