// Minimal test harness: TEST(name) registers a case, CHECK/CHECKF record failures without aborting
// the case, skip() excuses a case, and run_all() prints one line per case and ends with
// "N passed, M failed".
// Single-threaded: call CHECK only from the thread running the case.
#pragma once

#include <cstdarg>
#include <cstdio>
#include <vector>

namespace gwtest {

struct Case {
  const char* name;
  void (*fn)();
};

inline std::vector<Case>& registry() {
  static std::vector<Case> cases;
  return cases;
}

inline int& case_failures() {
  static int n = 0;
  return n;
}

inline bool& case_skipped() {
  static bool skipped = false;
  return skipped;
}

// Marks the running case as skipped (counted as neither passed nor failed) and says why.
inline void skip(const char* why) {
  case_skipped() = true;
  std::printf("     skipped: %s\n", why);
}

struct Registrar {
  Registrar(const char* name, void (*fn)()) { registry().push_back({name, fn}); }
};

inline void fail(const char* file, int line, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
inline void fail(const char* file, int line, const char* fmt, ...) {
  if (++case_failures() > 20) return;  // one broken invariant should not flood the log
  std::fprintf(stderr, "  %s:%d: ", file, line);
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fputc('\n', stderr);
}

inline int run_all() {
  int passed = 0, failed = 0, skipped = 0;
  for (const Case& c : registry()) {
    case_failures() = 0;
    case_skipped() = false;
    c.fn();
    if (case_skipped() && case_failures() == 0) {
      ++skipped;
      std::printf("skip %s\n", c.name);
    } else if (case_failures() == 0) {
      ++passed;
      std::printf("ok   %s\n", c.name);
    } else {
      ++failed;
      std::printf("FAIL %s (%d failed checks)\n", c.name, case_failures());
    }
    std::fflush(stdout);
  }
  if (skipped) std::printf("%d skipped\n", skipped);
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}

}  // namespace gwtest

#define TEST(name)                                                \
  static void name();                                             \
  static const gwtest::Registrar name##_registrar(#name, name);  \
  static void name()

#define CHECK(cond) \
  ((cond) ? (void)0 : gwtest::fail(__FILE__, __LINE__, "CHECK(%s)", #cond))

#define CHECKF(cond, ...) \
  ((cond) ? (void)0 : gwtest::fail(__FILE__, __LINE__, __VA_ARGS__))
