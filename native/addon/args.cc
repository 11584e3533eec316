#include "args.h"

namespace gw::addon {

bool throw_error(Napi::Env env, const std::string& msg) {
  Napi::Error::New(env, msg).ThrowAsJavaScriptException();
  return false;
}

bool get_bytes(const Napi::CallbackInfo& info, size_t i, const char* name, Bytes* out, long want) {
  Napi::Env env = info.Env();
  if (info.Length() <= i || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    Napi::TypeError::New(env, std::string(name) + " must be a Buffer or Uint8Array").ThrowAsJavaScriptException();
    return false;
  }
  auto arr = info[i].As<Napi::Uint8Array>();
  if (want >= 0 && arr.ByteLength() != static_cast<size_t>(want)) {
    Napi::RangeError::New(env, std::string(name) + " must be " + std::to_string(want) + " bytes, got " +
                                   std::to_string(arr.ByteLength()))
        .ThrowAsJavaScriptException();
    return false;
  }
  out->data = arr.Data();
  out->len = arr.ByteLength();
  return true;
}

bool get_uint(const Napi::CallbackInfo& info, size_t i, const char* name, uint64_t max, uint64_t* out) {
  Napi::Env env = info.Env();
  if (info.Length() <= i || !info[i].IsNumber()) {
    Napi::TypeError::New(env, std::string(name) + " must be a number").ThrowAsJavaScriptException();
    return false;
  }
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v >= 0) || v > static_cast<double>(max) || v != static_cast<double>(static_cast<uint64_t>(v))) {
    Napi::RangeError::New(env, std::string(name) + " must be an integer in 0.." + std::to_string(max))
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<uint64_t>(v);
  return true;
}

Napi::Buffer<uint8_t> new_buffer(Napi::Env env, size_t len) { return Napi::Buffer<uint8_t>::New(env, len); }

}  // namespace gw::addon
