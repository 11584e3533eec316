// Big batches through the parallel crypto split with crypto workers forced on (Device::encrypt seals in
// parallel chunks, Device::receive_batch opens in parallel and commits in order), checked against what the
// one-packet path gives: every packet once and in order, replays and forgeries dropped and counted without
// harming their neighbours, a key rotation in the middle of a received batch.
#include <cstring>
#include <functional>

#include "../engine/crypto_workers.h"
#include "harness.h"
#include "wg_testnet.h"

using namespace wgtest;
using gw::engine::CryptoWorkers;

namespace {

constexpr size_t kWorkers = 2;

// a and b with a session (b received one packet with tag 200); each side's workers only if asked for.
struct ParallelPair {
  CryptoWorkers wa{kWorkers}, wb{kWorkers};  // declared first: they outlive the devices
  Net net;
  Node a, b;
  PeerRef ab, ba;
  ParallelPair(bool a_parallel, bool b_parallel, const TimerConstants& tc = TimerConstants())
      : a(net, 1, tc, a_parallel ? &wa : nullptr), b(net, 2, tc, b_parallel ? &wb : nullptr) {
    wa.start();
    wb.start();
    ab = a.connect(b);
    ba = b.connect(a);
    a.send_ip(*ab, 84, 200);
    net.pump();
  }
  // Transport messages are kept here instead of being delivered; handshake messages pass.
  void capture(std::vector<Datagram>* out) {
    net.filter = [out](Datagram& d) { return d.bytes[0] != 4 || (out->push_back(d), false); };
  }
};

// IPv4 packets of assorted sizes (so padding differs per packet), tagged first_tag, first_tag + 1, ...
struct TxBatch {
  std::vector<std::vector<uint8_t>> bufs;
  std::vector<Packet> pkts;
  TxBatch(size_t n, uint8_t first_tag) : bufs(n) {
    for (size_t i = 0; i < n; ++i) {
      const size_t total = 40 + (i * 97) % 1200;
      bufs[i].assign(kTransportHeaderSize + total + kTransportTailroom, 0);
      uint8_t* ip = bufs[i].data() + kTransportHeaderSize;
      ip[0] = 0x45, ip[2] = static_cast<uint8_t>(total >> 8), ip[3] = static_cast<uint8_t>(total);
      ip[20] = static_cast<uint8_t>(first_tag + i);
      pkts.push_back({bufs[i].data(), total, bufs[i].size()});
    }
  }
  size_t send(Node& from, Peer& to) { return from.dev->encrypt(to, pkts.data(), pkts.size(), from.net.now, from); }
};

void receive_all(Node& n, std::vector<Datagram>& ds) {
  std::vector<RxDatagram> rx;
  for (Datagram& d : ds) rx.emplace_back(d.from, d.bytes.data(), d.bytes.size());
  n.dev->receive_batch(rx.data(), rx.size(), n.net.now, n);
}

// The tags of what n delivered after the first `skip` packets.
std::vector<uint8_t> tags(const Node& n, size_t skip = 1) {
  std::vector<uint8_t> out;
  for (size_t i = skip; i < n.delivered.size(); ++i) out.push_back(n.delivered[i][20]);
  return out;
}

std::vector<uint8_t> range(uint8_t first, uint8_t end) {
  std::vector<uint8_t> out;
  for (unsigned t = first; t < end; ++t) out.push_back(static_cast<uint8_t>(t));
  return out;
}

}  // namespace

// a seals in parallel, b opens one packet at a time: b authenticates every packet, in order, with the
// sizes sent (each worker used its own counter and padding).
TEST(parallel_seal_batch_in_order) {
  ParallelPair p(true, false);
  TxBatch batch(64, 0);
  CHECK_EQ(batch.send(p.a, *p.ab), 64u);
  CHECK_EQ(p.a.dev->parallel_batches(), 1u);
  p.net.pump();
  CHECK(tags(p.b) == range(0, 64));
  for (size_t i = 1; i < p.b.delivered.size() && i <= 64; ++i) CHECK_EQ(p.b.delivered[i].size(), 40 + ((i - 1) * 97) % 1200);
  CHECK_EQ(p.b.dev->drop_count(DropReason::kDecrypt), 0u);
  CHECK_EQ(p.ab->stats().tx_packets, 65u);
  // Below the threshold the batch stays on the calling thread.
  TxBatch light(8, 100);
  CHECK_EQ(light.send(p.a, *p.ab), 8u);
  CHECK_EQ(p.a.dev->parallel_batches(), 1u);
  p.net.pump();
  CHECK_EQ(p.b.delivered.size(), 1u + 64u + 8u);
}

