// Node-API wrapper of the planetary engine: argument conversion only. Peer specs arrive parsed and
// resolved by the control plane (src/planetary/); snapshots come back as plain objects for the admin API.
#include <cstring>
#include <memory>

#include "../util/hex.h"
#include "../engine/planetary_engine.h"
#include "args.h"
#include "bindings.h"
#include "event_pump.h"

namespace gw::addon {

namespace {

bool bytes_of(Napi::Value v, size_t min, size_t max, const uint8_t** data, size_t* len) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) return false;
  auto a = v.As<Napi::Uint8Array>();
  if (a.ByteLength() < min || a.ByteLength() > max) return false;
  *data = a.Data();
  *len = a.ByteLength();
  return true;
}

bool key_of(Napi::Value v, planetary::Key* out) {
  const uint8_t* d;
  size_t n;
  if (!bytes_of(v, 32, 32, &d, &n)) return false;
  std::memcpy(out->data(), d, 32);
  return true;
}

// {uri, address: "ip:port", tls, sni?, password?, priority?, pinnedKeys?, multicast?, sourceInterface?} → spec;
// "" or an error message.
std::string spec_of(Napi::Value v, engine::PlanetaryLinkSpec* out) {
  if (!v.IsObject()) return "link spec must be an object";
  Napi::Object o = v.As<Napi::Object>();
  if (!o.Get("uri").IsString() || !o.Get("address").IsString()) return "link spec needs uri and address strings";
  out->uri = o.Get("uri").As<Napi::String>().Utf8Value();
  std::string addr = o.Get("address").As<Napi::String>().Utf8Value();
  if (!io::Endpoint::parse(addr.c_str(), &out->endpoint)) return "'" + addr + "' is not a numeric ip:port";
  out->tls = o.Get("tls").ToBoolean();
  out->multicast = o.Get("multicast").ToBoolean();
  if (o.Get("sni").IsString()) out->sni = o.Get("sni").As<Napi::String>().Utf8Value();
  if (o.Get("sourceInterface").IsString()) out->sintf = o.Get("sourceInterface").As<Napi::String>().Utf8Value();
  if (!o.Get("password").IsUndefined()) {
    const uint8_t* d;
    size_t n;
    if (!bytes_of(o.Get("password"), 0, planetary::kMaxPasswordLen, &d, &n)) return "password must be at most 64 bytes";
    out->options.set_password(planetary::Bytes(d, n));
  }
  if (o.Get("priority").IsNumber()) {
    double p = o.Get("priority").As<Napi::Number>().DoubleValue();
    if (!(p >= 0 && p <= 255)) return "priority must be 0..255";
    out->options.priority = static_cast<uint8_t>(p);
  }
  if (o.Get("pinnedKeys").IsArray()) {
    Napi::Array keys = o.Get("pinnedKeys").As<Napi::Array>();
    for (uint32_t i = 0; i < keys.Length(); i++)
      if (!key_of(keys.Get(i), &out->options.pinned_keys.emplace_back())) return "pinned keys must be 32 bytes";
  }
  return "";
}

std::string specs_of(Napi::Value v, std::vector<engine::PlanetaryLinkSpec>* out) {
  if (v.IsUndefined()) return "";
  if (!v.IsArray()) return "link specs must be an array";
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++)
    if (std::string e = spec_of(a.Get(i), &out->emplace_back()); !e.empty()) return e;
  return "";
}

Napi::Array path_array(Napi::Env env, const planetary::Path& p) {
  Napi::Array a = Napi::Array::New(env, p.size());
  for (uint32_t i = 0; i < p.size(); i++) a.Set(i, static_cast<double>(p[i]));
  return a;
}

// Argument i as a link spec; false after throwing a TypeError naming what is wrong.
bool spec_arg(const Napi::CallbackInfo& info, size_t i, engine::PlanetaryLinkSpec* out) {
  std::string e = spec_of(info[i], out);
  if (e.empty()) return true;
  Napi::TypeError::New(info.Env(), e).ThrowAsJavaScriptException();
  return false;
}

// Argument i as a string named `what` ("" when optional and undefined); false after throwing.
bool string_arg(const Napi::CallbackInfo& info, size_t i, const char* what, bool optional, std::string* out) {
  if (optional && info[i].IsUndefined()) return true;
  if (!info[i].IsString()) {
    Napi::TypeError::New(info.Env(), std::string(what) + " must be a string").ThrowAsJavaScriptException();
    return false;
  }
  *out = info[i].As<Napi::String>().Utf8Value();
  return true;
}

bool uri_arg(const Napi::CallbackInfo& info, size_t i, std::string* out) { return string_arg(info, i, "uri", false, out); }

