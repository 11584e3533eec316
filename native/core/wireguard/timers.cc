#include "timers.h"

namespace gw::wg {

uint64_t Timers::jitter(uint32_t random) const {
  return c_.rekey_timeout_jitter_max ? random % c_.rekey_timeout_jitter_max : 0;
}

// "We sent data but heard nothing back": if nothing authenticated arrives by then, start a handshake.
void Timers::timers_data_sent(uint64_t now, uint32_t random) {
  if (!new_handshake_.armed) new_handshake_.arm(now + c_.keepalive_timeout + c_.rekey_timeout + jitter(random));
}

// Passive keepalive: make sure the peer hears from us within keepalive_timeout of its data.
void Timers::timers_data_received(uint64_t now) {
  if (!send_keepalive_.armed) {
    send_keepalive_.arm(now + c_.keepalive_timeout);
  } else {
    need_another_keepalive_ = true;
  }
}

void Timers::timers_any_authenticated_packet_sent() { send_keepalive_.stop(); }

void Timers::timers_any_authenticated_packet_received() { new_handshake_.stop(); }

void Timers::timers_any_authenticated_packet_traversal(uint64_t now) {
  if (persistent_interval_ > 0) persistent_keepalive_.arm(now + persistent_interval_ * c_.persistent_keepalive_unit);
}

void Timers::timers_handshake_initiated(uint64_t now, uint32_t random) {
  retransmit_handshake_.arm(now + c_.rekey_timeout + jitter(random));
}

void Timers::timers_handshake_complete(uint64_t) {
  retransmit_handshake_.stop();
  handshake_attempts_ = 0;
  sent_last_minute_handshake_ = false;
}

void Timers::timers_session_derived(uint64_t now) { zero_key_material_.arm(now + c_.zero_key_material_after()); }

void Timers::timers_stop_all() {
  retransmit_handshake_.stop();
  send_keepalive_.stop();
  new_handshake_.stop();
  persistent_keepalive_.stop();
  handshake_attempts_ = 0;
  need_another_keepalive_ = false;
}

bool Timers::try_begin_initiation(uint64_t now, bool retry) {
  if (!retry) handshake_attempts_ = 0;
  if (has_sent_handshake_ && now - last_sent_handshake_ < c_.rekey_timeout) return false;
  last_sent_handshake_ = now;
  has_sent_handshake_ = true;
  return true;
}

bool Timers::keypair_usable(const Keypair* k, uint64_t now) const {
  return k && !keypair_expired(c_, *k, now) && k->send_counter() < c_.reject_after_messages;
}

// Only the initiator rekeys by age, so both sides do not start handshakes at once.
bool Timers::want_rekey_after_send(const Keypair* k, uint64_t now) const {
  if (!k) return false;
  return k->send_counter() > c_.rekey_after_messages ||
         (k->initiator() && now - k->birth_ns() >= c_.rekey_after_time);
}

// Receiving on an initiator keypair that will expire before a new-handshake timer could fire: one last try.
bool Timers::want_rekey_after_receive(const Keypair* k, uint64_t now) {
  if (sent_last_minute_handshake_ || !k || !k->initiator()) return false;
  if (now - k->birth_ns() < c_.reject_after_time - c_.keepalive_timeout - c_.rekey_timeout) return false;
  sent_last_minute_handshake_ = true;
  return true;
}

bool Timers::set_persistent_keepalive(uint16_t interval, uint64_t now) {
  bool turned_on = persistent_interval_ == 0 && interval > 0;
  persistent_interval_ = interval;
  if (interval == 0) {
    persistent_keepalive_.stop();
  } else {
    persistent_keepalive_.arm(now + interval * c_.persistent_keepalive_unit);
  }
  return turned_on;
}

TimerActions Timers::tick(uint64_t now) {
  TimerActions a;
  if (retransmit_handshake_.due(now)) {
    retransmit_handshake_.stop();
    if (handshake_attempts_ > c_.max_timer_handshakes()) {
      a.give_up = true;
      send_keepalive_.stop();
      if (!zero_key_material_.armed) zero_key_material_.arm(now + c_.zero_key_material_after());
    } else {
      ++handshake_attempts_;
      a.send_initiation = a.initiation_is_retry = a.clear_endpoint_src = true;
    }
  }
  if (send_keepalive_.due(now)) {
    send_keepalive_.stop();
    a.send_keepalive = true;
    if (need_another_keepalive_) {
      need_another_keepalive_ = false;
      send_keepalive_.arm(now + c_.keepalive_timeout);
    }
  }
  if (new_handshake_.due(now)) {
    new_handshake_.stop();
    a.send_initiation = a.clear_endpoint_src = true;
  }
  if (zero_key_material_.due(now)) {
    zero_key_material_.stop();
    a.zero_keys = true;
  }
  if (persistent_keepalive_.due(now)) {
    persistent_keepalive_.stop();
    if (persistent_interval_ > 0) a.send_keepalive = true;
  }
  return a;
}

uint64_t Timers::next_deadline() const {
  uint64_t t = UINT64_MAX;
  for (const Deadline* d : {&retransmit_handshake_, &send_keepalive_, &new_handshake_, &zero_key_material_,
                            &persistent_keepalive_}) {
    if (d->armed && d->at < t) t = d->at;
  }
  return t;
}

}  // namespace gw::wg
