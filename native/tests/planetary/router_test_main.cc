#include <cstdio>

#include "../../crypto/crypto.h"
#include "../harness.h"

int main(int argc, char** argv) {
  if (const char* err = gw::crypto::init()) {
    std::printf("crypto init failed: %s\n", err);
    return 1;
  }
  return harness::run_all(argc > 1 ? argv[1] : nullptr);
}
