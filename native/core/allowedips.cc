#include "allowedips.h"

#include <algorithm>
#include <limits>

namespace gw::core {
namespace allowedips_detail {

// Keys are host-order integers so that masking and bit tests are single instructions.
template <class Key> constexpr int kBits = sizeof(Key) * 8;

template <class Key> Key load_key(const uint8_t* be) {
  Key k = 0;
  for (size_t i = 0; i < sizeof(Key); ++i) k = (k << 8) | be[i];
  return k;
}

template <class Key> void store_key(Key k, uint8_t* be) {
  for (size_t i = sizeof(Key); i-- > 0; k >>= 8) be[i] = static_cast<uint8_t>(k);
}

template <class Key> Key prefix_mask(int cidr) {
  return cidr == 0 ? Key(0) : static_cast<Key>(~Key(0) << (kBits<Key> - cidr));
}

template <class Key> int bit_at(Key k, int i) { return static_cast<int>((k >> (kBits<Key> - 1 - i)) & 1); }

inline int clz(uint32_t x) { return x ? __builtin_clz(x) : 32; }
inline int clz(unsigned __int128 x) {
  const uint64_t hi = static_cast<uint64_t>(x >> 64), lo = static_cast<uint64_t>(x);
  if (hi) return __builtin_clzll(hi);
  return lo ? 64 + __builtin_clzll(lo) : 128;
}

// key and cidr are immutable after publication; children and peer are the only fields readers load.
// parent and the owner-list links belong to the writer. 56 bytes for IPv4, 80 for IPv6.
template <class Key> struct Node {
  std::atomic<Node*> bit[2];
  std::atomic<void*> peer;
  Node* parent;
  Node* peer_next;
  Node** peer_pprev;
  Key key;
  uint8_t cidr;

  Node(Key k, int c) : bit{nullptr, nullptr}, peer(nullptr), parent(nullptr), peer_next(nullptr),
                       peer_pprev(nullptr), key(k), cidr(static_cast<uint8_t>(c)) {}
  bool contains(Key k) const { return (k & prefix_mask<Key>(cidr)) == key; }
  Node* child(int b) const { return bit[b].load(std::memory_order_relaxed); }
};

template <class Key> void delete_node(void* n) { delete static_cast<Node<Key>*>(n); }

template <class Key> struct Trie {
  using N = Node<Key>;
  std::atomic<N*> root{nullptr};
  std::unordered_map<void*, N*> heads;  // owner -> first node of its list (writer only)

  ~Trie() { for_each_node([](N* n) { delete n; }); }

  // Reader side: longest match wins because deeper owners overwrite shallower ones.
  void* lookup(Key k) const {
    void* found = nullptr;
    const N* n = root.load(std::memory_order_acquire);
    while (n && n->contains(k)) {
      if (void* p = n->peer.load(std::memory_order_acquire)) found = p;
      if (n->cidr == kBits<Key>) break;
      n = n->bit[bit_at(k, n->cidr)].load(std::memory_order_acquire);
    }
    return found;
  }

  std::atomic<N*>& slot_of(N* parent, Key k) { return parent ? parent->bit[bit_at(k, parent->cidr)] : root; }

  // The only way a node becomes reachable: its fields and children are complete before this store.
  void publish(N* parent, N* n) {
    n->parent = parent;
    slot_of(parent, n->key).store(n, std::memory_order_release);
  }

  void adopt(N* parent, N* child) {
    child->parent = parent;
    parent->bit[bit_at(child->key, parent->cidr)].store(child, std::memory_order_relaxed);
  }

  void list_push(N* n, void* peer) {
    N*& head = heads[peer];
    n->peer_next = head;
    if (head) head->peer_pprev = &n->peer_next;
    n->peer_pprev = &head;
    head = n;
  }

  void list_unlink(N* n) {
    *n->peer_pprev = n->peer_next;
    if (n->peer_next) n->peer_next->peer_pprev = n->peer_pprev;
    auto it = heads.find(n->peer.load(std::memory_order_relaxed));
    if (it->second == nullptr) heads.erase(it);
  }

  void set_owner(N* n, void* peer) {
    if (n->peer.load(std::memory_order_relaxed) == peer) return;
    if (n->peer.load(std::memory_order_relaxed)) list_unlink(n);
    n->peer.store(peer, std::memory_order_release);
    list_push(n, peer);
  }

  void insert(void* peer, Key k, int cidr) {
    k &= prefix_mask<Key>(cidr);
    N* parent = nullptr;
    N* n = root.load(std::memory_order_relaxed);
    while (n && n->cidr <= cidr && n->contains(k)) {
      if (n->cidr == cidr) return set_owner(n, peer);
      parent = n;
      n = n->child(bit_at(k, n->cidr));
    }
    N* fresh = new N(k, cidr);
    fresh->peer.store(peer, std::memory_order_relaxed);
    list_push(fresh, peer);
    if (!n) return publish(parent, fresh);
    const int common = std::min({cidr, static_cast<int>(n->cidr), clz(static_cast<Key>(k ^ n->key))});
    if (common == cidr) {  // the new prefix contains n
      adopt(fresh, n);
      return publish(parent, fresh);
    }
    N* fork = new N(k & prefix_mask<Key>(common), common);  // peerless, always two children
    adopt(fork, n);
    adopt(fork, fresh);
    publish(parent, fork);
  }

  void replace_child(N* parent, N* old, N* with) {
    if (with) with->parent = parent;
    slot_of(parent, old->key).store(with, std::memory_order_release);
  }

  // Clears n's owner and splices out whatever is left with fewer than two children and no owner.
  // Invariant kept: a peerless node has exactly two children.
  void remove_node(N* n, std::vector<void*>& dead) {
    list_unlink(n);
    n->peer.store(nullptr, std::memory_order_release);
    if (n->child(0) && n->child(1)) return;
    N* child = n->child(0) ? n->child(0) : n->child(1);
    N* parent = n->parent;
    replace_child(parent, n, child);
    dead.push_back(n);
    if (child || !parent || parent->peer.load(std::memory_order_relaxed)) return;
    N* other = parent->child(0) ? parent->child(0) : parent->child(1);
    replace_child(parent->parent, parent, other);
    dead.push_back(parent);
  }

  N* find_exact(Key k, int cidr) const {
    k &= prefix_mask<Key>(cidr);
    N* n = root.load(std::memory_order_relaxed);
    while (n && n->cidr < cidr && n->contains(k)) n = n->child(bit_at(k, n->cidr));
    return n && n->cidr == cidr && n->key == k ? n : nullptr;
  }

  bool remove_prefix(void* peer, Key k, int cidr, std::vector<void*>& dead) {
    N* n = find_exact(k, cidr);
    if (!n || n->peer.load(std::memory_order_relaxed) != peer) return false;
    remove_node(n, dead);
    return true;
  }

  size_t remove_peer(void* peer, std::vector<void*>& dead) {
    size_t removed = 0;
    for (auto it = heads.find(peer); it != heads.end(); it = heads.find(peer), ++removed) remove_node(it->second, dead);
    return removed;
  }

  template <class Fn> void for_each_owned(void* peer, Fn fn) const {
    auto it = heads.find(peer);
    for (N* n = it == heads.end() ? nullptr : it->second; n; n = n->peer_next) fn(*n);
  }

  template <class Fn> void for_each_node(Fn fn) {
    std::vector<N*> stack;
    if (N* r = root.load(std::memory_order_relaxed)) stack.push_back(r);
    while (!stack.empty()) {
      N* n = stack.back();
      stack.pop_back();
      for (int b = 0; b < 2; ++b)
        if (N* c = n->child(b)) stack.push_back(c);
      fn(n);
    }
  }

  // Unpublishes the whole trie at once; readers still inside it keep valid memory until reclaim.
  void clear(std::vector<void*>& dead) {
    for_each_node([&](N* n) { dead.push_back(n); });
    root.store(nullptr, std::memory_order_release);
    heads.clear();
  }
};

}  // namespace allowedips_detail

using allowedips_detail::delete_node;
using allowedips_detail::load_key;
using allowedips_detail::store_key;

namespace {

bool valid(const IpPrefix& p) { return p.cidr <= (p.family == IpFamily::kV4 ? 32 : 128); }

template <class Key> IpPrefix to_prefix(IpFamily f, const allowedips_detail::Node<Key>& n) {
  IpPrefix p;
  p.family = f;
  p.cidr = n.cidr;
  store_key<Key>(n.key, p.addr);
  return p;
}

}  // namespace

AllowedIps::Reader::Reader(const AllowedIps& table) : table_(table), slot_(-1) {
  for (int i = 0; i < kMaxReaders && slot_ < 0; ++i) {
    bool expected = false;
    if (table.slots_[i].taken.compare_exchange_strong(expected, true)) slot_ = i;
  }
}

AllowedIps::Reader::~Reader() {
  if (slot_ >= 0) table_.slots_[slot_].taken.store(false, std::memory_order_release);
}

// The fence pairs with the one in reclaim_locked(): either the writer sees this slot's epoch, or this
// thread sees every unlink that preceded the writer's fence. The acquire load makes a newer epoch
// imply visibility of the unlinks retired under older ones.
AllowedIps::ReadGuard::ReadGuard(Reader& reader) : reader_(reader) {
  Slot& s = reader.table_.slots_[reader.slot_];
  s.epoch.store(reader.table_.epoch_.load(std::memory_order_acquire), std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

AllowedIps::ReadGuard::~ReadGuard() {
  reader_.table_.slots_[reader_.slot_].epoch.store(0, std::memory_order_release);
}

AllowedIps::AllowedIps() : v4_(new Trie4), v6_(new Trie6) {}

AllowedIps::~AllowedIps() {
  delete v4_;
  delete v6_;
  for (const Retired& r : retired_) r.destroy(r.arg);
}

bool AllowedIps::insert(void* peer, const IpPrefix& p) {
  if (!peer || !valid(p)) return false;
  std::lock_guard<std::mutex> lock(mu_);
  if (p.family == IpFamily::kV4)
    v4_->insert(peer, load_key<uint32_t>(p.addr), p.cidr);
  else
    v6_->insert(peer, load_key<unsigned __int128>(p.addr), p.cidr);
  finish_write({}, {});
  return true;
}

bool AllowedIps::remove_prefix(void* peer, const IpPrefix& p) {
  if (!peer || !valid(p)) return false;
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<void*> dead4, dead6;
  const bool removed = p.family == IpFamily::kV4
                           ? v4_->remove_prefix(peer, load_key<uint32_t>(p.addr), p.cidr, dead4)
                           : v6_->remove_prefix(peer, load_key<unsigned __int128>(p.addr), p.cidr, dead6);
  finish_write(dead4, dead6);
  return removed;
}

size_t AllowedIps::remove_peer(void* peer) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<void*> dead4, dead6;
  const size_t removed = v4_->remove_peer(peer, dead4) + v6_->remove_peer(peer, dead6);
  finish_write(dead4, dead6);
  return removed;
}

std::vector<IpPrefix> AllowedIps::prefixes_of(void* peer) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<IpPrefix> out;
  v4_->for_each_owned(peer, [&](const auto& n) { out.push_back(to_prefix(IpFamily::kV4, n)); });
  v6_->for_each_owned(peer, [&](const auto& n) { out.push_back(to_prefix(IpFamily::kV6, n)); });
  return out;
}

void AllowedIps::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<void*> dead4, dead6;
  v4_->clear(dead4);
  v6_->clear(dead6);
  finish_write(dead4, dead6);
}

