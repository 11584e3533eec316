// TX, RX and timer threads hammering a device pair concurrently (run under `make tsan` for race detection).
#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

#include "../engine/crypto_workers.h"
#include "harness.h"
#include "wg_testnet.h"

using namespace wgtest;

namespace {

// A thread-safe sink: datagrams go to a locked queue drained by the RX thread.
struct SharedWire {
  std::mutex mu;
  std::deque<Datagram> q;
};

struct ThreadSink : Sink {
  SharedWire* wire;
  Endpoint self;
  std::atomic<size_t> delivered{0};
  void send(Peer*, const Endpoint& to, const uint8_t* d, size_t n) override {
    std::lock_guard<std::mutex> l(wire->mu);
    wire->q.push_back({self, to, std::vector<uint8_t>(d, d + n)});
  }
  bool allowed_source(Peer&, const uint8_t*, size_t) override { return true; }
  void deliver(Peer&, uint8_t*, size_t) override { delivered.fetch_add(1, std::memory_order_relaxed); }
};

// TX threads send batches of `batch` packets; the RX thread hands the device up to `batch` datagrams for
// one node at a time. With workers, batches of 16 or more take the parallel crypto path.
void run_threads(size_t batch, ParallelCrypto* a_workers, ParallelCrypto* b_workers) {
  Net net;  // only used to build the nodes
  Node a(net, 1, TimerConstants(), a_workers), b(net, 2, TimerConstants(), b_workers);
  PeerRef ab = a.connect(b), ba = b.connect(a);
  SharedWire wire;
  // Separate sinks per thread, as the engine would have.
  ThreadSink a_tx, b_tx, rx, timer_a, timer_b;
  for (ThreadSink* s : {&a_tx, &b_tx, &rx, &timer_a, &timer_b}) s->wire = &wire;
  a_tx.self = a.addr, b_tx.self = b.addr, rx.self = a.addr, timer_a.self = a.addr, timer_b.self = b.addr;
  std::atomic<uint64_t> clock{net.now};
  std::atomic<bool> stop{false};

  auto tx = [&](Node& n, PeerRef p, ThreadSink& s) {
    std::vector<std::vector<uint8_t>> bufs(batch, std::vector<uint8_t>(16 + 100 + kTransportTailroom));
    std::vector<Packet> pkts(batch);
    for (size_t i = 0; i < 3000; i += batch) {
      for (size_t j = 0; j < batch; ++j) {
        bufs[j][16] = 0x45, bufs[j][18] = 0, bufs[j][19] = 100;
        pkts[j] = Packet{bufs[j].data(), 100, bufs[j].size()};
      }
      n.dev->encrypt(*p, pkts.data(), batch, clock.load(), s);
    }
  };
  std::thread rx_thread([&] {
    std::vector<Datagram> ds;
    std::vector<RxDatagram> rxd;
    while (!stop.load()) {
      ds.clear();
      {
        std::lock_guard<std::mutex> l(wire.mu);
        while (!wire.q.empty() && ds.size() < batch && (ds.empty() || wire.q.front().to.same_remote(ds[0].to))) {
          ds.push_back(std::move(wire.q.front()));
          wire.q.pop_front();
        }
      }
      if (ds.empty()) continue;
      Node& to = ds[0].to.same_remote(a.addr) ? a : b;
      rx.self = to.addr;
      rxd.clear();
      for (Datagram& d : ds) rxd.emplace_back(d.from, d.bytes.data(), d.bytes.size());
      to.dev->receive_batch(rxd.data(), rxd.size(), clock.load(), rx);
    }
  });
  std::thread timer_thread([&] {
    while (!stop.load()) {
      clock.fetch_add(10 * kMillisecond);
      a.dev->tick(clock.load(), timer_a);
      b.dev->tick(clock.load(), timer_b);
      // 10 ms of protocol time per real millisecond: retransmits every ~0.5 s, far slower than RX, and
      // REKEY_ATTEMPT_TIME (90 s) is 9 s of real time, beyond wait_for's 5 s. At 50 ms per ms, a CI run
      // whose RX thread was starved for 1.8 s saw the handshake give up with nothing left to restart it.
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  auto wait_for = [&](const std::function<bool()>& cond) {
    for (int i = 0; i < 5000 && !cond(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return cond();
  };
  // Round 1: both sides start cold (simultaneous initiation), packets are staged while handshakes run.
  // Round 2: sessions are up, the hot paths race with RX and the timer thread.
  size_t before_round2 = 0;
  for (int round = 0; round < 2; ++round) {
    before_round2 = rx.delivered.load();
    std::thread tx_a([&] { tx(a, ab, a_tx); });
    std::thread tx_b([&] { tx(b, ba, b_tx); });
    tx_a.join();
    tx_b.join();
    bool up = wait_for([&] { return rx.delivered.load() > 0 && ab->stats().handshakes_completed > 0; });
    CHECK(up);
    if (!up) {
      for (int r = 0; r < (int)DropReason::kCount; ++r)
        std::printf("  drop %d: a=%llu b=%llu\n", r, (unsigned long long)a.dev->drop_count((DropReason)r),
                    (unsigned long long)b.dev->drop_count((DropReason)r));
    }
  }
  // Sessions were up for the whole second round, so most of its 6000 packets arrive.
  CHECK(wait_for([&] { return rx.delivered.load() > before_round2 + 1000; }));
  stop.store(true);
  rx_thread.join();
  timer_thread.join();
  CHECK(rx.delivered.load() > 0);
  CHECK(ab->stats().handshakes_completed >= 1u);
  CHECK_EQ(b.dev->drop_count(DropReason::kDecrypt), 0u);
  if (a_workers) CHECK(a.dev->parallel_batches() > 0 && b.dev->parallel_batches() > 0);
}

}  // namespace

TEST(concurrency_tx_rx_timer_threads) { run_threads(1, nullptr, nullptr); }

// The same with crypto workers forced on both devices and batches big enough to use them.
TEST(concurrency_tx_rx_timer_threads_crypto_workers) {
  gw::engine::CryptoWorkers wa(2), wb(2);
  wa.start();
  wb.start();
  run_threads(32, &wa, &wb);
}
