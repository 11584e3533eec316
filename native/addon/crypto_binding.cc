// Node-API surface of the crypto core, for the control plane (key conversions, handshake-sized work),
// tests and micro-benchmarks. Argument conversion only: the primitives live in native/crypto/.
#include <algorithm>
#include <chrono>
#include <vector>

#include "../crypto/aead.h"
#include "../crypto/arx.h"
#include "../crypto/curve.h"
#include "../crypto/hash.h"
#include "../crypto/poly1305.h"
#include "../crypto/secretbox.h"
#include "args.h"
#include "bindings.h"

namespace gw::addon {

using namespace gw::crypto;

namespace {

constexpr size_t kMaxMessage = 1 << 30;

Napi::Value fail(Napi::Env env, const char* what) {
  throw_error(env, what);
  return env.Undefined();
}

Napi::Value range_error(Napi::Env env, const char* what) {
  Napi::RangeError::New(env, what).ThrowAsJavaScriptException();
  return env.Undefined();
}

// AEAD in the one-shot form: (key, nonce, ad, data) → new Buffer. Seal appends the tag; open strips and
// checks it and throws when it does not authenticate.
template <size_t NonceLen, bool (*Fn)(const uint8_t*, const uint8_t*, const uint8_t*, size_t, const uint8_t*,
                                      size_t, uint8_t*),
          bool Seal>
Napi::Value aead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes key, nonce, ad, data;
  if (!get_bytes(info, 0, "key", &key, kKeyLen) || !get_bytes(info, 1, "nonce", &nonce, NonceLen) ||
      !get_bytes(info, 2, "ad", &ad) || !get_bytes(info, 3, "data", &data))
    return env.Undefined();
  if (data.len > kMaxMessage) return fail(env, "data too long");
  if (!Seal && data.len < kTagLen) return fail(env, "ciphertext shorter than the 16-byte tag");
  size_t out_len = Seal ? data.len + kTagLen : data.len - kTagLen;
  auto out = new_buffer(env, out_len);
  if (!Fn(key.data, nonce.data, ad.data, ad.len, data.data, Seal ? data.len : out_len, out.Data()))
    return fail(env, Seal ? "seal failed" : "authentication failed: ciphertext, tag, nonce or ad was altered");
  return out;
}

template <bool Seal>
Napi::Value secretbox(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes key, nonce, data;
  if (!get_bytes(info, 0, "key", &key, kKeyLen) || !get_bytes(info, 1, "nonce", &nonce, kXNonceLen) ||
      !get_bytes(info, 2, "data", &data))
    return env.Undefined();
  if (data.len > kMaxMessage) return fail(env, "data too long");
  if (!Seal && data.len < kBoxOverhead) return fail(env, "box shorter than the 16-byte tag");
  size_t out_len = Seal ? data.len + kBoxOverhead : data.len - kBoxOverhead;
  auto out = new_buffer(env, out_len);
  bool ok = Seal ? secretbox_seal(key.data, nonce.data, data.data, data.len, out.Data())
                 : secretbox_open(key.data, nonce.data, data.data, out_len, out.Data());
  if (!ok) return fail(env, Seal ? "seal failed" : "authentication failed: box was altered");
  return out;
}

// (a: 32 bytes, b: 32 bytes) → 32 bytes, for X25519, box_beforenm and key conversions.
template <bool (*Fn)(const uint8_t*, const uint8_t*, uint8_t*), const char* A, const char* B>
Napi::Value two_keys(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes a, b;
  if (!get_bytes(info, 0, A, &a, kKeyLen) || !get_bytes(info, 1, B, &b, kKeyLen))
    return env.Undefined();
  auto out = new_buffer(env, kKeyLen);
  if (!Fn(a.data, b.data, out.Data())) return fail(env, "key agreement failed (low-order or invalid public key)");
  return out;
}

template <bool (*Fn)(const uint8_t*, uint8_t*), const char* Err>
Napi::Value one_key(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes k;
  if (!get_bytes(info, 0, "key", &k, kKeyLen)) return env.Undefined();
  auto out = new_buffer(env, kKeyLen);
  if (!Fn(k.data, out.Data())) return fail(env, Err);
  return out;
}

template <void (*Fn)(const uint8_t*, const uint8_t*, uint8_t*)>
Napi::Value hcore(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes k, n;
  if (!get_bytes(info, 0, "key", &k, kKeyLen) || !get_bytes(info, 1, "nonce", &n, 16)) return env.Undefined();
  auto out = new_buffer(env, kKeyLen);
  Fn(k.data, n.data, out.Data());
  return out;
}

bool x25519_args(const uint8_t* priv, const uint8_t* pub, uint8_t* out) { return x25519(priv, pub, out); }
bool box_args(const uint8_t* peer, const uint8_t* priv, uint8_t* out) { return box_beforenm(peer, priv, out); }
constexpr char kBadPrivate[] = "invalid private key";
constexpr char kPrivateKey[] = "private key";
constexpr char kPublicKey[] = "public key";
constexpr char kPeerPublicKey[] = "peer public key";
constexpr char kBadEdPublic[] = "not a valid Ed25519 public key encoding";

Napi::Value Blake2s(const Napi::CallbackInfo& info) {
  Bytes d;
  if (!get_bytes(info, 0, "data", &d)) return info.Env().Undefined();
  auto out = new_buffer(info.Env(), kBlake2sLen);
  if (!blake2s(d.data, d.len, out.Data())) return fail(info.Env(), "blake2s failed");
  return out;
}

Napi::Value Blake2sMac(const Napi::CallbackInfo& info) {
  Bytes k, d;
  if (!get_bytes(info, 0, "key", &k) || !get_bytes(info, 1, "data", &d)) return info.Env().Undefined();
  if (k.len < 1 || k.len > 32) return range_error(info.Env(), "key must be 1..32 bytes");
  auto out = new_buffer(info.Env(), kMacLen);
  if (!blake2s_mac16(k.data, k.len, d.data, d.len, out.Data())) return fail(info.Env(), "blake2s mac failed");
  return out;
}

Napi::Value HmacBlake2s(const Napi::CallbackInfo& info) {
  Bytes k, d;
  if (!get_bytes(info, 0, "key", &k) || !get_bytes(info, 1, "data", &d)) return info.Env().Undefined();
  Slice s{d.data, d.len};
  auto out = new_buffer(info.Env(), kBlake2sLen);
  if (!hmac_blake2s(k.data, k.len, &s, 1, out.Data())) return fail(info.Env(), "hmac failed");
  return out;
}

Napi::Value Kdf(const Napi::CallbackInfo& info) {
  Bytes ck, in;
  uint64_t n;
  if (!get_bytes(info, 0, "chaining key", &ck) || !get_bytes(info, 1, "input", &in) ||
      !get_uint(info, 2, "n", 1u << 31, &n))
    return info.Env().Undefined();
  if (n < 1 || n > 3) return range_error(info.Env(), "n must be 1, 2 or 3");
  uint8_t out[96];
  if (!kdf(ck.data, ck.len, in.data, in.len, n, out)) return fail(info.Env(), "kdf failed");
  auto arr = Napi::Array::New(info.Env(), n);
  for (uint32_t i = 0; i < n; i++) arr.Set(i, Napi::Buffer<uint8_t>::Copy(info.Env(), out + 32 * i, 32));
  wipe(out, sizeof out);
  return arr;
}

Napi::Value Blake2b512(const Napi::CallbackInfo& info) {
  Bytes k, d;
  if (!get_bytes(info, 0, "key", &k) || !get_bytes(info, 1, "data", &d)) return info.Env().Undefined();
  if (k.len > 64) return range_error(info.Env(), "key must be at most 64 bytes");
  auto out = new_buffer(info.Env(), kBlake2bLen);
  if (!blake2b512(k.data, k.len, d.data, d.len, out.Data())) return fail(info.Env(), "blake2b failed");
  return out;
}

Napi::Value Ed25519Sign(const Napi::CallbackInfo& info) {
  Bytes seed, msg;
  if (!get_bytes(info, 0, "seed", &seed, kEd25519SeedLen) || !get_bytes(info, 1, "message", &msg))
    return info.Env().Undefined();
  auto out = new_buffer(info.Env(), kEd25519SigLen);
  if (!ed25519_sign(seed.data, msg.data, msg.len, out.Data())) return fail(info.Env(), "ed25519 sign failed");
  return out;
}

Napi::Value Ed25519Verify(const Napi::CallbackInfo& info) {
  Bytes pub, msg, sig;
  if (!get_bytes(info, 0, "public key", &pub, kKeyLen) || !get_bytes(info, 1, "message", &msg) ||
      !get_bytes(info, 2, "signature", &sig, kEd25519SigLen))
    return info.Env().Undefined();
  return Napi::Boolean::New(info.Env(), ed25519_verify(pub.data, msg.data, msg.len, sig.data));
}

Napi::Value RandomBytes(const Napi::CallbackInfo& info) {
  uint64_t n;
  if (!get_uint(info, 0, "length", 1 << 20, &n)) return info.Env().Undefined();
  auto out = new_buffer(info.Env(), n);
  if (!random_bytes(out.Data(), n)) return fail(info.Env(), "RNG failure");
  return out;
}

// Seals or opens `iterations` packets of `size` bytes with one keyed context, entirely in native code:
// the data-plane cost without the JS call per packet. Returns elapsed nanoseconds.
Napi::Value AeadLoop(const Napi::CallbackInfo& info) {
  Bytes key;
  uint64_t size, iterations, open;
  if (!get_bytes(info, 0, "key", &key, kKeyLen) || !get_uint(info, 1, "size", 65535, &size) ||
      !get_uint(info, 2, "iterations", 1ull << 32, &iterations) || !get_uint(info, 3, "open", 1, &open))
    return info.Env().Undefined();
  std::vector<uint8_t> buf(size + kTagLen, 0x5a);
  ChaChaPoly sealer, opener;
  uint8_t nonce[kChaChaNonceLen];
  wg_nonce(0, nonce);
  if (!sealer.set_key(key.data, ChaChaPoly::kSeal) || !opener.set_key(key.data, ChaChaPoly::kOpen))
    return fail(info.Env(), "set_key failed");
  std::vector<uint8_t> sealed(buf);
  sealer.seal(nonce, nullptr, 0, sealed.data(), size, sealed.data() + size);
  auto start = std::chrono::steady_clock::now();
  bool ok = true;
  for (uint64_t i = 0; i < iterations && ok; i++) {
    if (open) {
      std::copy(sealed.begin(), sealed.begin() + size, buf.begin());
      ok = opener.open(nonce, nullptr, 0, buf.data(), size, sealed.data() + size);
    } else {
      wg_nonce(i, nonce);
      ok = sealer.seal(nonce, nullptr, 0, buf.data(), size, buf.data() + size);
    }
  }
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
  if (!ok) return fail(info.Env(), "aead loop failed");
  return Napi::Number::New(info.Env(), static_cast<double>(ns));
}

// (key, data, route) → the 16-byte Poly1305 tag through one route (0 chosen, 1 portable, 2 exported,
// 3 EVP), for the differential test of each.
Napi::Value Poly1305(const Napi::CallbackInfo& info) {
  Bytes key, data;
  uint64_t route;
  if (!get_bytes(info, 0, "key", &key, kKeyLen) || !get_bytes(info, 1, "data", &data) ||
      !get_uint(info, 2, "route", 3, &route))
    return info.Env().Undefined();
  const Slice msg{data.data, data.len};
  auto out = new_buffer(info.Env(), kTagLen);
  if (!poly1305(key.data, &msg, 1, out.Data(), static_cast<Poly1305Route>(route)))
    return fail(info.Env(), "poly1305 failed (the exported core is missing from this node binary?)");
  return out;
}

// (route, size, evict bytes, samples, calls per sample) → nanoseconds per call, one figure per sample,
// for bench/poly1305.ts. Before each sample `evict` bytes are written (to push code, tables and page
// table entries out of the caches) and then the message is touched, as a freshly received packet is
// hot. Route 4 times nothing: the cost of the clock itself.
Napi::Value Poly1305Cost(const Napi::CallbackInfo& info) {
  uint64_t route, size, evict, samples, calls;
  // Bounded so that a mistaken call costs a second of the JS thread, not minutes.
  if (!get_uint(info, 0, "route", 4, &route) || !get_uint(info, 1, "size", 1 << 20, &size) ||
      !get_uint(info, 2, "evict", 1 << 28, &evict) || !get_uint(info, 3, "samples", 10000, &samples) ||
      !get_uint(info, 4, "calls", 1 << 16, &calls))
    return info.Env().Undefined();
  if (calls == 0) return fail(info.Env(), "calls must be at least 1");
  std::vector<uint8_t> junk(evict), msg(size, 0x5a);
  uint8_t key[kKeyLen] = {1}, tag[kTagLen] = {};
  const Slice part{msg.data(), size};
  auto out = Napi::Float64Array::New(info.Env(), samples);
  bool ok = true;
  for (uint64_t s = 0; s < samples; s++) {
    for (size_t i = 0; i < evict; i += 64) junk[i] += tag[0];
    for (size_t i = 0; i < size; i += 64) msg[i] ^= static_cast<uint8_t>(s);
    auto t0 = std::chrono::steady_clock::now();
    for (uint64_t c = 0; c < calls && route < 4; c++) ok &= poly1305(key, &part, 1, tag, static_cast<Poly1305Route>(route));
    out[s] = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / double(calls);
    key[1] = tag[0];  // each call depends on the last, so none is skipped
  }
  if (!ok) return fail(info.Env(), "poly1305 failed (the exported core is missing from this node binary?)");
  return out;
}

}  // namespace

