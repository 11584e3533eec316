#include "event_pump.h"

namespace gw::addon {

EventPump::EventPump(Napi::Env env, Napi::Function callback) {
  // Referenced: an open engine keeps the event loop alive, as an open server socket does; close()
  // releases it.
  tsfn_ = Napi::ThreadSafeFunction::New(env, callback, "gridwire-events", 0, 1);
}

EventPump::~EventPump() { close(); }

void EventPump::close() {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return;
  closed_ = true;
  queue_.clear();
  tsfn_.Release();
}

void EventPump::post(Event event) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return;
  if (queue_.size() >= kCapacity) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  queue_.push_back(std::move(event));
  if (scheduled_) return;
  scheduled_ = true;
  auto cb = [self = shared_from_this()](Napi::Env env, Napi::Function js) { self->drain(env, js); };
  if (tsfn_.NonBlockingCall(cb) != napi_ok) scheduled_ = false;
}

void EventPump::drain(Napi::Env env, Napi::Function callback) {
  std::deque<Event> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    scheduled_ = false;
    if (closed_) return;
    batch.swap(queue_);
  }
  for (const Event& e : batch) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("type", e.type);
    if (!e.peer.empty()) o.Set("peer", e.peer);
    if (!e.detail.empty()) o.Set("detail", e.detail);
    callback.Call({o});
    if (env.IsExceptionPending()) return;  // surfaces as an uncaught exception in JS
  }
}

}  // namespace gw::addon
