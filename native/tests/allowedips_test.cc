// Allowed-IPs trie: the spec vectors, a differential test against a linear longest-match model, memory
// per prefix, and concurrent readers under a churning writer (run the sanitize build for the latter).
#include <arpa/inet.h>
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "../core/allowedips.h"
#include "io/harness.h"

using gw::core::AllowedIps;
using gw::core::IpFamily;
using gw::core::IpPrefix;

namespace {

// ---- just enough JSON for the vector file: objects, arrays, strings, null ----

struct Json {
  enum Kind { kNull, kString, kArray, kObject } kind = kNull;
  std::string str;
  std::vector<Json> items;
  std::map<std::string, Json> fields;
};

struct JsonParser {
  const std::string& s;
  size_t i = 0;
  bool ok = true;

  void ws() { while (i < s.size() && std::strchr(" \t\r\n", s[i])) ++i; }
  bool eat(char c) { ws(); if (i < s.size() && s[i] == c) { ++i; return true; } return false; }

  std::string string() {
    std::string out;
    if (!eat('"')) { ok = false; return out; }
    while (i < s.size() && s[i] != '"') out += s[i] == '\\' ? s[++i] : s[i], ++i;
    ++i;
    return out;
  }

  Json value() {
    Json v;
    ws();
    if (i >= s.size()) { ok = false; return v; }
    if (s[i] == '"') { v.kind = Json::kString; v.str = string(); }
    else if (s.compare(i, 4, "null") == 0) i += 4;
    else if (eat('[')) { v.kind = Json::kArray; if (!eat(']')) do v.items.push_back(value()); while (ok && eat(',')); ok = ok && (v.items.empty() || eat(']')); }
    else if (eat('{')) { v.kind = Json::kObject; do { std::string k = string(); ok = ok && eat(':'); v.fields[k] = value(); } while (ok && eat(',')); ok = ok && eat('}'); }
    else ok = false;
    return v;
  }
};

// ---- address helpers ----

bool parse_addr(const std::string& text, IpFamily* family, uint8_t out[16]) {
  std::memset(out, 0, 16);
  if (inet_pton(AF_INET, text.c_str(), out) == 1) { *family = IpFamily::kV4; return true; }
  if (inet_pton(AF_INET6, text.c_str(), out) == 1) { *family = IpFamily::kV6; return true; }
  return false;
}

bool parse_prefix(const std::string& text, IpPrefix* p) {
  const size_t slash = text.find('/');
  if (slash == std::string::npos || !parse_addr(text.substr(0, slash), &p->family, p->addr)) return false;
  p->cidr = static_cast<uint8_t>(std::atoi(text.c_str() + slash + 1));
  return true;
}

std::string format_prefix(const IpPrefix& p) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(p.family == IpFamily::kV4 ? AF_INET : AF_INET6, p.addr, buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(p.cidr);
}

size_t addr_len(IpFamily f) { return f == IpFamily::kV4 ? 4 : 16; }

void mask_prefix(IpPrefix* p) {
  for (size_t i = 0; i < addr_len(p->family); ++i) {
    const int keep = std::clamp(static_cast<int>(p->cidr) - static_cast<int>(i) * 8, 0, 8);
    p->addr[i] &= static_cast<uint8_t>(0xff00 >> keep);
  }
}

bool prefix_contains(const IpPrefix& p, IpFamily f, const uint8_t* addr) {
  if (p.family != f) return false;
  IpPrefix a;
  a.family = f;
  a.cidr = p.cidr;
  std::memcpy(a.addr, addr, addr_len(f));
  mask_prefix(&a);
  return std::memcmp(a.addr, p.addr, addr_len(f)) == 0;
}

bool same_prefix(const IpPrefix& a, const IpPrefix& b) {
  return a.family == b.family && a.cidr == b.cidr && std::memcmp(a.addr, b.addr, 16) == 0;
}

// Named fake peers: the trie only compares the pointers.
char g_peer_storage[64];
void* peer_of(const std::string& name) { return name.empty() ? nullptr : &g_peer_storage[name[0] - 'a']; }

void* lookup_once(const AllowedIps& t, IpFamily f, const uint8_t* addr) {
  AllowedIps::Reader reader(t);
  AllowedIps::ReadGuard guard(reader);
  return t.lookup(guard, f, addr);
}

// ---- the spec vectors ----

void run_vector_op(AllowedIps& t, const Json& op, const char* family) {
  const std::string& kind = op.items[0].str;
  auto arg = [&](size_t k) -> const std::string& { return op.items[k].str; };
  IpPrefix p;
  uint8_t addr[16];
  IpFamily f;
  if (kind == "insert") {
    CHECKF(parse_prefix(arg(2), &p) && t.insert(peer_of(arg(1)), p), "%s insert %s", family, arg(2).c_str());
  } else if (kind == "lookup" || kind == "lookup_not") {
    CHECKF(parse_addr(arg(1), &f, addr), "bad address %s", arg(1).c_str());
    void* got = lookup_once(t, f, addr);
    const bool want_eq = kind == "lookup";
    CHECKF((got == peer_of(arg(2))) == want_eq, "%s %s %s %s", family, kind.c_str(), arg(1).c_str(), arg(2).c_str());
  } else if (kind == "remove_peer") {
    t.remove_peer(peer_of(arg(1)));
  } else if (kind == "remove_prefix") {
    CHECKF(parse_prefix(arg(2), &p), "bad prefix %s", arg(2).c_str());
    t.remove_prefix(peer_of(arg(1)), p);
  } else if (kind == "expect_empty") {
    for (char c = 'a'; c <= 'z'; ++c) CHECKF(t.prefixes_of(peer_of(std::string(1, c))).empty(), "%s peer %c not empty", family, c);
    const uint8_t any[16] = {};
    CHECK(lookup_once(t, IpFamily::kV4, any) == nullptr && lookup_once(t, IpFamily::kV6, any) == nullptr);
  } else {
    CHECKF(false, "unknown op %s", kind.c_str());
  }
}

Json load_vectors() {
  const char* dir = std::getenv("GW_VECTORS_DIR");
  const std::string path = std::string(dir ? dir : "/work/shared/specs/wireguard-vectors") + "/allowedips.json";
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  JsonParser parser{text};
  Json root = parser.value();
  CHECKF(parser.ok && root.kind == Json::kObject, "cannot parse %s", path.c_str());
  return root;
}

TEST(spec_vectors) {
  const Json root = load_vectors();
  size_t ops = 0;
  for (const char* family : {"ipv4", "ipv6"}) {
    AllowedIps t;
    auto it = root.fields.find(family);
    CHECKF(it != root.fields.end() && !it->second.items.empty(), "no %s vectors", family);
    if (it == root.fields.end()) continue;
    for (const Json& op : it->second.items) run_vector_op(t, op, family), ++ops;
  }
  std::printf("     %zu vector ops\n", ops);
}

TEST(masks_host_bits_and_lists_prefixes) {
  AllowedIps t;
  IpPrefix p;
  parse_prefix("64.15.123.211/25", &p);
  t.insert(peer_of("h"), p);
  parse_prefix("2001:db8::1/32", &p);
  t.insert(peer_of("h"), p);
  const auto got = t.prefixes_of(peer_of("h"));
  CHECK(got.size() == 2);
  CHECK(got.size() == 2 && format_prefix(got[0]) == "64.15.123.128/25");
  CHECK(got.size() == 2 && format_prefix(got[1]) == "2001:db8::/32");
}

TEST(owner_moves_on_reinsert) {
  AllowedIps t;
  IpPrefix p;
  parse_prefix("10.0.0.0/8", &p);
  t.insert(peer_of("a"), p);
  t.insert(peer_of("b"), p);
  CHECK(t.prefixes_of(peer_of("a")).empty());
  CHECK(t.prefixes_of(peer_of("b")).size() == 1);
  CHECK(!t.remove_prefix(peer_of("a"), p));
  CHECK(t.remove_prefix(peer_of("b"), p));
  CHECK(!t.insert(nullptr, p));
  p.cidr = 33;
  CHECK(!t.insert(peer_of("a"), p));
}

TEST(packet_lookups) {
  AllowedIps t;
  IpPrefix p;
  parse_prefix("10.1.0.0/16", &p);
  t.insert(peer_of("a"), p);
  parse_prefix("fd00::/8", &p);
  t.insert(peer_of("b"), p);
  uint8_t v4[20] = {0x45};
  uint8_t src4[4] = {10, 1, 2, 3}, dst4[4] = {8, 8, 8, 8};
  std::memcpy(v4 + 12, src4, 4);
  std::memcpy(v4 + 16, dst4, 4);
  uint8_t v6[40] = {0x60};
  v6[8] = 0xfd;  // source fd00::
  v6[24] = 0x20;  // destination 2000::
  AllowedIps::Reader r(t);
  AllowedIps::ReadGuard g(r);
  CHECK(t.lookup_src(g, v4, sizeof v4) == peer_of("a"));
  CHECK(t.lookup_dst(g, v4, sizeof v4) == nullptr);
  CHECK(t.lookup_src(g, v6, sizeof v6) == peer_of("b"));
  CHECK(t.lookup_dst(g, v6, sizeof v6) == nullptr);
  CHECK(t.lookup_src(g, v4, 19) == nullptr);
  CHECK(t.lookup_src(g, v6, 39) == nullptr);
  v4[0] = 0x55;
  CHECK(t.lookup_src(g, v4, sizeof v4) == nullptr);
}

// ---- differential test against a linear model ----

struct Model {
  std::vector<std::pair<IpPrefix, void*>> entries;

