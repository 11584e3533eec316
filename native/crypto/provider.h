// Algorithms fetched once from OpenSSL's default provider. Convenience getters such as
// EVP_chacha20_poly1305() fetch under a lock on every init; these pointers are resolved in init() and
// then only read, so data threads never contend on OpenSSL's algorithm store.
#pragma once

typedef struct evp_cipher_st EVP_CIPHER;
typedef struct evp_md_st EVP_MD;
typedef struct evp_mac_st EVP_MAC;

namespace gw::crypto::algo {

extern EVP_CIPHER* chacha20_poly1305;
extern EVP_MD* blake2s256;
extern EVP_MD* blake2b512;
extern EVP_MD* sha512;
extern EVP_MAC* blake2smac;
extern EVP_MAC* blake2bmac;
extern EVP_MAC* poly1305;

}  // namespace gw::crypto::algo
