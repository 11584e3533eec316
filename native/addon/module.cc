// Addon entry: checks the crypto backend once, then exports the function groups.
#include <napi.h>

#include "../crypto/crypto.h"
#include "bindings.h"

namespace gw::addon {

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  if (const char* err = gw::crypto::init()) {
    Napi::Error::New(env, std::string("gridwire: ") + err).ThrowAsJavaScriptException();
    return exports;
  }
  exports.Set("crypto", crypto_exports(env));
  exports.Set("WgEngine", wg_engine_class(env));
  exports.Set("PlanetaryEngine", planetary_engine_class(env));
  return exports;
}

}  // namespace gw::addon

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return gw::addon::Init(env, exports); }

NODE_API_MODULE(gridwire, InitModule)