void AllowedIps::finish_write(const std::vector<void*>& dead4, const std::vector<void*>& dead6) {
  for (void* n : dead4) retire_locked(delete_node<uint32_t>, n);
  for (void* n : dead6) retire_locked(delete_node<unsigned __int128>, n);
  reclaim_locked();
}

void AllowedIps::retire(void (*destroy)(void*), void* arg) {
  std::lock_guard<std::mutex> lock(mu_);
  retire_locked(destroy, arg);
  reclaim_locked();
}

size_t AllowedIps::reclaim() {
  std::lock_guard<std::mutex> lock(mu_);
  return reclaim_locked();
}

// Tags arg with the current epoch; reclaim_locked() then advances the epoch, so a reader announcing a
// newer one entered after the unlink and cannot reach arg.
void AllowedIps::retire_locked(void (*destroy)(void*), void* arg) {
  retired_.push_back({epoch_.load(std::memory_order_relaxed), destroy, arg});
}

uint64_t AllowedIps::oldest_active_epoch() const {
  uint64_t oldest = std::numeric_limits<uint64_t>::max();
  for (const Slot& s : slots_) {
    const uint64_t e = s.epoch.load(std::memory_order_relaxed);
    if (e) oldest = std::min(oldest, e);
  }
  return oldest;
}

