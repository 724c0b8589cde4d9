#include "header_arena.h"

#include <cstdint>
#include <new>

namespace hookd {

void* HeaderArena::allocate(std::size_t bytes, std::size_t align) {
  const std::size_t start = (used_ + align - 1) & ~(align - 1);
  if (align <= alignof(std::max_align_t) && start <= kBlockBytes && bytes <= kBlockBytes - start) {
    used_ = start + bytes;
    return block_ + start;
  }
  if (align > __STDCPP_DEFAULT_NEW_ALIGNMENT__)
    return ::operator new(bytes, std::align_val_t(align));
  return ::operator new(bytes);
}

void HeaderArena::deallocate(void* piece, std::size_t bytes, std::size_t align) noexcept {
  const auto at = reinterpret_cast<std::uintptr_t>(piece);
  const auto block = reinterpret_cast<std::uintptr_t>(block_);
  // Pieces of the block come back all at once, with reset().
  if (at >= block && at < block + kBlockBytes) return;
  // Unsized: clang 14 declares the sized operator delete only with
  // -fsized-deallocation.
  static_cast<void>(bytes);
  if (align > __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
    return ::operator delete(piece, std::align_val_t(align));
  }
  ::operator delete(piece);
}

}  // namespace hookd