  void insert(void* peer, IpPrefix p) {
    mask_prefix(&p);
    for (auto& e : entries)
      if (same_prefix(e.first, p)) { e.second = peer; return; }
    entries.push_back({p, peer});
  }
  void remove_prefix(void* peer, IpPrefix p) {
    mask_prefix(&p);
    std::erase_if(entries, [&](const auto& e) { return e.second == peer && same_prefix(e.first, p); });
  }
  void remove_peer(void* peer) { std::erase_if(entries, [&](const auto& e) { return e.second == peer; }); }
  void* lookup(IpFamily f, const uint8_t* addr) const {
    const std::pair<IpPrefix, void*>* best = nullptr;
    for (const auto& e : entries)
      if (prefix_contains(e.first, f, addr) && (!best || e.first.cidr > best->first.cidr)) best = &e;
    return best ? best->second : nullptr;
  }
  std::set<std::string> prefixes_of(void* peer) const {
    std::set<std::string> out;
    for (const auto& e : entries)
      if (e.second == peer) out.insert(format_prefix(e.first));
    return out;
  }
};

// Addresses cluster around a few bases so that prefixes nest and collide often.
struct Generator {
  std::mt19937_64 rng;
  uint8_t bases[2][8][16];

  explicit Generator(uint64_t seed) : rng(seed) {
    for (auto& fam : bases)
      for (auto& b : fam)
        for (auto& byte : b) byte = static_cast<uint8_t>(rng());
  }
  IpFamily family() { return rng() % 2 ? IpFamily::kV4 : IpFamily::kV6; }
  void address(IpFamily f, uint8_t out[16]) {
    const size_t n = addr_len(f);
    std::memset(out, 0, 16);
    std::memcpy(out, bases[f == IpFamily::kV6][rng() % 8], n);
    const size_t flip = rng() % (n * 8 + 1);  // randomise the low `flip` bits
    for (size_t bit = n * 8 - flip; bit < n * 8; ++bit)
      if (rng() % 2) out[bit / 8] ^= static_cast<uint8_t>(0x80 >> (bit % 8));
  }
  IpPrefix prefix() {
    IpPrefix p;
    p.family = family();
    address(p.family, p.addr);
    const int bits = static_cast<int>(addr_len(p.family) * 8);
    const uint64_t r = rng() % 4;  // bias towards long prefixes, keep some short ones
    p.cidr = static_cast<uint8_t>(r == 0 ? rng() % (bits + 1) : bits - static_cast<int>(rng() % 9));
    return p;
  }
};

uint64_t test_seed() {
  const char* env = std::getenv("GW_SEED");
  return env ? std::strtoull(env, nullptr, 0) : 0x6772696477697265ULL;
}

void compare_owned(const AllowedIps& t, const Model& m, void* peer) {
  std::set<std::string> got;
  for (const IpPrefix& p : t.prefixes_of(peer)) got.insert(format_prefix(p));
  CHECK(got == m.prefixes_of(peer));
}

TEST(differential_vs_linear_model) {
  const uint64_t seed = test_seed();
  std::printf("     seed 0x%llx (set GW_SEED to replay)\n", static_cast<unsigned long long>(seed));
  Generator gen(seed);
  AllowedIps t;
  AllowedIps::Reader reader(t);
  Model m;
  static char peers[12];
  size_t lookups = 0;
  for (int step = 0; step < 20000; ++step) {
    void* peer = &peers[gen.rng() % 12];
    const uint64_t op = gen.rng() % 100;
    if (op < 45) { IpPrefix p = gen.prefix(); t.insert(peer, p); m.insert(peer, p); }
    else if (op < 65) {
      IpPrefix p = gen.prefix();
      const size_t before = m.entries.size();
      m.remove_prefix(peer, p);
      CHECKF(t.remove_prefix(peer, p) == (m.entries.size() != before), "step %d remove_prefix", step);
    }
    else if (op < 67) { t.remove_peer(peer); m.remove_peer(peer); }
    else if (op < 68) { compare_owned(t, m, peer); }
    else {
      AllowedIps::ReadGuard g(reader);
      for (int k = 0; k < 8; ++k, ++lookups) {
        const IpFamily f = gen.family();
        uint8_t a[16];
        gen.address(f, a);
        CHECKF(t.lookup(g, f, a) == m.lookup(f, a), "step %d lookup mismatch", step);
      }
    }
  }
  for (char& p : peers) compare_owned(t, m, &p);
  std::printf("     20000 ops, %zu lookups, %zu prefixes at end\n", lookups, m.entries.size());
}

TEST(remove_prefix_result_matches_model) {
  Generator gen(test_seed() ^ 1);
  AllowedIps t;
  Model m;
  static char peers[3];
  for (int step = 0; step < 5000; ++step) {
    void* peer = &peers[gen.rng() % 3];
    IpPrefix p = gen.prefix();
    p.cidr = static_cast<uint8_t>(p.cidr / 4 * 4);  // coarser prefixes so removals hit
    if (gen.rng() % 2) { t.insert(peer, p); m.insert(peer, p); continue; }
    const size_t before = m.entries.size();
    m.remove_prefix(peer, p);
    CHECKF(t.remove_prefix(peer, p) == (m.entries.size() != before), "step %d", step);
  }
}

// ---- memory and speed ----

TEST(memory_per_prefix_100k_peers) {
  constexpr size_t kPeers = 100000;
  static char peers[kPeers];
  const size_t before = mallinfo2().uordblks;
  AllowedIps* t = new AllowedIps;
  std::vector<uint32_t> addrs(kPeers);
  for (size_t i = 0; i < kPeers; ++i) {
    IpPrefix p;
    p.cidr = 32;
    addrs[i] = static_cast<uint32_t>(i * 2654435761u);  // a bijection: distinct, well spread
    std::memcpy(p.addr, &addrs[i], 4);
    t->insert(&peers[i], p);
  }
  const double per = static_cast<double>(mallinfo2().uordblks - before) / kPeers;
  std::printf("     %.1f bytes per /32 prefix (100k peers, node + owner index)\n", per);
  CHECK(per < 200);

  // Cold: every lookup a different peer (cache misses per level). Hot: a 256-flow working set.
  for (size_t working_set : {kPeers, size_t{256}}) {
    AllowedIps::Reader reader(*t);
    AllowedIps::ReadGuard g(reader);
    const auto start = std::chrono::steady_clock::now();
    size_t hits = 0;
    for (size_t n = 0; n < 1000000; ++n) {
      uint8_t a[4];
      std::memcpy(a, &addrs[(n * 7919) % working_set], 4);
      hits += t->lookup(g, IpFamily::kV4, a) != nullptr;
    }
    const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
    std::printf("     %.0f ns per lookup (1M lookups over %zu of the 100k /32s)\n", ns / 1e6, working_set);
    CHECK(hits == 1000000);
  }
  size_t removed = 0;
  for (size_t i = 0; i < kPeers; ++i) removed += t->remove_peer(&peers[i]);
  CHECK(removed == kPeers);
  delete t;
}

// ---- concurrency ----

TEST(retire_waits_for_readers) {
  AllowedIps t;
  static int destroyed = 0;
  AllowedIps::Reader r(t);
  CHECK(r.ok());
  {
    AllowedIps::ReadGuard g(r);
    t.retire([](void*) { ++destroyed; }, nullptr);
    CHECK(destroyed == 0);
    CHECK(t.reclaim() == 1);
  }
  CHECK(t.reclaim() == 0);
  CHECK(destroyed == 1);
}

TEST(reader_slots_are_bounded_and_reusable) {
  AllowedIps t;
  std::vector<AllowedIps::Reader*> readers;
  for (int i = 0; i < AllowedIps::kMaxReaders; ++i) readers.push_back(new AllowedIps::Reader(t));
  AllowedIps::Reader extra(t);
  CHECK(!extra.ok());
  delete readers.back();
  readers.pop_back();
  AllowedIps::Reader again(t);
  CHECK(again.ok());
  for (auto* r : readers) delete r;
}

// Readers must only ever see a peer that owned the looked-up address at some point, and (under ASan)
// never touch a freed node, while the writer churns prefixes that cover the readers' addresses.
TEST(concurrent_readers_with_churning_writer) {
  AllowedIps t;
  static char peers[4];
  std::atomic<bool> stop{false};
  std::atomic<size_t> bad{0}, total{0};
  auto reader_fn = [&](uint32_t seed) {
    AllowedIps::Reader r(t);
    std::mt19937 rng(seed);
    while (!stop.load(std::memory_order_relaxed)) {
      AllowedIps::ReadGuard g(r);
      for (int k = 0; k < 64; ++k) {
        const uint8_t a[4] = {10, static_cast<uint8_t>(rng() % 4), static_cast<uint8_t>(rng()), 1};
        void* p = t.lookup(g, IpFamily::kV4, a);
        if (p && (p < peers || p >= peers + 4)) bad.fetch_add(1);
        total.fetch_add(1, std::memory_order_relaxed);
      }
    }
  };
  std::thread r1(reader_fn, 1), r2(reader_fn, 2);
  std::mt19937 rng(3);
  for (int step = 0; step < 200000; ++step) {
    IpPrefix p;
    p.addr[0] = 10;
    p.addr[1] = static_cast<uint8_t>(rng() % 4);
    p.addr[2] = static_cast<uint8_t>(rng());
    p.cidr = static_cast<uint8_t>(8 + rng() % 25);
    void* peer = &peers[rng() % 4];
    if (rng() % 3) t.insert(peer, p); else t.remove_prefix(peer, p);
    if (step % 5000 == 0) t.remove_peer(peer);
  }
  stop = true;
  r1.join();
  r2.join();
  CHECK(bad.load() == 0);
  CHECK(total.load() > 0);
  std::printf("     %zu concurrent lookups during 200000 writes; %zu retired pending\n", total.load(), t.reclaim());
}

}  // namespace

int main() { return gwtest::run_all(); }
