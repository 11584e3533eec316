// epoll plus an eventfd so another thread can interrupt a wait promptly (stop, new work).
//
// Threads: one thread calls wait(); add/modify/remove may come from any thread (epoll is internally
// locked); wake() is safe from any thread and from signal handlers.
#pragma once

#include <sys/epoll.h>

#include <cstdint>

namespace gw::io {

class Poller {
 public:
  // The token wait() reports when wake() was called.
  static constexpr uint64_t kWakeToken = ~uint64_t{0};

  Poller() = default;
  ~Poller() { close(); }
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  int open();  // 0 or -errno
  void close();

  // events: EPOLLIN/EPOLLOUT/EPOLLET...; token comes back in epoll_event.data.u64. 0 or -errno.
  int add(int fd, uint32_t events, uint64_t token);
  int modify(int fd, uint32_t events, uint64_t token);
  int remove(int fd);

  // Waits up to timeout_ms (-1 = forever). Returns the number of events in out (a wake-up shows as
  // kWakeToken, already drained), 0 on timeout or signal, -errno on failure.
  int wait(epoll_event* out, int max, int timeout_ms);
  void wake();

 private:
  int epfd_ = -1;
  int wakefd_ = -1;
};

}  // namespace gw::io
