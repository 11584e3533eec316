#include "poller.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

namespace gw::io {

int Poller::open() {
  if (epfd_ >= 0) return -EBUSY;
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  wakefd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  const int err = epfd_ < 0 || wakefd_ < 0 ? -errno : add(wakefd_, EPOLLIN, kWakeToken);
  if (err) close();
  return err;
}

void Poller::close() {
  if (epfd_ >= 0) ::close(epfd_);
  if (wakefd_ >= 0) ::close(wakefd_);
  epfd_ = wakefd_ = -1;
}

int Poller::add(int fd, uint32_t events, uint64_t token) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = token;
  return epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

int Poller::modify(int fd, uint32_t events, uint64_t token) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = token;
  return epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) == 0 ? 0 : -errno;
}

int Poller::remove(int fd) { return epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr) == 0 ? 0 : -errno; }

int Poller::wait(epoll_event* out, int max, int timeout_ms) {
  const int n = epoll_wait(epfd_, out, max, timeout_ms);
  if (n < 0) return errno == EINTR ? 0 : -errno;
  for (int i = 0; i < n; ++i) {
    uint64_t drained;
    // The eventfd is level-triggered: drain it or every later wait returns at once.
    if (out[i].data.u64 == kWakeToken) (void)!::read(wakefd_, &drained, sizeof drained);
  }
  return n;
}

void Poller::wake() {
  const uint64_t one = 1;
  (void)!::write(wakefd_, &one, sizeof one);  // EAGAIN means a wake-up is already pending
}

}  // namespace gw::io
