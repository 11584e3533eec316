// Just enough JSON for the test vectors: objects, arrays, strings (no escapes beyond \" and \\), numbers
// kept as text (counters exceed double precision), true/false/null. Test-only; aborts on malformed input.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace json {

struct Value {
  enum Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = kNull;
  bool b = false;
  std::string s;  // string contents or number text
  std::vector<Value> a;
  std::map<std::string, Value> o;

  const Value& operator[](const std::string& k) const {
    auto it = o.find(k);
    if (it == o.end()) {
      std::fprintf(stderr, "json: missing key %s\n", k.c_str());
      std::abort();
    }
    return it->second;
  }
  const Value& operator[](size_t i) const { return a.at(i); }
  unsigned long long u64() const { return std::strtoull(s.c_str(), nullptr, 10); }
};

class Parser {
 public:
  explicit Parser(const std::string& t) : t_(t) {}
  Value parse() {
    ws();
    Value v;
    char c = t_[i_];
    if (c == '{') {
      v.kind = Value::kObject;
      ++i_;
      for (ws(); t_[i_] != '}'; ws()) {
        std::string k = str();
        ws();
        expect(':');
        v.o[k] = parse();
        ws();
        if (t_[i_] == ',') ++i_;
      }
      ++i_;
    } else if (c == '[') {
      v.kind = Value::kArray;
      ++i_;
      for (ws(); t_[i_] != ']'; ws()) {
        v.a.push_back(parse());
        ws();
        if (t_[i_] == ',') ++i_;
      }
      ++i_;
    } else if (c == '"') {
      v.kind = Value::kString;
      v.s = str();
    } else if (t_.compare(i_, 4, "true") == 0) {
      v.kind = Value::kBool, v.b = true, i_ += 4;
    } else if (t_.compare(i_, 5, "false") == 0) {
      v.kind = Value::kBool, i_ += 5;
    } else if (t_.compare(i_, 4, "null") == 0) {
      i_ += 4;
    } else {
      v.kind = Value::kNumber;
      while (i_ < t_.size() && (isdigit(t_[i_]) || t_[i_] == '-' || t_[i_] == '.' || t_[i_] == 'e')) v.s += t_[i_++];
    }
    return v;
  }

 private:
  void ws() {
    while (i_ < t_.size() && isspace(static_cast<unsigned char>(t_[i_]))) ++i_;
  }
  void expect(char c) {
    if (t_[i_++] != c) {
      std::fprintf(stderr, "json: expected %c at %zu\n", c, i_);
      std::abort();
    }
  }
  std::string str() {
    expect('"');
    std::string out;
    while (t_[i_] != '"') {
      if (t_[i_] == '\\') ++i_;
      out += t_[i_++];
    }
    ++i_;
    return out;
  }
  const std::string& t_;
  size_t i_ = 0;
};

inline Value load(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    std::fprintf(stderr, "cannot open %s\n", path.c_str());
    std::abort();
  }
  std::string text;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  std::fclose(f);
  return Parser(text).parse();
}

inline std::vector<unsigned char> hex(const std::string& h) {
  std::vector<unsigned char> out(h.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<unsigned char>(std::stoul(h.substr(2 * i, 2), nullptr, 16));
  return out;
}

}  // namespace json
