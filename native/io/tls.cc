#include "tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace gw::io {
namespace {

constexpr char kNotAfter[] = "99991231235959Z";

bool add_ext(X509* cert, int nid, const char* value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, nid, value);
  bool ok = ext && X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// Go's crypto/x509 writes a CN of hex digits as a PrintableString; OpenSSL's default would be
// UTF8String. Matching it keeps our certificate byte-identical to the reference for the same key.
bool set_names(X509* cert, EVP_PKEY* key) {
  uint8_t pub[32];
  size_t len = sizeof pub;
  if (EVP_PKEY_get_raw_public_key(key, pub, &len) != 1 || len != sizeof pub) return false;
  char hex[65];
  for (size_t i = 0; i < 32; i++) std::snprintf(hex + 2 * i, 3, "%02x", pub[i]);
  X509_NAME* name = X509_get_subject_name(cert);
  return X509_NAME_add_entry_by_NID(name, NID_commonName, V_ASN1_PRINTABLESTRING,
                                    reinterpret_cast<const unsigned char*>(hex), 64, -1, 0) == 1 &&
         X509_set_issuer_name(cert, name) == 1;
}

bool set_validity(X509* cert, int64_t not_before) {
  time_t start = not_before != 0 ? static_cast<time_t>(not_before) : time(nullptr);
  return ASN1_TIME_set(X509_getm_notBefore(cert), start) != nullptr &&
         ASN1_TIME_set_string_X509(X509_getm_notAfter(cert), kNotAfter) == 1;
}

// Extension order and criticality as the reference emits them.
bool set_extensions(X509* cert) {
  return add_ext(cert, NID_key_usage, "critical,digitalSignature,keyEncipherment") &&
         add_ext(cert, NID_ext_key_usage, "serverAuth") && add_ext(cert, NID_basic_constraints, "critical,CA:FALSE");
}

X509* make_certificate(EVP_PKEY* key, int64_t not_before) {
  X509* cert = X509_new();
  bool ok = cert && X509_set_version(cert, X509_VERSION_3) == 1 &&
            ASN1_INTEGER_set(X509_get_serialNumber(cert), 1) == 1 && set_names(cert, key) &&
            set_validity(cert, not_before) && X509_set_pubkey(cert, key) == 1 && set_extensions(cert) &&
            X509_sign(cert, key, nullptr) > 0;
  if (ok) return cert;
  X509_free(cert);
  return nullptr;
}

SSL_CTX* make_ctx(EVP_PKEY* key, X509* cert) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  if (!ctx) return nullptr;
  // Partial writes + moving buffer let write() behave like send(): the caller keeps its queue.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // A peer that just drops TCP without close_notify is an ordinary link close, not a TLS error.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_num_tickets(ctx, 0);  // links never resume; tickets would only cost bytes
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) == 1 && SSL_CTX_use_certificate(ctx, cert) == 1 &&
      SSL_CTX_use_PrivateKey(ctx, key) == 1 && SSL_CTX_check_private_key(ctx) == 1)
    return ctx;
  SSL_CTX_free(ctx);
  return nullptr;
}

bool is_ip_literal(const char* host) {
  uint8_t buf[16];
  return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

}  // namespace

TlsContext::~TlsContext() {
  SSL_CTX_free(ctx_);
  X509_free(cert_);
  EVP_PKEY_free(key_);
}

const char* TlsContext::init(const uint8_t seed[32], int64_t not_before) {
  if (ctx_) return "TLS context already initialised";
  key_ = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed, 32);
  if (!key_) return "cannot load the Ed25519 node key";
  cert_ = make_certificate(key_, not_before);
  if (!cert_) return "cannot build the self-signed certificate";
  ctx_ = make_ctx(key_, cert_);
  return ctx_ ? nullptr : "cannot create the SSL_CTX";
}

size_t TlsContext::certificate_der(uint8_t* out, size_t cap) const {
  int len = cert_ ? i2d_X509(cert_, nullptr) : -1;
  if (len <= 0 || static_cast<size_t>(len) > cap) return 0;
  return static_cast<size_t>(i2d_X509(cert_, &out));
}

TlsConn::~TlsConn() { SSL_free(ssl_); }

const char* TlsConn::open(const TlsContext& ctx, int fd, TlsRole role, const char* sni) {
  if (ssl_ || !ctx.ctx()) return "TLS connection already open or context missing";
  ssl_ = SSL_new(ctx.ctx());
  if (!ssl_ || SSL_set_fd(ssl_, fd) != 1) return "SSL_new/SSL_set_fd failed";
  // The reference's listener refuses TLS 1.2 (alert 70) but its dialer offers 1.2–1.3.
  SSL_set_min_proto_version(ssl_, role == TlsRole::kServer ? TLS1_3_VERSION : TLS1_2_VERSION);
  if (role == TlsRole::kServer) {
    SSL_set_accept_state(ssl_);
    return nullptr;
  }
  SSL_set_connect_state(ssl_);
  if (sni && *sni && !is_ip_literal(sni) && SSL_set_tlsext_host_name(ssl_, sni) != 1) return "bad SNI host name";
  return nullptr;
}

TlsStatus TlsConn::status_of(int ret) {
  int e = SSL_get_error(ssl_, ret);
  switch (e) {
    case SSL_ERROR_WANT_READ: return TlsStatus::kWantRead;
    case SSL_ERROR_WANT_WRITE: return TlsStatus::kWantWrite;
    case SSL_ERROR_ZERO_RETURN: return TlsStatus::kClosed;
    case SSL_ERROR_SYSCALL:
      // errno 0 with an empty queue is a bare end of stream (no close_notify), which Go also sends.
      if (ERR_peek_error() == 0 && errno == 0) return TlsStatus::kClosed;
      if (ERR_peek_error() == 0) {
        std::snprintf(err_, sizeof err_, "TLS transport: %s", std::strerror(errno));
        return TlsStatus::kError;
      }
      [[fallthrough]];
    default:
      ERR_error_string_n(ERR_get_error(), err_, sizeof err_);
      ERR_clear_error();
      return TlsStatus::kError;
  }
}

TlsStatus TlsConn::handshake() {
  if (!ssl_) return TlsStatus::kError;
  ERR_clear_error();
  errno = 0;
  int ret = SSL_do_handshake(ssl_);
  return ret == 1 ? TlsStatus::kOk : status_of(ret);
}

TlsResult TlsConn::read(uint8_t* buf, size_t len) {
  if (!ssl_) return {TlsStatus::kError, 0};
  ERR_clear_error();
  errno = 0;
  size_t n = 0;
  int ret = SSL_read_ex(ssl_, buf, len, &n);
  return ret == 1 ? TlsResult{TlsStatus::kOk, n} : TlsResult{status_of(ret), 0};
}

TlsResult TlsConn::write(const uint8_t* buf, size_t len) {
  if (!ssl_) return {TlsStatus::kError, 0};
  if (len == 0) return {TlsStatus::kOk, 0};
  ERR_clear_error();
  errno = 0;
  size_t n = 0;
  int ret = SSL_write_ex(ssl_, buf, len, &n);
  return ret == 1 ? TlsResult{TlsStatus::kOk, n} : TlsResult{status_of(ret), 0};
}

void TlsConn::shutdown() {
  if (!ssl_ || !SSL_is_init_finished(ssl_)) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);
  ERR_clear_error();  // a session that already failed refuses; nothing for the next caller to find
}

}  // namespace gw::io
