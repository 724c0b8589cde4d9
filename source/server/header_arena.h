// HeaderArena: the memory of one connection's request header fields. Beast
// allocates each field, the target and an unknown method apart; with the
// default allocator that was four or more heap calls per request. The arena
// hands out pieces of a block the connection keeps and takes them all back at
// once between requests; what does not fit comes from the heap. HeaderAllocator
// is the allocator Beast's fields use over it. Not thread-safe: one per
// connection, on its reactor.
#pragma once

#include <cstddef>

namespace hookd {

class HeaderArena {
 public:
  HeaderArena() = default;
  HeaderArena(const HeaderArena&) = delete;
  HeaderArena& operator=(const HeaderArena&) = delete;

  void* allocate(std::size_t bytes, std::size_t align);
  void deallocate(void* piece, std::size_t bytes, std::size_t align) noexcept;
  // Every piece of the block is free again. Only while none is in use (the
  // fields that hold them are gone).
  void reset() noexcept { used_ = 0; }

 private:
  // A typical header's fields take 600-900 bytes, Beast's bookkeeping
  // included; a larger one spills to the heap.
  static constexpr std::size_t kBlockBytes = 2048;

  alignas(std::max_align_t) unsigned char block_[kBlockBytes];
  std::size_t used_ = 0;
};

template <class T>
class HeaderAllocator {
 public:
  using value_type = T;

  explicit HeaderAllocator(HeaderArena& arena) noexcept : arena_(&arena) {}
  template <class U>
  HeaderAllocator(const HeaderAllocator<U>& other) noexcept : arena_(other.arena()) {}

  T* allocate(std::size_t n) {
    return static_cast<T*>(arena_->allocate(n * sizeof(T), alignof(T)));
  }
  void deallocate(T* piece, std::size_t n) noexcept {
    arena_->deallocate(piece, n * sizeof(T), alignof(T));
  }
  HeaderArena* arena() const noexcept { return arena_; }

  template <class U>
  bool operator==(const HeaderAllocator<U>& other) const noexcept {
    return arena_ == other.arena();
  }

 private:
  HeaderArena* arena_;
};

}  // namespace hookd
