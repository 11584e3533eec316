// Cryptokey routing (WireGuard spec §1.15): two longest-prefix-match tables, IPv4 and IPv6, from
// prefix to peer. The same table answers "which peer gets this destination" (send) and "may this
// source come from that peer" (receive). One owner per exact prefix; inserting a prefix owned by
// another peer moves it. Host bits are cleared on insert.
//
// Structure: a path-compressed binary trie per family, as in the kernel's allowedips.c. Node keys and
// prefix lengths never change once a node is published; only child pointers and the owner are
// swapped, with release stores, so a reader always sees either the old or the new shape.
//
// Concurrency (read-mostly, RCU-like; readers never block and never write shared cache lines):
//   * Writers (insert/remove/prefixes_of/reclaim/retire) are serialised by an internal mutex; they
//     are meant for the control thread.
//   * Readers are data threads. Each thread claims a Reader slot once, then opens a ReadGuard around
//     a batch of lookups. Entering a guard publishes the current epoch in the thread's own
//     cache-line slot (one store plus one fence); leaving clears it.
//   * Unlinked nodes are retired with the epoch of their unlinking and freed by a later writer call
//     once every active slot shows a newer epoch. A stalled reader delays frees; it never blocks a
//     writer, and a writer never blocks a reader.
//   * Peer handles returned by a lookup stay valid only inside the guard. To destroy a removed peer,
//     hand it to retire(): it is destroyed after the same grace period as the nodes.
// Why not a shared lock: every read_lock is an atomic RMW on one shared line (bounces between the TX
// and RX cores per batch), and a peer removal with many prefixes would stall the data path. Why not
// whole-table copy-on-write: 100k prefixes would be copied for every single-peer change.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace gw::core {

enum class IpFamily : uint8_t { kV4 = 4, kV6 = 6 };

// An address or prefix in network byte order; v4 uses addr[0..4).
struct IpPrefix {
  IpFamily family = IpFamily::kV4;
  uint8_t cidr = 0;
  uint8_t addr[16] = {};
};

namespace allowedips_detail {
template <class Key> struct Trie;
}

class AllowedIps {
 public:
  static constexpr int kMaxReaders = 64;
  class ReadGuard;

  // A data thread's read slot. Construct once per thread and keep it; ok() is false when all
  // kMaxReaders slots are taken. Must outlive every ReadGuard made from it.
  class Reader {
   public:
    explicit Reader(const AllowedIps& table);
    ~Reader();
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;
    bool ok() const { return slot_ >= 0; }

   private:
    friend class ReadGuard;
    const AllowedIps& table_;
    int slot_;
  };

  // Scope of a read section; hold it across one batch of lookups. Not nestable per Reader.
  class ReadGuard {
   public:
    explicit ReadGuard(Reader& reader);
    ~ReadGuard();
    ReadGuard(const ReadGuard&) = delete;
    ReadGuard& operator=(const ReadGuard&) = delete;

   private:
    Reader& reader_;
  };

  AllowedIps();
  // Frees everything at once: no Reader may exist any more.
  ~AllowedIps();
  AllowedIps(const AllowedIps&) = delete;
  AllowedIps& operator=(const AllowedIps&) = delete;

  // --- control thread (writers) ---

  // Inserts or moves the masked prefix to peer. False on a null peer or a bad prefix length.
  bool insert(void* peer, const IpPrefix& prefix);
  // Removes the exact (masked) prefix if peer owns it; false otherwise.
  bool remove_prefix(void* peer, const IpPrefix& prefix);
  // Removes every prefix of peer. Returns how many were removed.
  size_t remove_peer(void* peer);
  // The prefixes peer owns (masked), v4 first; order within a family is unspecified.
  std::vector<IpPrefix> prefixes_of(void* peer) const;
  // Removes every prefix of every peer.
  void clear();
  // Runs destroy(arg) once no reader can still hold a handle obtained before this call.
  void retire(void (*destroy)(void*), void* arg);
  // Frees what the grace period allows; returns how many retired items are still pending. Writers
  // call it themselves; call it from a timer too so retirements do not wait for the next change.
  size_t reclaim();

  // --- data threads (inside a ReadGuard) ---

  // Longest-prefix match of a raw address (4 or 16 bytes, network order); nullptr if none.
  void* lookup(const ReadGuard&, IpFamily family, const uint8_t* addr) const;
  // Send routing: owner of the packet's destination. nullptr on no match or a malformed header.
  void* lookup_dst(const ReadGuard& g, const uint8_t* ip_packet, size_t len) const;
  // Receive check: owner of the packet's source (the caller compares it with the sending peer).
  void* lookup_src(const ReadGuard& g, const uint8_t* ip_packet, size_t len) const;

 private:
  struct alignas(64) Slot {
    std::atomic<uint64_t> epoch{0};  // 0 = not in a read section
    std::atomic<bool> taken{false};
  };
  struct Retired {
    uint64_t epoch;
    void (*destroy)(void*);
    void* arg;
  };

  void* lookup_packet(const ReadGuard& g, const uint8_t* pkt, size_t len, bool dst) const;
  void retire_locked(void (*destroy)(void*), void* arg);
  void finish_write(const std::vector<void*>& dead4, const std::vector<void*>& dead6);
  size_t reclaim_locked();
  uint64_t oldest_active_epoch() const;

  using Trie4 = allowedips_detail::Trie<uint32_t>;
  using Trie6 = allowedips_detail::Trie<unsigned __int128>;
  Trie4* v4_;
  Trie6* v6_;
  mutable std::mutex mu_;
  std::vector<Retired> retired_;
  std::atomic<uint64_t> epoch_{1};
  mutable Slot slots_[kMaxReaders];
};

}  // namespace gw::core
