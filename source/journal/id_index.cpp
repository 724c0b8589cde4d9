#include "hookd/journal/id_index.h"

#include <functional>
#include <utility>

namespace hookd::journal_detail {

namespace {

constexpr std::size_t kMinCapacity = 64;

}  // namespace

std::uint64_t id_hash(std::string_view id) {
  return std::hash<std::string_view>{}(id);
}

// Fibonacci hashing: the top bits of hash * 2^64/phi, so that slot choice
// does not depend on the low bits of the id hash alone.
std::size_t IdIndex::home(std::uint64_t hash) const {
  return static_cast<std::size_t>((hash * 0x9E3779B97F4A7C15ull) >> shift_);
}

void IdIndex::rehash(std::size_t capacity) {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(capacity, Slot{});
  shift_ = 64;
  for (std::size_t c = capacity; c > 1; c >>= 1)
    --shift_;
  const std::size_t mask = capacity - 1;
  for (const Slot& slot : old) {
    if (slot.seq == 0) continue;
    std::size_t i = home(slot.hash);
    while (slots_[i].seq != 0)
      i = (i + 1) & mask;
    slots_[i] = slot;
  }
}

void IdIndex::add(std::uint64_t hash, std::uint64_t seq) {
  if (seq == 0) return;
  // At most 3/4 full: linear probing stays short.
  if (slots_.empty() || (size_ + 1) * 4 > slots_.size() * 3) {
    rehash(slots_.empty() ? kMinCapacity : slots_.size() * 2);
  }
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = home(hash);
  while (slots_[i].seq != 0)
    i = (i + 1) & mask;
  slots_[i] = Slot{hash, seq};
  ++size_;
}

std::vector<std::uint64_t> IdIndex::candidates(std::uint64_t hash) const {
  std::vector<std::uint64_t> out;
  if (slots_.empty()) return out;
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = home(hash); slots_[i].seq != 0; i = (i + 1) & mask) {
    if (slots_[i].hash == hash) out.push_back(slots_[i].seq);
  }
  return out;
}

void IdIndex::remove(std::uint64_t hash, std::uint64_t seq) {
  if (slots_.empty() || seq == 0) return;
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = home(hash);
  while (slots_[i].seq != 0 && !(slots_[i].hash == hash && slots_[i].seq == seq))
    i = (i + 1) & mask;
  if (slots_[i].seq == 0) return;
  // Backward shift: move later entries of the probe run into the hole when
  // their home does not lie cyclically in (hole, their slot].
  for (std::size_t j = (i + 1) & mask; slots_[j].seq != 0; j = (j + 1) & mask) {
    const std::size_t k = home(slots_[j].hash);
    const bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
    if (stays) continue;
    slots_[i] = slots_[j];
    i = j;
  }
  slots_[i] = Slot{};
  --size_;
  // Shrink after a burst, with room to spare, so a steady churn never
  // rehashes back and forth.
  if (slots_.size() > kMinCapacity && size_ * 8 < slots_.size()) rehash(slots_.size() / 2);
}

}  // namespace hookd::journal_detail
