// Names the calling thread, as top -H, perf and /proc/<pid>/task/*/comm show it, so that an engine's
// loops can be told apart from Node's own threads (and one device's from another's) when profiling.
#pragma once

#include <pthread.h>

#include <cstdio>

namespace gw {

// "role/ifname", or just the role without an interface; Linux keeps 15 bytes, the rest is cut.
inline void name_thread(const char* role, const char* ifname = "") {
  char name[16];
  std::snprintf(name, sizeof name, ifname && *ifname ? "%s/%s" : "%s", role, ifname);
  pthread_setname_np(pthread_self(), name);
}

}  // namespace gw
