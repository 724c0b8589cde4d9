#include "hookd/journal/id_index.h"

#include <sys/mman.h>

#include <cstdlib>

#include <algorithm>
#include <functional>
#include <limits>
#include <new>
#include <utility>

namespace hookd::journal_detail {

namespace {

constexpr std::size_t kMinCapacity = 64;
// Tables up to this many slots (256 KiB) are resized at once, in well under
// a millisecond; larger ones incrementally.
constexpr std::size_t kResizeAtOnce = 1u << 14;
// Old slots moved per add or remove, at least. A resize moves the whole old
// table while at most half of the records it started with can be removed
// (so an index being emptied finishes each shrink) and while at most an
// eighth of the old table's slots can be added (so the new table, a growing
// one at most 3/8 full when it starts, never fills past 3/4 meanwhile).
constexpr std::size_t kMoveStep = 8;
// A moved slot keeps its place in the old table's probe runs (an empty slot
// would cut the runs of the slots not yet moved) but matches nothing.
// Tables from this size are mapped, and given back in chunks of this size.
constexpr std::size_t kMapFrom = 1u << 20;
constexpr std::size_t kReleaseChunk = 1u << 20;
constexpr std::uint64_t kMoved = std::numeric_limits<std::uint64_t>::max();

}  // namespace

std::uint64_t id_hash(std::string_view id) {
  return std::hash<std::string_view>{}(id);
}

IdIndex::Table::Table(std::size_t n) : size(n) {
  const std::size_t bytes = n * sizeof(Slot);
  if (bytes >= kMapFrom) {
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    slots = static_cast<Slot*>(p);
    mapped = true;
  } else {
    slots = static_cast<Slot*>(std::calloc(n, sizeof(Slot)));
    if (slots == nullptr) throw std::bad_alloc();
  }
  for (std::size_t c = n; c > 1; c >>= 1)
    --shift;
}

IdIndex::Table::Table(Table&& other) noexcept
    : slots(std::exchange(other.slots, nullptr)),
      size(std::exchange(other.size, 0)),
      shift(std::exchange(other.shift, 64)),
      mapped(std::exchange(other.mapped, false)),
      released(std::exchange(other.released, 0)) {}

IdIndex::Table& IdIndex::Table::operator=(Table&& other) noexcept {
  if (this != &other) {
    Table gone(std::move(*this));
    slots = std::exchange(other.slots, nullptr);
    size = std::exchange(other.size, 0);
    shift = std::exchange(other.shift, 64);
    mapped = std::exchange(other.mapped, false);
    released = std::exchange(other.released, 0);
  }
  return *this;
}

IdIndex::Table::~Table() {
  if (slots == nullptr) return;
  if (mapped) {
    ::munmap(slots, size * sizeof(Slot));
  } else {
    std::free(slots);
  }
}

void IdIndex::Table::release_before(std::size_t end) {
  if (!mapped) return;
  const std::size_t upto = end * sizeof(Slot) / kReleaseChunk * kReleaseChunk;
  if (upto <= released) return;
  // Zero pages afterwards: empty slots, which only ever end a probe run
  // early in the part already moved, where nothing is left to find.
  ::madvise(reinterpret_cast<char*>(slots) + released, upto - released, MADV_DONTNEED);
  released = upto;
}

// Fibonacci hashing: the top bits of hash * 2^64/phi, so that slot choice
// does not depend on the low bits of the id hash alone.
std::size_t IdIndex::Table::home(std::uint64_t hash) const {
  return static_cast<std::size_t>((hash * 0x9E3779B97F4A7C15ull) >> shift);
}

void IdIndex::Table::insert(Slot slot) {
  const std::size_t mask = size - 1;
  std::size_t i = home(slot.hash);
  while (slots[i].seq != 0)
    i = (i + 1) & mask;
  slots[i] = slot;
}

bool IdIndex::Table::erase(std::uint64_t hash, std::uint64_t seq) {
  if (size == 0) return false;
  const std::size_t mask = size - 1;
  std::size_t i = home(hash);
  while (slots[i].seq != 0 && !(slots[i].hash == hash && slots[i].seq == seq))
    i = (i + 1) & mask;
  if (slots[i].seq == 0) return false;
  // Backward shift: move later entries of the probe run into the hole when
  // their home does not lie cyclically in (hole, their slot].
  for (std::size_t j = (i + 1) & mask; slots[j].seq != 0; j = (j + 1) & mask) {
    const std::size_t k = home(slots[j].hash);
    const bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
    if (stays) continue;
    slots[i] = slots[j];
    i = j;
  }
  slots[i] = Slot{};
  return true;
}

void IdIndex::resize(std::size_t capacity) {
  move_old(old_.size);  // one resize at a time
  old_ = std::exchange(table_, Table(capacity));
  old_next_ = 0;
  const std::size_t calls = std::max<std::size_t>(1, size_ / 2);
  move_step_ = std::max(kMoveStep, (old_.size + calls - 1) / calls);
  move_old(old_.size <= kResizeAtOnce ? old_.size : 0);
}

void IdIndex::move_old(std::size_t slots) {
  if (old_.size == 0) return;
  for (const std::size_t end = std::min(old_.size, old_next_ + slots); old_next_ < end;
       ++old_next_) {
    Slot& slot = old_.slots[old_next_];
    if (slot.seq == 0 || slot.seq == kMoved) continue;
    table_.insert(slot);
    slot.seq = kMoved;
  }
  if (old_next_ == old_.size) {
    old_ = Table{};
  } else {
    old_.release_before(old_next_);
  }
}

void IdIndex::add(std::uint64_t hash, std::uint64_t seq) {
  if (seq == 0) return;
  move_old(move_step_);
  // At most 3/4 full: linear probing stays short.
  if (table_.size == 0 || (size_ + 1) * 4 > table_.size * 3) {
    resize(table_.size == 0 ? kMinCapacity : table_.size * 2);
  }
  table_.insert(Slot{hash, seq});
  ++size_;
}

std::vector<std::uint64_t> IdIndex::candidates(std::uint64_t hash) const {
  std::vector<std::uint64_t> out;
  for (const Table* table : {&table_, &old_}) {
    if (table->size == 0) continue;
    const std::size_t mask = table->size - 1;
    for (std::size_t i = table->home(hash); table->slots[i].seq != 0; i = (i + 1) & mask) {
      const Slot& slot = table->slots[i];
      if (slot.hash == hash && slot.seq != kMoved) out.push_back(slot.seq);
    }
  }
  return out;
}

void IdIndex::remove(std::uint64_t hash, std::uint64_t seq) {
  if (seq == 0 || seq == kMoved) return;
  bool removed = table_.erase(hash, seq);
  if (!removed && old_.size > 0) {
    // Not moved yet: marked moved in place, the old table's runs stay whole.
    const std::size_t mask = old_.size - 1;
    for (std::size_t i = old_.home(hash); old_.slots[i].seq != 0; i = (i + 1) & mask) {
      Slot& slot = old_.slots[i];
      if (slot.hash == hash && slot.seq == seq) {
        slot.seq = kMoved;
        removed = true;
        break;
      }
    }
  }
  if (!removed) return;
  --size_;
  move_old(move_step_);
  // Shrink after a burst, with room to spare, so a steady churn never
  // resizes back and forth.
  if (!resizing() && table_.size > kMinCapacity && size_ * 8 < table_.size) {
    resize(table_.size / 2);
  }
}

}  // namespace hookd::journal_detail
