// Node-API wrapper of the WireGuard engine: argument conversion and validation only. Every change
// object is converted completely before the engine sees it, so a bad field throws with nothing applied.
#include <cerrno>
#include <cstring>
#include <memory>

#include "../util/hex.h"
#include "../engine/wg_engine.h"
#include "args.h"
#include "bindings.h"
#include "event_pump.h"

namespace gw::addon {

namespace {

class Converter {
 public:
  explicit Converter(Napi::Env env) : env_(env) {}
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  bool key(Napi::Value v, const char* what, engine::Key* out) {
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
        v.As<Napi::Uint8Array>().ByteLength() != 32)
      return fail(std::string(what) + " must be a 32-byte Uint8Array");
    std::memcpy(out->data(), v.As<Napi::Uint8Array>().Data(), 32);
    return true;
  }

  bool uint(Napi::Value v, const char* what, uint64_t max, uint64_t* out) {
    if (!v.IsNumber()) return fail(std::string(what) + " must be a number");
    double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= 0) || d > static_cast<double>(max) || d != static_cast<double>(static_cast<uint64_t>(d)))
      return fail(std::string(what) + " must be an integer in 0.." + std::to_string(max));
    *out = static_cast<uint64_t>(d);
    return true;
  }

  bool prefix(Napi::Value v, core::IpPrefix* out) {
    if (!v.IsObject()) return fail("allowed IP must be {address, bits}");
    Napi::Object o = v.As<Napi::Object>();
    Napi::Value a = o.Get("address");
    uint64_t bits;
    if (!a.IsTypedArray() || a.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      return fail("allowed IP address must be a Uint8Array");
    size_t len = a.As<Napi::Uint8Array>().ByteLength();
    if (len != 4 && len != 16) return fail("allowed IP address must be 4 or 16 bytes");
    if (!uint(o.Get("bits"), "allowed IP bits", len * 8, &bits)) return false;
    out->family = len == 4 ? core::IpFamily::kV4 : core::IpFamily::kV6;
    out->cidr = static_cast<uint8_t>(bits);
    std::memcpy(out->addr, a.As<Napi::Uint8Array>().Data(), len);
    return true;
  }

  bool prefixes(Napi::Value v, std::vector<core::IpPrefix>* out) {
    if (v.IsUndefined()) return true;
    if (!v.IsArray()) return fail("allowed IP list must be an array");
    Napi::Array arr = v.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++)
      if (!prefix(arr.Get(i), &out->emplace_back())) return false;
    return true;
  }

  bool optional_key(Napi::Object o, const char* name, std::optional<engine::Key>* out) {
    Napi::Value v = o.Get(name);
    if (v.IsUndefined()) return true;
    engine::Key k{};
    if (!v.IsNull() && !key(v, name, &k)) return false;
    *out = k;  // null → all zeros: remove
    return true;
  }

  bool peer(Napi::Value v, engine::PeerChange* out) {
    if (!v.IsObject()) return fail("peer change must be an object");
    Napi::Object o = v.As<Napi::Object>();
    if (!key(o.Get("publicKey"), "publicKey", &out->public_key)) return false;
    out->remove = o.Get("remove").ToBoolean();
    out->update_only = o.Get("updateOnly").ToBoolean();
    out->replace_allowed_ips = o.Get("replaceAllowedIps").ToBoolean();
    if (!optional_key(o, "presharedKey", &out->preshared_key)) return false;
    Napi::Value ep = o.Get("endpoint");
    if (!ep.IsUndefined()) {
      io::Endpoint e;
      if (!ep.IsString() || !io::Endpoint::parse(ep.As<Napi::String>().Utf8Value().c_str(), &e))
        return fail("endpoint must be a numeric ip:port or [ipv6]:port");
      out->endpoint = e;
    }
    Napi::Value ka = o.Get("persistentKeepalive");
    uint64_t n;
    if (!ka.IsUndefined()) {
      if (!uint(ka, "persistentKeepalive", 65535, &n)) return false;
      out->persistent_keepalive = static_cast<uint16_t>(n);
    }
    return prefixes(o.Get("addAllowedIps"), &out->add_allowed_ips) &&
           prefixes(o.Get("removeAllowedIps"), &out->remove_allowed_ips);
  }

  bool change(Napi::Value v, engine::DeviceChange* out) {
    if (!v.IsObject()) return fail("change must be an object");
    Napi::Object o = v.As<Napi::Object>();
    uint64_t n;
    if (!optional_key(o, "privateKey", &out->private_key)) return false;
    if (!o.Get("listenPort").IsUndefined()) {
      if (!uint(o.Get("listenPort"), "listenPort", 65535, &n)) return false;
      out->listen_port = static_cast<uint16_t>(n);
    }
    if (!o.Get("fwmark").IsUndefined()) {
      if (!uint(o.Get("fwmark"), "fwmark", 0xffffffffu, &n)) return false;
      out->fwmark = static_cast<uint32_t>(n);
    }
    out->replace_peers = o.Get("replacePeers").ToBoolean();
    Napi::Value peers = o.Get("peers");
    if (peers.IsUndefined()) return true;
    if (!peers.IsArray()) return fail("peers must be an array");
    Napi::Array arr = peers.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++)
      if (!peer(arr.Get(i), &out->peers.emplace_back())) return false;
    return true;
  }

 private:
  bool fail(const std::string& msg) {
    if (error_.empty()) error_ = msg;
    return false;
  }
  Napi::Env env_;
  std::string error_;
};

