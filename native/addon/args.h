// Argument checking shared by the Node-API bindings. C++ exceptions are off, so a failed check throws a
// JS error and returns false; the binding then returns undefined at once.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

namespace gw::addon {

struct Bytes {
  uint8_t* data = nullptr;
  size_t len = 0;
};

// info[i] must be a Buffer/Uint8Array; with want >= 0 it must be exactly `want` bytes long.
bool get_bytes(const Napi::CallbackInfo& info, size_t i, const char* name, Bytes* out, long want = -1);
bool get_uint(const Napi::CallbackInfo& info, size_t i, const char* name, uint64_t max, uint64_t* out);
bool throw_error(Napi::Env env, const std::string& msg);
Napi::Buffer<uint8_t> new_buffer(Napi::Env env, size_t len);

}  // namespace gw::addon
