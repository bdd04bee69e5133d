#include "fuzz/mutate.h"

#include <algorithm>
#include <cstring>

namespace shrink::fuzz {
namespace {

constexpr std::uint64_t kInteresting[] = {
    0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff,
    0x100000000, 1ull << 40, (1ull << 62) + 1, 0x7fffffffffffffff, 0x8000000000000000, ~0ull};

void put(std::string& s, std::size_t pos, std::uint64_t v, int width, bool big_endian) {
  for (int i = 0; i < width; ++i) {
    const int shift = 8 * (big_endian ? width - 1 - i : i);
    s[pos + static_cast<std::size_t>(i)] = static_cast<char>((v >> shift) & 0xff);
  }
}

std::uint64_t get_le(const std::string& s, std::size_t pos, int width) {
  std::uint64_t v = 0;
  for (int i = width - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[pos + static_cast<std::size_t>(i)]);
  return v;
}

}  // namespace

std::uint64_t Rng::next() {
  std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

Mutator::Mutator(std::uint64_t seed, std::vector<std::string> dictionary, std::size_t max_len)
    : rng_(seed), dictionary_(std::move(dictionary)), max_len_(max_len) {}

std::string Mutator::mutate(const std::vector<std::string>& corpus, std::string* description) {
  const std::size_t base = rng_.below(corpus.size());
  std::string s = corpus[base];
  std::string what = "entry " + std::to_string(base);
  const std::uint64_t edits = 1 + rng_.below(4);
  for (std::uint64_t i = 0; i < edits; ++i) edit(s, corpus, what);
  if (s.size() > max_len_) s.resize(max_len_);
  if (description) *description = what;
  return s;
}

bool Mutator::size_field(std::string& s, std::string& what) {
  const int width = rng_.below(2) ? 8 : 4;
  if (s.size() < static_cast<std::size_t>(width)) return false;
  const std::size_t slots = s.size() / static_cast<std::size_t>(width);
  const std::size_t start = rng_.below(slots);
  for (std::size_t k = 0; k < slots; ++k) {
    const std::size_t pos = ((start + k) % slots) * static_cast<std::size_t>(width);
    const std::uint64_t v = get_le(s, pos, width);
    if (v == 0 || v > (1u << 20)) continue;
    std::uint64_t replacement = 0;
    switch (rng_.below(4)) {
      case 0: replacement = kInteresting[rng_.below(std::size(kInteresting))]; break;
      case 1: replacement = v + 1; break;
      case 2: replacement = v - 1; break;
      default: replacement = v * (2 + rng_.below(1000)); break;
    }
    put(s, pos, replacement, width, false);
    what += ", size field @" + std::to_string(pos) + " " + std::to_string(v) + "->" + std::to_string(replacement);
    return true;
  }
  return false;
}

bool Mutator::token_swap(std::string& s, std::string& what) {
  if (dictionary_.empty()) return false;
  const std::string& from = dictionary_[rng_.below(dictionary_.size())];
  const std::size_t pos = s.find(from);
  if (from.empty() || pos == std::string::npos) return false;
  // Prefer a token of the same length (the dictionaries group them so), else pad or cut.
  std::vector<const std::string*> same;
  for (const auto& t : dictionary_)
    if (t.size() == from.size() && t != from) same.push_back(&t);
  std::string to = same.empty() ? dictionary_[rng_.below(dictionary_.size())] : *same[rng_.below(same.size())];
  to.resize(from.size(), ' ');
  s.replace(pos, from.size(), to);
  what += ", token '" + from + "'->'" + to + "'";
  return true;
}

void Mutator::edit(std::string& s, const std::vector<std::string>& corpus, std::string& what) {
  const std::uint64_t kind = rng_.below(12);
  if (kind == 10 && size_field(s, what)) return;
  if (kind == 11 && token_swap(s, what)) return;
  if (s.empty() || kind >= 10) {  // nothing to edit, or the structural edit found no target
    const std::size_t n = 1 + rng_.below(16);
    std::string bytes(n, '\0');
    for (char& c : bytes) c = static_cast<char>(rng_.below(256));
    s.insert(rng_.below(s.size() + 1), bytes);
    what += ", insert " + std::to_string(n);
    return;
  }
  const std::size_t pos = rng_.below(s.size());
  switch (kind) {
    case 0:
      s[pos] = static_cast<char>(s[pos] ^ (1 << rng_.below(8)));
      what += ", flip @" + std::to_string(pos);
      break;
    case 1:
      s[pos] = static_cast<char>(kInteresting[rng_.below(7)]);
      what += ", byte @" + std::to_string(pos);
      break;
    case 2: {
      const int width = 1 << (1 + rng_.below(3));  // 2, 4 or 8 bytes
      if (pos + static_cast<std::size_t>(width) > s.size()) break;
      const std::uint64_t v = kInteresting[rng_.below(std::size(kInteresting))];
      put(s, pos, v, width, rng_.below(2) == 0);
      what += ", word @" + std::to_string(pos) + "=" + std::to_string(v);
      break;
    }
    case 3:
      s.resize(pos);
      what += ", truncate " + std::to_string(pos);
      break;
    case 4: {
      const std::size_t n = 1 + rng_.below(std::min<std::size_t>(s.size() - pos, 64));
      s.erase(pos, n);
      what += ", delete " + std::to_string(n) + " @" + std::to_string(pos);
      break;
    }
    case 5: {
      const std::size_t n = 1 + rng_.below(64);
      s.insert(pos, n, static_cast<char>(kInteresting[rng_.below(7)]));
      what += ", insert " + std::to_string(n) + " @" + std::to_string(pos);
      break;
    }
    case 6: {
      const std::size_t n = 1 + rng_.below(std::min<std::size_t>(s.size() - pos, 256));
      const std::string chunk = s.substr(pos, n);
      s.insert(rng_.below(s.size() + 1), chunk);
      what += ", duplicate " + std::to_string(n) + " @" + std::to_string(pos);
      break;
    }
    case 7: {  // splice: our head, another entry's tail from the same offset
      const std::string& other = corpus[rng_.below(corpus.size())];
      if (pos >= other.size()) break;
      s = s.substr(0, pos) + other.substr(pos);
      what += ", splice @" + std::to_string(pos);
      break;
    }
    case 8:
      if (!dictionary_.empty()) {
        const std::string& token = dictionary_[rng_.below(dictionary_.size())];
        if (rng_.below(2)) {
          s.insert(pos, token);
        } else {
          s.replace(pos, std::min(token.size(), s.size() - pos), token);
        }
        what += ", token '" + token + "' @" + std::to_string(pos);
      }
      break;
    default: {  // several random bytes
      const std::size_t n = 1 + rng_.below(std::min<std::size_t>(s.size() - pos, 8));
      for (std::size_t i = 0; i < n; ++i) s[pos + i] = static_cast<char>(rng_.below(256));
      what += ", random " + std::to_string(n) + " @" + std::to_string(pos);
      break;
    }
  }
}

}  // namespace shrink::fuzz
