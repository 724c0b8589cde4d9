// The file journal's idempotency index: a 64-bit hash of each indexed
// record's id -> its seq, in one open-addressing table of 16-byte slots
// (linear probing, deletion by backward shift, so no tombstones pile up under
// a steady churn of adds and removes): about 21-43 bytes per record. A hit is
// only a candidate (hashes collide) that the caller confirms by reading the
// record back.
// Not thread-safe: the file journal guards it with its mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace hookd::journal_detail {

// The hash the index is keyed by.
std::uint64_t id_hash(std::string_view id);

class IdIndex {
 public:
  // Seqs start at 1 (0 marks an empty slot and is never indexed).
  void add(std::uint64_t hash, std::uint64_t seq);

  // Seqs of the records whose id has this hash (no allocation when none).
  std::vector<std::uint64_t> candidates(std::uint64_t hash) const;

  // Forgets one record; nothing when it is not indexed.
  void remove(std::uint64_t hash, std::uint64_t seq);

  std::size_t size() const { return size_; }
  // Slots allocated (for tests of the memory bound).
  std::size_t capacity() const { return slots_.size(); }

 private:
  struct Slot {
    std::uint64_t hash = 0;
    std::uint64_t seq = 0;  // 0: empty
  };

  std::size_t home(std::uint64_t hash) const;
  void rehash(std::size_t capacity);

  std::vector<Slot> slots_;
  std::size_t size_ = 0;
  unsigned shift_ = 64;  // 64 - log2(capacity)
};

}  // namespace hookd::journal_detail
