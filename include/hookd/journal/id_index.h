// The file journal's idempotency index: a 64-bit hash of each indexed
// record's id -> its seq, in one open-addressing table of 16-byte slots
// (linear probing, deletion by backward shift, so no tombstones pile up under
// a steady churn of adds and removes): about 21-43 bytes per record. A hit is
// only a candidate (hashes collide) that the caller confirms by reading the
// record back.
// A large table is resized incrementally: the new table takes the adds while
// every add or remove moves a few slots of the old one over, so no single
// call pays for moving them all (a million ids take tens of ms, and the
// journal adds inside a group commit, under the catalog lock).
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
  // Slots allocated for the table being filled (for tests of the memory
  // bound); while a resize moves slots over, the old table is held as well.
  std::size_t capacity() const { return table_.size; }
  bool resizing() const { return old_.size > 0; }

 private:
  struct Slot {
    std::uint64_t hash = 0;
    std::uint64_t seq = 0;  // 0: empty; kMoved: taken to the new table
  };
  // A large table is its own anonymous mapping: its zero pages come from the
  // kernel as they are touched (no memset up front), and the old table of a
  // resize goes back a little at a time as it empties (freeing tens of MiB
  // at once takes milliseconds).
  struct Table {
    Slot* slots = nullptr;
    std::size_t size = 0;
    unsigned shift = 64;  // 64 - log2(size)
    bool mapped = false;
    std::size_t released = 0;  // bytes from the start given back (mapped only)

    Table() = default;
    explicit Table(std::size_t size);
    Table(Table&& other) noexcept;
    Table& operator=(Table&& other) noexcept;
    ~Table();

    std::size_t home(std::uint64_t hash) const;
    void insert(Slot slot);
    // Removes by backward shift; false when not there.
    bool erase(std::uint64_t hash, std::uint64_t seq);
    // The pages wholly before slot `end` read as empty slots from now on.
    void release_before(std::size_t end);
  };

  void resize(std::size_t capacity);
  // Moves up to `slots` slots of the old table over; frees it when done.
  void move_old(std::size_t slots);

  Table table_;
  Table old_;                  // being emptied into table_ (size 0: none)
  std::size_t old_next_ = 0;   // the old slots before this have been moved
  std::size_t move_step_ = 0;  // old slots moved per call while resizing
  std::size_t size_ = 0;
};

}  // namespace hookd::journal_detail
