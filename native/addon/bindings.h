// The groups of functions the addon exports; module.cc assembles them.
#pragma once

#include <napi.h>

namespace gw::addon {

Napi::Object crypto_exports(Napi::Env env);
Napi::Function wg_engine_class(Napi::Env env);
Napi::Function planetary_engine_class(Napi::Env env);

}  // namespace gw::addon