// b opens a batch in parallel: a forged packet is dropped and counted alone, a duplicate within the batch
// and a replay of the whole batch are refused by the in-order replay check.
TEST(parallel_open_batch_replay_and_forgery) {
  ParallelPair p(false, true);
  std::vector<Datagram> wire;
  p.capture(&wire);
  TxBatch(64, 0).send(p.a, *p.ab);
  p.net.pump();
  CHECK_EQ(wire.size(), 64u);
  if (wire.size() != 64) return;
  std::vector<Datagram> originals = wire;
  wire[10].bytes.back() ^= 1;    // a bad tag
  wire.push_back(originals[5]);  // the same counter again, later in the batch
  receive_all(p.b, wire);
  std::vector<uint8_t> want = range(0, 10), rest = range(11, 64);
  want.insert(want.end(), rest.begin(), rest.end());
  CHECK(tags(p.b) == want);
  CHECK_EQ(p.b.dev->drop_count(DropReason::kDecrypt), 1u);
  CHECK_EQ(p.b.dev->drop_count(DropReason::kReplay), 1u);
  CHECK_EQ(p.b.dev->parallel_batches(), 1u);
  CHECK_EQ(p.ba->stats().rx_packets, 1u + 63u);
  // The untouched originals again: only packet 10, never accepted before, gets through.
  receive_all(p.b, originals);
  CHECK_EQ(p.b.delivered.size(), 1u + 63u + 1u);
  CHECK(p.b.delivered.size() == 65 && p.b.delivered.back()[20] == 10);
  CHECK_EQ(p.b.dev->drop_count(DropReason::kReplay), 1u + 63u);
  CHECK_EQ(p.b.dev->drop_count(DropReason::kDecrypt), 1u);
}

// A received batch spans a rekey: packets on the old session, the keepalive that confirms the new one,
// packets on the new session, then late packets on the old one. All arrive in batch order, and the
// rotation happens exactly once, at the keepalive.
TEST(parallel_open_batch_across_key_rotation) {
  TimerConstants tc;
  tc.rekey_after_messages = 30;
  ParallelPair p(true, true, tc);
  p.net.now += 6 * kSecond;  // past the spacing between handshakes
  std::vector<Datagram> wire;
  p.capture(&wire);
  TxBatch(20, 0).send(p.a, *p.ab);
  TxBatch(20, 20).send(p.a, *p.ab);  // counters past 30: a initiates
  p.net.pump();                      // the handshake runs; a confirms the new session with a keepalive
  CHECK_EQ(p.ab->stats().handshakes_completed, 2u);
  TxBatch(20, 40).send(p.a, *p.ab);
  p.net.pump();
  CHECK_EQ(wire.size(), 61u);
  if (wire.size() != 61) return;
  CHECK_EQ(wire[40].bytes.size(), kTransportMinSize);  // the keepalive
  std::vector<Datagram> batch(wire.begin(), wire.begin() + 35);
  batch.insert(batch.end(), wire.begin() + 40, wire.end());
  batch.insert(batch.end(), wire.begin() + 35, wire.begin() + 40);
  receive_all(p.b, batch);
  std::vector<uint8_t> want = range(0, 35), next = range(40, 60), late = range(35, 40);
  want.insert(want.end(), next.begin(), next.end());
  want.insert(want.end(), late.begin(), late.end());
  CHECK(tags(p.b) == want);
  CHECK_EQ(p.b.count_events(PeerEvent::kHandshakeComplete), 2u);
  CHECK_EQ(p.ba->stats().handshakes_completed, 2u);
  CHECK_EQ(p.b.dev->drop_count(DropReason::kDecrypt), 0u);
  CHECK_EQ(p.b.dev->drop_count(DropReason::kReplay), 0u);
  CHECK_EQ(p.b.dev->drop_count(DropReason::kUnknownIndex), 0u);
  CHECK_EQ(p.b.dev->parallel_batches(), 1u);
  CHECK(p.a.dev->parallel_batches() >= 3u);
}

// Runs a batch's chunks on the calling thread, then acts as another thread would between the parallel
// open and the in-order pass (a configuration change landing mid-batch).
struct InlineThen final : ParallelCrypto {
  std::function<void()> then;
  size_t lanes() const override { return 0; }
  bool run(size_t n, Chunk chunk, void* ctx) override {
    chunk(ctx, 0, n, Keypair::kLocked);
    if (then) then();
    return true;
  }
};

// Packets opened in parallel are not delivered if their session is wiped before the in-order pass: the
// peer removed meanwhile gets nothing, as receive() would give it nothing.
TEST(parallel_open_batch_commits_nothing_for_a_peer_removed_mid_batch) {
  InlineThen pool;  // outlives the nodes
  Net net;
  Node a(net, 1), b(net, 2, TimerConstants(), &pool);
  PeerRef ab = a.connect(b), ba = b.connect(a);
  a.send_ip(*ab, 84, 200);
  net.pump();
  std::vector<Datagram> wire;
  net.filter = [&wire](Datagram& d) { return d.bytes[0] != 4 || (wire.push_back(d), false); };
  TxBatch(20, 0).send(a, *ab);
  net.pump();
  CHECK_EQ(wire.size(), 20u);
  pool.then = [&] { b.dev->remove_peer(a.pub); };
  const uint64_t unknown = b.dev->drop_count(DropReason::kUnknownIndex);
  receive_all(b, wire);
  CHECK_EQ(b.delivered.size(), 1u);
  CHECK_EQ(b.dev->drop_count(DropReason::kUnknownIndex), unknown + 20);
}
