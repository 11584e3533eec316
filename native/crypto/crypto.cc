#include "crypto.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "provider.h"

namespace gw::crypto {

bool random_bytes(uint8_t* buf, size_t len) { return len == 0 || RAND_bytes(buf, static_cast<int>(len)) == 1; }

bool equal(const uint8_t* a, const uint8_t* b, size_t len) { return CRYPTO_memcmp(a, b, len) == 0; }

void wipe(void* p, size_t len) { OPENSSL_cleanse(p, len); }

}  // namespace gw::crypto
