// gridwire crypto core: thin, allocation-free (on the data path) wrappers over the OpenSSL 3 that Node
// ships, plus the few primitives OpenSSL lacks (HChaCha20, Salsa20/HSalsa20), hand-written.
//
// Threading: every function here is safe to call from any thread. Functions that need an OpenSSL context
// keep one per thread (thread_local) and reuse it; classes (ChaChaPoly) own their context and belong to
// one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>

namespace gw::crypto {

constexpr size_t kKeyLen = 32;
constexpr size_t kTagLen = 16;
constexpr size_t kChaChaNonceLen = 12;
constexpr size_t kXNonceLen = 24;
constexpr size_t kBlake2sLen = 32;
constexpr size_t kMacLen = 16;
constexpr size_t kBlake2bLen = 64;
constexpr size_t kEd25519SeedLen = 32;
constexpr size_t kEd25519SigLen = 64;

// A piece of a message given in parts (hashes and MACs over a concatenation).
struct Slice {
  const uint8_t* data;
  size_t len;
};

// Fetches every algorithm once and checks the OpenSSL version. Returns nullptr on success or a static
// message naming what is missing. Must succeed before any other call.
const char* init();

// Fills buf from OpenSSL's CSPRNG. Returns false only if the RNG failed.
bool random_bytes(uint8_t* buf, size_t len);

// Constant-time equality for secrets, tags and MACs.
bool equal(const uint8_t* a, const uint8_t* b, size_t len);

// Zeroes memory in a way the compiler may not elide.
void wipe(void* p, size_t len);

}  // namespace gw::crypto
