// Minimal self-contained test harness: TEST(name) registers a function; CHECK records a failure with its
// location and keeps going. main() prints one line per test and "N passed, M failed".
#pragma once

#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace harness {

struct Test {
  const char* name;
  void (*fn)();
};
inline std::vector<Test>& registry() {
  static std::vector<Test> r;
  return r;
}
inline int& failures() {
  static int f = 0;
  return f;
}
struct Registrar {
  Registrar(const char* name, void (*fn)()) { registry().push_back({name, fn}); }
};

inline int run_all(const char* filter) {
  int passed = 0, failed = 0;
  for (const Test& t : registry()) {
    if (filter && !std::strstr(t.name, filter)) continue;
    failures() = 0;
    t.fn();
    bool ok = failures() == 0;
    std::printf("%s %s\n", ok ? "PASS" : "FAIL", t.name);
    std::fflush(stdout);
    (ok ? passed : failed)++;
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}

}  // namespace harness

#define TEST(name)                                                   \
  static void test_##name();                                         \
  static harness::Registrar registrar_##name(#name, &test_##name);   \
  static void test_##name()

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      std::printf("  check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);        \
      ++harness::failures();                                                         \
    }                                                                                \
  } while (0)

#define CHECK_EQ(a, b)                                                                                  \
  do {                                                                                                  \
    auto va_ = (a);                                                                                     \
    auto vb_ = (b);                                                                                     \
    if (!(va_ == vb_)) {                                                                                \
      std::printf("  check failed: %s == %s (%llu vs %llu) (%s:%d)\n", #a, #b, (unsigned long long)va_, \
                  (unsigned long long)vb_, __FILE__, __LINE__);                                         \
      ++harness::failures();                                                                            \
    }                                                                                                   \
  } while (0)
