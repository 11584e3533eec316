// Per-peer timer policy: the five WireGuard timers (retransmit_handshake, send_keepalive, new_handshake,
// zero_key_material, persistent_keepalive) plus every "is it time to (re)key" rule. This is the only place
// that decides when to initiate a handshake or send a keepalive; everything else reports events through the
// timers_* hooks and acts on what tick() and the want_* predicates return.
//
// Sans-IO: time is a monotonic nanosecond count passed in; jitter comes from a random value passed in.
// Not thread-safe: the owning peer's state lock guards a Timers.
#pragma once

#include <cstdint>

#include "keypair.h"

namespace gw::wg {

constexpr uint64_t kSecond = 1000000000ull;
constexpr uint64_t kMillisecond = 1000000ull;

// Protocol constants (wireguard-go constants.go / kernel messages.h). Tests scale them down.
struct TimerConstants {
  uint64_t rekey_after_time = 120 * kSecond;
  uint64_t reject_after_time = 180 * kSecond;
  uint64_t rekey_attempt_time = 90 * kSecond;
  uint64_t rekey_timeout = 5 * kSecond;
  uint64_t rekey_timeout_jitter_max = 334 * kMillisecond;  // exclusive upper bound
  uint64_t keepalive_timeout = 10 * kSecond;
  uint64_t persistent_keepalive_unit = kSecond;  // one "second" of a persistent keepalive interval
  uint64_t rekey_after_messages = 1ull << 60;
  uint64_t reject_after_messages = ReplayWindow::kRejectAfterMessages;

  uint64_t max_timer_handshakes() const { return rekey_attempt_time / rekey_timeout; }
  uint64_t zero_key_material_after() const { return 3 * reject_after_time; }
};

// Keypairs older than reject_after_time are used neither to send nor to receive.
inline bool keypair_expired(const TimerConstants& c, const Keypair& k, uint64_t now) {
  return now - k.birth_ns() >= c.reject_after_time;
}

// What tick() found due. Several can be due at once.
struct TimerActions {
  bool send_initiation = false;  // retransmit or new handshake
  bool initiation_is_retry = false;
  bool clear_endpoint_src = false;
  bool send_keepalive = false;
  bool give_up = false;  // handshake attempts exhausted: drop staged packets
  bool zero_keys = false;  // wipe all keypairs and handshake state
  bool any() const { return send_initiation || send_keepalive || give_up || zero_keys; }
};

class Timers {
 public:
  explicit Timers(const TimerConstants& c) : c_(c) {}
  const TimerConstants& constants() const { return c_; }

  // Event hooks (kernel wg_timers_* names).
  void timers_data_sent(uint64_t now, uint32_t random);
  void timers_data_received(uint64_t now);
  void timers_any_authenticated_packet_sent();
  void timers_any_authenticated_packet_received();
  void timers_any_authenticated_packet_traversal(uint64_t now);
  void timers_handshake_initiated(uint64_t now, uint32_t random);
  void timers_handshake_complete(uint64_t now);
  void timers_session_derived(uint64_t now);
  // Staged packets were dropped and the session forgotten (give up / zero keys / key change).
  void timers_stop_all();

  // Rate limit for sending any handshake message to this peer: at most one per rekey_timeout. A non-retry
  // request resets the attempt counter. Returns true (and records the send time) when allowed.
  bool try_begin_initiation(uint64_t now, bool retry);
  void response_sent(uint64_t now) { last_sent_handshake_ = now; has_sent_handshake_ = true; }

  // Rekey rules that depend on the current keypair.
  bool keypair_usable(const Keypair* k, uint64_t now) const;  // not expired, counter below the limit
  bool want_rekey_after_send(const Keypair* current, uint64_t now) const;
  bool want_rekey_after_receive(const Keypair* current, uint64_t now);  // the "last-minute" handshake

  // Persistent keepalive interval in units of constants().persistent_keepalive_unit (0 = off). Returns true
  // when it went from off to on, which sends a keepalive at once.
  bool set_persistent_keepalive(uint16_t interval, uint64_t now);
  uint16_t persistent_keepalive() const { return persistent_interval_; }

  TimerActions tick(uint64_t now);
  uint64_t next_deadline() const;  // UINT64_MAX when nothing is armed
  uint64_t handshake_attempts() const { return handshake_attempts_; }

 private:
  struct Deadline {
    uint64_t at = 0;
    bool armed = false;
    void arm(uint64_t t) { at = t, armed = true; }
    void stop() { armed = false; }
    bool due(uint64_t now) const { return armed && now >= at; }
  };
  uint64_t jitter(uint32_t random) const;

  TimerConstants c_;
  Deadline retransmit_handshake_;
  Deadline send_keepalive_;
  Deadline new_handshake_;
  Deadline zero_key_material_;
  Deadline persistent_keepalive_;
  uint16_t persistent_interval_ = 0;
  uint64_t handshake_attempts_ = 0;
  bool need_another_keepalive_ = false;
  bool sent_last_minute_handshake_ = false;
  uint64_t last_sent_handshake_ = 0;
  bool has_sent_handshake_ = false;
};

}  // namespace gw::wg
