// TLS transport for tls:// planetary links, shaped like yggdrasil 0.5.12's (spec §3.1–3.2): a
// self-signed Ed25519 certificate made from the node key (serial 1, CN = hex key, valid until
// 9999-12-31T23:59:59Z, KeyUsage digitalSignature+keyEncipherment, EKU serverAuth, CA:FALSE), TLS 1.3
// only when accepting, 1.2–1.3 when dialing, and no verification on either side: the signed link
// preamble inside the stream is what authenticates the peer.
//
// Threads: a TlsContext is built once on the control thread and then only read; any thread may open
// connections from it (SSL_new is thread-safe on a shared SSL_CTX). A TlsConn belongs to the one
// thread that drives its fd.
#pragma once

#include <openssl/ssl.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>

namespace gw::io {

enum class TlsStatus : uint8_t {
  kOk,
  kWantRead,   // retry once the fd is readable
  kWantWrite,  // retry once the fd is writable
  kClosed,     // the peer closed the TLS session (close_notify or end of stream)
  kError,      // fatal; TlsConn::error() says why
};

struct TlsResult {
  TlsStatus status;
  size_t bytes;  // transferred when status == kOk
};

class TlsContext {
 public:
  TlsContext() = default;
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // Makes the certificate from the Ed25519 seed and the SSL_CTX. not_before is Unix seconds (0 = now,
  // as yggdrasil does at start-up). nullptr on success, else a static message.
  const char* init(const uint8_t seed[32], int64_t not_before = 0);

  SSL_CTX* ctx() const { return ctx_; }
  X509* certificate() const { return cert_; }
  // DER of our certificate into out (up to cap bytes); the length, or 0 when it does not fit.
  size_t certificate_der(uint8_t* out, size_t cap) const;

 private:
  EVP_PKEY* key_ = nullptr;
  X509* cert_ = nullptr;
  SSL_CTX* ctx_ = nullptr;
};

enum class TlsRole : uint8_t { kClient, kServer };

// One TLS session over a connected nonblocking TCP fd. The fd stays the caller's to poll and close.
class TlsConn {
 public:
  TlsConn() = default;
  ~TlsConn();
  TlsConn(const TlsConn&) = delete;
  TlsConn& operator=(const TlsConn&) = delete;

  // sni: host name for the ClientHello (client only); nullptr or an IP literal sends none, as the
  // reference does.
  // nullptr on success, else a static message.
  const char* open(const TlsContext& ctx, int fd, TlsRole role, const char* sni = nullptr);

  // Drive until kOk; on kWantRead/kWantWrite call again when the fd is ready.
  TlsStatus handshake();
  // Reads decrypted bytes. Call until kWantRead: decrypted data can sit inside OpenSSL where poll()
  // does not see it. kWantWrite can occur too (TLS may need to send while reading).
  TlsResult read(uint8_t* buf, size_t len);
  // Writes up to len bytes (partial writes are on). After kWantRead/kWantWrite retry with the same
  // bytes; they may have moved in memory, but must start with what was offered before.
  TlsResult write(const uint8_t* buf, size_t len);
  // Sends close_notify once; the fd is still the caller's to close.
  void shutdown();

  bool handshake_done() const { return ssl_ && SSL_is_init_finished(ssl_); }
  SSL* ssl() const { return ssl_; }
  // Why the last call returned kError (OpenSSL's error queue, or errno), for logs.
  const char* error() const { return err_; }

 private:
  TlsStatus status_of(int ret);

  SSL* ssl_ = nullptr;
  char err_[160] = "";
};

}  // namespace gw::io
