#include "hookd/journal/id_index.h"

#include <functional>

namespace hookd::journal_detail {

std::uint64_t id_hash(std::string_view id) {
  return std::hash<std::string_view>{}(id);
}

void IdIndex::add(std::uint64_t hash, std::uint64_t seq) {
  seqs_.emplace(hash, seq);
}

std::vector<std::uint64_t> IdIndex::candidates(std::uint64_t hash) const {
  std::vector<std::uint64_t> out;
  auto [begin, end] = seqs_.equal_range(hash);
  for (auto it = begin; it != end; ++it)
    out.push_back(it->second);
  return out;
}

void IdIndex::remove(std::uint64_t hash, std::uint64_t seq) {
  auto [begin, end] = seqs_.equal_range(hash);
  for (auto it = begin; it != end; ++it) {
    if (it->second == seq) {
      seqs_.erase(it);
      return;
    }
  }
}

}  // namespace hookd::journal_detail