class PlanetaryWrap : public Napi::ObjectWrap<PlanetaryWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "PlanetaryEngine",
                       {InstanceMethod<&PlanetaryWrap::Snapshot>("snapshot"),
                        InstanceMethod<&PlanetaryWrap::AddPeer>("addPeer"),
                        InstanceMethod<&PlanetaryWrap::RemovePeer>("removePeer"),
                        InstanceMethod<&PlanetaryWrap::DialOnce>("dialOnce"),
                        InstanceMethod<&PlanetaryWrap::Request>("request"),
                        InstanceMethod<&PlanetaryWrap::Listen>("listen"),
                        InstanceMethod<&PlanetaryWrap::StopListening>("stopListening"),
                        InstanceMethod<&PlanetaryWrap::Close>("close")});
  }

  explicit PlanetaryWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PlanetaryWrap>(info) {
    Napi::Env env = info.Env();
    std::string err = options(info[0]);
    if (!err.empty()) {
      Napi::TypeError::New(env, err).ThrowAsJavaScriptException();
      return;
    }
    pump_ = std::make_shared<EventPump>(env, info[0].As<Napi::Object>().Get("onEvent").As<Napi::Function>());
    std::weak_ptr<EventPump> pump = pump_;
    opts_.on_event = [pump](const std::string& type, const std::string& detail) {
      if (auto p = pump.lock()) p->post(Event{type, "", detail});
    };
    if (int rc = engine_.start(std::move(opts_), &err); rc < 0) {
      pump_->close();
      Napi::Error e = Napi::Error::New(env, err);
      e.Set("errno", Napi::Number::New(env, rc));
      e.ThrowAsJavaScriptException();
    }
  }

  ~PlanetaryWrap() override { Shutdown(); }

 private:
  std::string options(Napi::Value v) {
    if (!v.IsObject() || !v.As<Napi::Object>().Get("onEvent").IsFunction())
      return "PlanetaryEngine options must be an object with an onEvent function";
    Napi::Object o = v.As<Napi::Object>();
    const uint8_t* seed;
    size_t n;
    if (!bytes_of(o.Get("seed"), 32, 32, &seed, &n)) return "seed must be a 32-byte Uint8Array";
    std::memcpy(opts_.seed, seed, 32);
    if (o.Get("tunName").IsString()) opts_.tun_name = o.Get("tunName").As<Napi::String>().Utf8Value();
    if (o.Get("mtu").IsNumber()) {
      // Checked as a double: Int32Value would wrap 2^32 + 1300 around to an acceptable 1300.
      const double mtu = o.Get("mtu").As<Napi::Number>().DoubleValue();
      if (!(mtu >= 1280 && mtu <= 65535)) return "mtu must be 1280..65535";
      opts_.mtu = static_cast<int>(mtu);
    }
    if (o.Get("nodeinfo").IsString()) opts_.nodeinfo = o.Get("nodeinfo").As<Napi::String>().Utf8Value();
    if (std::string e = specs_of(o.Get("listen"), &opts_.listen); !e.empty()) return e;
    if (std::string e = specs_of(o.Get("peers"), &opts_.peers); !e.empty()) return e;
    if (o.Get("allowedKeys").IsArray()) {
      Napi::Array keys = o.Get("allowedKeys").As<Napi::Array>();
      for (uint32_t i = 0; i < keys.Length(); i++)
        if (!key_of(keys.Get(i), &opts_.allowed_keys.emplace_back())) return "allowed keys must be 32 bytes";
    }
    return "";
  }

  void Shutdown() {
    engine_.stop();
    if (pump_) pump_->close();
  }

  Napi::Value Snapshot(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    engine::PlanetarySnapshot s = engine_.snapshot();
    Napi::Object o = Napi::Object::New(env);
    Napi::Object self = Napi::Object::New(env);
    self.Set("key", to_hex(s.self.key.data(), 32));
    self.Set("root", to_hex(s.self.root.data(), 32));
    self.Set("coords", path_array(env, s.self.coords));
    self.Set("seq", static_cast<double>(s.self.seq));
    self.Set("routingEntries", static_cast<double>(s.self.routing_entries));
    o.Set("self", self);
    Napi::Array peers = Napi::Array::New(env, s.peers.size());
    for (uint32_t i = 0; i < s.peers.size(); i++) {
      const engine::PlanetaryPeerRow& p = s.peers[i];
      Napi::Object r = Napi::Object::New(env);
      r.Set("uri", p.uri);
      r.Set("remote", p.remote);
      r.Set("up", p.up);
      r.Set("inbound", p.inbound);
      r.Set("key", p.up ? Napi::Value(Napi::String::New(env, to_hex(p.key.data(), 32))) : env.Null());
      r.Set("priority", p.priority);
      r.Set("port", static_cast<double>(p.port));
      r.Set("cost", static_cast<double>(p.cost));
      r.Set("rxBytes", static_cast<double>(p.rx_bytes));
      r.Set("txBytes", static_cast<double>(p.tx_bytes));
      r.Set("uptimeSeconds", static_cast<double>(p.uptime_ns) / 1e9);
      r.Set("rxRate", static_cast<double>(p.rx_rate));
      r.Set("txRate", static_cast<double>(p.tx_rate));
      r.Set("latencyNs", static_cast<double>(p.latency_ns));
      r.Set("lastError", p.last_error);
      r.Set("lastErrorAgeSeconds", static_cast<double>(p.last_error_age_ns) / 1e9);
      peers.Set(i, r);
    }
    o.Set("peers", peers);
    Napi::Array tree = Napi::Array::New(env, s.tree.size());
    for (uint32_t i = 0; i < s.tree.size(); i++) {
      Napi::Object r = Napi::Object::New(env);
      r.Set("key", to_hex(s.tree[i].key.data(), 32));
      r.Set("parent", to_hex(s.tree[i].parent.data(), 32));
      r.Set("seq", static_cast<double>(s.tree[i].seq));
      tree.Set(i, r);
    }
    o.Set("tree", tree);
    Napi::Array paths = Napi::Array::New(env, s.paths.size());
    for (uint32_t i = 0; i < s.paths.size(); i++) {
      Napi::Object r = Napi::Object::New(env);
      r.Set("key", to_hex(s.paths[i].key.data(), 32));
      r.Set("path", path_array(env, s.paths[i].path));
      r.Set("seq", static_cast<double>(s.paths[i].seq));
      paths.Set(i, r);
    }
    o.Set("paths", paths);
    Napi::Array sessions = Napi::Array::New(env, s.sessions.size());
    for (uint32_t i = 0; i < s.sessions.size(); i++) {
      const planetary::SessionStats& st = s.sessions[i];
      Napi::Object r = Napi::Object::New(env);
      r.Set("key", to_hex(st.key.data(), 32));
      r.Set("rxBytes", static_cast<double>(st.rx_bytes));
      r.Set("txBytes", static_cast<double>(st.tx_bytes));
      r.Set("uptimeSeconds", static_cast<double>(st.uptime_ns) / 1e9);
      sessions.Set(i, r);
    }
    o.Set("sessions", sessions);
    Napi::Array listeners = Napi::Array::New(env, s.listeners.size());
    for (uint32_t i = 0; i < s.listeners.size(); i++) {
      Napi::Object r = Napi::Object::New(env);
      r.Set("uri", s.listeners[i].uri);
      r.Set("address", s.listeners[i].address);
      r.Set("port", s.listeners[i].port);
      listeners.Set(i, r);
    }
    o.Set("listeners", listeners);
    o.Set("tunName", s.tun_name);
    return o;
  }

  Napi::Value AddPeer(const Napi::CallbackInfo& info) {
    engine::PlanetaryLinkSpec spec;
    if (!spec_arg(info, 0, &spec)) return info.Env().Undefined();
    return Napi::Boolean::New(info.Env(), engine_.add_peer(spec));
  }

  Napi::Value RemovePeer(const Napi::CallbackInfo& info) {
    std::string uri, sintf;
    if (!uri_arg(info, 0, &uri) || !string_arg(info, 1, "source interface", true, &sintf)) return info.Env().Undefined();
    return Napi::Boolean::New(info.Env(), engine_.remove_peer(uri, sintf));
  }

  Napi::Value DialOnce(const Napi::CallbackInfo& info) {
    engine::PlanetaryLinkSpec spec;
    if (!spec_arg(info, 0, &spec)) return info.Env().Undefined();
    engine_.dial_once(spec);
    return info.Env().Undefined();
  }

  Napi::Value Listen(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    engine::PlanetaryLinkSpec spec;
    if (!spec_arg(info, 0, &spec)) return env.Undefined();
    uint16_t port = 0;
    if (int rc = engine_.listen(spec, &port); rc < 0) {
      Napi::Error e = Napi::Error::New(env, "cannot listen on " + spec.uri + ": " + std::strerror(-rc));
      e.Set("errno", Napi::Number::New(env, rc));
      e.ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return Napi::Number::New(env, port);
  }

  Napi::Value StopListening(const Napi::CallbackInfo& info) {
    std::string uri;
    if (!uri_arg(info, 0, &uri)) return info.Env().Undefined();
    return Napi::Boolean::New(info.Env(), engine_.stop_listening(uri));
  }

  // (key, kind: 'nodeinfo' | 'getself' | 'getpeers' | 'gettree')
  Napi::Value Request(const Napi::CallbackInfo& info) {
    static const char* kKinds[] = {"nodeinfo", "getself", "getpeers", "gettree"};
    planetary::Key key;
    std::string kind = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
    int k = -1;
    for (int i = 0; i < 4; i++)
      if (kind == kKinds[i]) k = i;
    if (!key_of(info[0], &key) || k < 0) {
      Napi::TypeError::New(info.Env(), "request(key: 32 bytes, kind: nodeinfo|getself|getpeers|gettree)")
          .ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    engine_.request(key, static_cast<planetary::ProtoRequest>(k));
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shutdown();
    return info.Env().Undefined();
  }

  engine::PlanetaryOptions opts_;
  engine::PlanetaryEngine engine_;
  std::shared_ptr<EventPump> pump_;
};

}  // namespace

Napi::Function planetary_engine_class(Napi::Env env) { return PlanetaryWrap::Define(env); }

}  // namespace gw::addon