Napi::Object crypto_exports(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  auto fn = [&](const char* name, Napi::Function::Callback cb) { o.Set(name, Napi::Function::New(env, cb, name)); };
  fn("chachaSeal", aead<kChaChaNonceLen, chacha_seal, true>);
  fn("chachaOpen", aead<kChaChaNonceLen, chacha_open, false>);
  fn("xchachaSeal", aead<kXNonceLen, xchacha_seal, true>);
  fn("xchachaOpen", aead<kXNonceLen, xchacha_open, false>);
  fn("secretboxSeal", secretbox<true>);
  fn("secretboxOpen", secretbox<false>);
  fn("boxBeforenm", two_keys<box_args, kPeerPublicKey, kPrivateKey>);
  fn("x25519", two_keys<x25519_args, kPrivateKey, kPublicKey>);
  fn("x25519Public", one_key<x25519_public, kBadPrivate>);
  fn("ed25519Public", one_key<ed25519_public, kBadPrivate>);
  fn("ed25519SeedToX25519", one_key<ed25519_seed_to_x25519, kBadPrivate>);
  fn("ed25519PublicToX25519", one_key<ed25519_public_to_x25519, kBadEdPublic>);
  fn("ed25519Sign", Ed25519Sign);
  fn("ed25519Verify", Ed25519Verify);
  fn("hchacha20", hcore<hchacha20>);
  fn("hsalsa20", hcore<hsalsa20>);
  fn("blake2s", Blake2s);
  fn("blake2sMac", Blake2sMac);
  fn("hmacBlake2s", HmacBlake2s);
  fn("kdf", Kdf);
  fn("blake2b512", Blake2b512);
  fn("randomBytes", RandomBytes);
  fn("aeadLoop", AeadLoop);
  fn("poly1305", Poly1305);
  fn("poly1305Cost", Poly1305Cost);
  return o;
}

}  // namespace gw::addon