Napi::Value prefix_object(Napi::Env env, const core::IpPrefix& p) {
  Napi::Object o = Napi::Object::New(env);
  size_t len = p.family == core::IpFamily::kV4 ? 4 : 16;
  o.Set("address", Napi::Buffer<uint8_t>::Copy(env, p.addr, len));
  o.Set("bits", p.cidr);
  return o;
}

void throw_errno(Napi::Env env, int errno_value, const std::string& msg) {
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("errno", Napi::Number::New(env, errno_value));
  e.ThrowAsJavaScriptException();
}

class WgEngineWrap : public Napi::ObjectWrap<WgEngineWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "WgEngine",
                       {InstanceMethod<&WgEngineWrap::Configure>("configure"),
                        InstanceMethod<&WgEngineWrap::PrivateKey>("privateKey"),
                        InstanceMethod<&WgEngineWrap::ListenPort>("listenPort"),
                        InstanceMethod<&WgEngineWrap::Fwmark>("fwmark"),
                        InstanceMethod<&WgEngineWrap::Peers>("peers"),
                        InstanceMethod<&WgEngineWrap::Counters>("counters"),
                        InstanceMethod<&WgEngineWrap::Inject>("inject"),
                        InstanceMethod<&WgEngineWrap::Close>("close")});
  }

  explicit WgEngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<WgEngineWrap>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject() || !info[0].As<Napi::Object>().Get("onEvent").IsFunction()) {
      Napi::TypeError::New(env, "WgEngine options must be an object with an onEvent function")
          .ThrowAsJavaScriptException();
      return;
    }
    Napi::Object o = info[0].As<Napi::Object>();
    engine::EngineOptions opts;
    if (o.Get("tunName").IsString()) opts.tun_name = o.Get("tunName").As<Napi::String>().Utf8Value();
    Converter c(env);
    uint64_t mtu = 1420;
    if (!o.Get("mtu").IsUndefined() && !c.uint(o.Get("mtu"), "mtu", 65535, &mtu)) {
      Napi::RangeError::New(env, c.error()).ThrowAsJavaScriptException();
      return;
    }
    if (mtu < 576) mtu = 576;
    opts.mtu = static_cast<int>(mtu);
    if (o.Get("timeScale").IsNumber()) opts.time_scale = o.Get("timeScale").As<Napi::Number>().DoubleValue();
    pump_ = std::make_shared<EventPump>(env, o.Get("onEvent").As<Napi::Function>());
    std::weak_ptr<EventPump> pump = pump_;
    opts.on_event = [pump](const char* type, const uint8_t* peer, const std::string& detail) {
      if (auto p = pump.lock()) p->post(Event{type, peer ? to_hex(peer, 32) : std::string(), detail});
    };
    std::string err;
    if (int rc = engine_.start(opts, &err); rc < 0) {
      pump_->close();
      throw_errno(env, rc, err);
    }
  }

  ~WgEngineWrap() override { Shutdown(); }

 private:
  void Shutdown() {
    engine_.stop();
    if (pump_) pump_->close();
  }

  Napi::Value Configure(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    engine::DeviceChange change;
    Converter c(env);
    if (!c.change(info[0], &change)) {
      throw_errno(env, -EINVAL, c.error());
      return env.Undefined();
    }
    std::string err;
    if (int rc = engine_.configure(change, &err); rc < 0) throw_errno(env, rc, err);
    return env.Undefined();
  }

  Napi::Value PrivateKey(const Napi::CallbackInfo& info) {
    auto k = engine_.private_key();
    if (!k) return info.Env().Null();
    return Napi::Buffer<uint8_t>::Copy(info.Env(), k->data(), k->size());
  }

  Napi::Value ListenPort(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), engine_.listen_port()); }
  Napi::Value Fwmark(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), engine_.fwmark()); }

  Napi::Value Peers(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto peers = engine_.peers();
    Napi::Array arr = Napi::Array::New(env, peers.size());
    for (uint32_t i = 0; i < peers.size(); i++) {
      const engine::PeerInfo& p = peers[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("publicKey", Napi::Buffer<uint8_t>::Copy(env, p.public_key.data(), 32));
      o.Set("presharedKey", p.preshared_key ? Napi::Value(Napi::Buffer<uint8_t>::Copy(env, p.preshared_key->data(), 32))
                                            : env.Null());
      o.Set("endpoint", p.endpoint.empty() ? env.Null() : Napi::String::New(env, p.endpoint));
      o.Set("lastHandshakeSec", static_cast<double>(p.stats.last_handshake_unix_ns / 1000000000ull));
      o.Set("lastHandshakeNsec", static_cast<double>(p.stats.last_handshake_unix_ns % 1000000000ull));
      o.Set("rxBytes", static_cast<double>(p.stats.rx_bytes));
      o.Set("txBytes", static_cast<double>(p.stats.tx_bytes));
      o.Set("rxPackets", static_cast<double>(p.stats.rx_packets));
      o.Set("txPackets", static_cast<double>(p.stats.tx_packets));
      o.Set("rxKeepalives", static_cast<double>(p.stats.rx_keepalives));
      o.Set("txKeepalives", static_cast<double>(p.stats.tx_keepalives));
      o.Set("handshakes", static_cast<double>(p.stats.handshakes_completed));
      o.Set("persistentKeepalive", p.persistent_keepalive);
      Napi::Array ips = Napi::Array::New(env, p.allowed_ips.size());
      for (uint32_t j = 0; j < p.allowed_ips.size(); j++) ips.Set(j, prefix_object(env, p.allowed_ips[j]));
      o.Set("allowedIps", ips);
      arr.Set(i, o);
    }
    return arr;
  }

  Napi::Value Counters(const Napi::CallbackInfo& info) {
    Napi::Object o = Napi::Object::New(info.Env());
    for (const auto& [name, value] : engine_.counters()) o.Set(name, static_cast<double>(value));
    o.Set("events_dropped", static_cast<double>(pump_ ? pump_->dropped() : 0));
    return o;
  }

  // inject(src: 4 bytes, dst: 4 bytes, payload, seconds) → Promise<{packets, cpuSeconds}>: the bench's
  // synthetic transmit path, run on a libuv worker thread (WgEngine::inject).
  Napi::Value Inject(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto addr = [](const Napi::Value& v) { return v.IsTypedArray() && v.As<Napi::Uint8Array>().ByteLength() == 4; };
    if (!addr(info[0]) || !addr(info[1]) || !info[2].IsNumber() || !info[3].IsNumber()) {
      Napi::TypeError::New(env, "inject(src, dst, payload, seconds): two 4-byte IPv4 addresses and two numbers")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const double payload = info[2].As<Napi::Number>().DoubleValue(), seconds = info[3].As<Napi::Number>().DoubleValue();
    if (!(payload >= 0 && payload <= 65507) || !(seconds > 0 && seconds <= 600)) {
      Napi::RangeError::New(env, "inject: payload must be 0..65507 bytes and seconds in (0, 600]").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto* w = new InjectWorker(env, Value(), engine_, info[0].As<Napi::Uint8Array>().Data(),
                               info[1].As<Napi::Uint8Array>().Data(), static_cast<size_t>(payload), seconds);
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
  }

  class InjectWorker final : public Napi::AsyncWorker {
   public:
    InjectWorker(Napi::Env env, Napi::Object owner, engine::WgEngine& engine, const uint8_t* src, const uint8_t* dst,
                 size_t payload, double seconds)
        : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), engine_(engine), payload_(payload),
          seconds_(seconds) {
      owner_ = Napi::Persistent(owner);  // the engine outlives the work
      std::memcpy(src_, src, 4);
      std::memcpy(dst_, dst, 4);
    }
    Napi::Promise promise() const { return deferred_.Promise(); }
    void Execute() override { result_ = engine_.inject(src_, dst_, payload_, seconds_); }
    void OnOK() override {
      Napi::Object o = Napi::Object::New(Env());
      o.Set("packets", static_cast<double>(result_.packets));
      o.Set("cpuSeconds", result_.cpu_seconds);
      deferred_.Resolve(o);
    }
    void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

   private:
    Napi::Promise::Deferred deferred_;
    Napi::ObjectReference owner_;
    engine::WgEngine& engine_;
    uint8_t src_[4], dst_[4];
    size_t payload_;
    double seconds_;
    engine::WgEngine::InjectResult result_;
  };

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shutdown();
    return info.Env().Undefined();
  }

  engine::WgEngine engine_;
  std::shared_ptr<EventPump> pump_;
};

}  // namespace

Napi::Function wg_engine_class(Napi::Env env) { return WgEngineWrap::Define(env); }

}  // namespace gw::addon