size_t AllowedIps::reclaim_locked() {
  epoch_.fetch_add(1, std::memory_order_seq_cst);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  const uint64_t oldest = oldest_active_epoch();
  auto keep = std::partition(retired_.begin(), retired_.end(), [&](const Retired& r) { return r.epoch >= oldest; });
  for (auto it = keep; it != retired_.end(); ++it) it->destroy(it->arg);
  retired_.erase(keep, retired_.end());
  return retired_.size();
}

void* AllowedIps::lookup(const ReadGuard&, IpFamily family, const uint8_t* addr) const {
  return family == IpFamily::kV4 ? v4_->lookup(load_key<uint32_t>(addr))
                                 : v6_->lookup(load_key<unsigned __int128>(addr));
}

// Version is the first nibble (§1.17); source/destination sit at fixed offsets.
void* AllowedIps::lookup_packet(const ReadGuard& g, const uint8_t* pkt, size_t len, bool dst) const {
  if (len >= 20 && pkt[0] >> 4 == 4) return lookup(g, IpFamily::kV4, pkt + (dst ? 16 : 12));
  if (len >= 40 && pkt[0] >> 4 == 6) return lookup(g, IpFamily::kV6, pkt + (dst ? 24 : 8));
  return nullptr;
}

void* AllowedIps::lookup_dst(const ReadGuard& g, const uint8_t* pkt, size_t len) const {
  return lookup_packet(g, pkt, len, true);
}

void* AllowedIps::lookup_src(const ReadGuard& g, const uint8_t* pkt, size_t len) const {
  return lookup_packet(g, pkt, len, false);
}

}  // namespace gw::core
