#include "provider.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <mutex>

#include "crypto.h"

namespace gw::crypto {
namespace algo {
EVP_CIPHER* chacha20_poly1305;
EVP_MD* blake2s256;
EVP_MD* blake2b512;
EVP_MD* sha512;
EVP_MAC* blake2smac;
EVP_MAC* blake2bmac;
EVP_MAC* poly1305;
}  // namespace algo

namespace {

const char* fetch_all() {
  // Node may be built against a shared libcrypto or (Electron) BoringSSL; refuse clearly rather than
  // crash on a missing algorithm later.
  if (OPENSSL_version_major() < 3) return "OpenSSL 3 or later is required (node was built against an older one)";
  if (!(algo::chacha20_poly1305 = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr)))
    return "OpenSSL lacks ChaCha20-Poly1305";
  if (!(algo::blake2s256 = EVP_MD_fetch(nullptr, "BLAKE2S-256", nullptr))) return "OpenSSL lacks BLAKE2S-256";
  if (!(algo::blake2b512 = EVP_MD_fetch(nullptr, "BLAKE2B-512", nullptr))) return "OpenSSL lacks BLAKE2B-512";
  if (!(algo::sha512 = EVP_MD_fetch(nullptr, "SHA512", nullptr))) return "OpenSSL lacks SHA512";
  if (!(algo::blake2smac = EVP_MAC_fetch(nullptr, "BLAKE2SMAC", nullptr))) return "OpenSSL lacks BLAKE2SMAC";
  if (!(algo::blake2bmac = EVP_MAC_fetch(nullptr, "BLAKE2BMAC", nullptr))) return "OpenSSL lacks BLAKE2BMAC";
  if (!(algo::poly1305 = EVP_MAC_fetch(nullptr, "POLY1305", nullptr))) return "OpenSSL lacks POLY1305";
  return nullptr;
}

}  // namespace

const char* init() {
  static std::once_flag once;
  static const char* error;
  std::call_once(once, [] { error = fetch_all(); });
  return error;
}

}  // namespace gw::crypto
