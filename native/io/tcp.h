// Nonblocking TCP for the planetary links: listen/accept/connect plus read/write helpers that report
// -errno instead of setting errno, so callers can switch on -EAGAIN without a second syscall.
//
// Threads: plain functions over fds; any thread may call them, but one fd is driven by one thread.
// IovBatch belongs to one thread.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

#include "endpoint.h"

namespace gw::io {

// Listens on `at` (port 0 = the kernel picks; the port actually bound goes to *bound_port when
// non-null). IPv6 listeners are dual-stack like Go's, so "[::]:p" also takes IPv4, and, as in Go,
// "0.0.0.0:p" listens on "[::]:p" when the system has IPv6. Returns the nonblocking fd or -errno.
int tcp_listen(const Endpoint& at, int backlog, uint16_t* bound_port);
// The socket's own address (getsockname), or an empty Endpoint when it has none.
Endpoint local_endpoint(int fd);
// One pending connection as a nonblocking TCP_NODELAY fd (peer address to *peer when non-null), or
// -EAGAIN when none is waiting, or another -errno.
int tcp_accept(int listen_fd, Endpoint* peer);
// Starts connecting; returns the nonblocking TCP_NODELAY fd, usually still connecting: wait for it to
// become writable, then ask tcp_connect_result(). -errno if the connect failed at once.
//
// A non-empty `device` dials out of that interface only, as yggdrasil dials InterfacePeers: the socket
// is bound to the device (SO_BINDTODEVICE) and to the device's first address of the destination's
// family and scope (global or link-local), and a link-local destination gets the device as its zone.
// -ENODEV: no such interface, -ENETDOWN: it is down, -EADDRNOTAVAIL: it has no fitting address.
int tcp_connect(const Endpoint& to, const char* device = nullptr);
// 0 once connected, -EINPROGRESS while still connecting, or the connect's -errno.
int tcp_connect_result(int fd);

// >0 bytes read, 0 at end of stream, -EAGAIN when nothing is buffered, other -errno on failure.
ssize_t tcp_read(int fd, uint8_t* buf, size_t len);
// Bytes written (maybe fewer than len), -EAGAIN when the send buffer is full, other -errno. Never
// raises SIGPIPE.
ssize_t tcp_write(int fd, const uint8_t* buf, size_t len);
ssize_t tcp_writev(int fd, const iovec* iov, int n);

// Gathers up to kMax spans into one writev and keeps what a short write left over, so several frames
// (each a length prefix + body) leave in one syscall. The spans' memory must stay valid until they
// are flushed or cleared.
class IovBatch {
 public:
  static constexpr int kMax = 64;

  // False (nothing added) when full; the caller flushes and retries. Empty spans are skipped.
  bool add(const void* data, size_t len);
  // Writes what is pending: bytes written (the rest stays queued) or -errno (-EAGAIN included).
  ssize_t flush(int fd);
  bool empty() const { return first_ == count_; }
  size_t pending_bytes() const;
  void clear() { first_ = count_ = 0; }

 private:
  void advance(size_t written);

  iovec iov_[kMax];
  int first_ = 0;
  int count_ = 0;
};

}  // namespace gw::io
