// Names an engine thread, as top -H, perf and /proc/<pid>/task/*/comm show it, so that its loops can be
// told apart from Node's own threads (and one device's from another's) when profiling. Named by the
// thread that starts it, so the name is there as soon as start() returns.
#pragma once

#include <pthread.h>

#include <cstdio>
#include <thread>

namespace gw {

// "role/ifname", or just the role without an interface; Linux keeps 15 bytes, the rest is cut.
inline void name_thread(std::thread& t, const char* role, const char* ifname = "") {
  char name[16];
  std::snprintf(name, sizeof name, ifname && *ifname ? "%s/%s" : "%s", role, ifname);
  pthread_setname_np(t.native_handle(), name);
}

}  // namespace gw
