// The file journal's idempotency index: a 64-bit hash of each retained
// record's id -> its seq. A multimap of hashes costs about 56 bytes per record
// instead of a string key per record; a hit is only a candidate (hashes
// collide) that the caller confirms by reading the record back.
// Not thread-safe: the file journal guards it with its mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace hookd::journal_detail {

// The hash the index is keyed by.
std::uint64_t id_hash(std::string_view id);

class IdIndex {
 public:
  void add(std::uint64_t hash, std::uint64_t seq);

  // Seqs of the records whose id has this hash (no allocation when none).
  std::vector<std::uint64_t> candidates(std::uint64_t hash) const;

  // Forgets one record; nothing when it is not indexed.
  void remove(std::uint64_t hash, std::uint64_t seq);

  std::size_t size() const { return seqs_.size(); }

 private:
  std::unordered_multimap<std::uint64_t, std::uint64_t> seqs_;
};

}  // namespace hookd::journal_detail
