// CRC32C (Castagnoli), the checksum framed around every journal record.
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hookd {

// CRC32C of `size` bytes, continuing from `crc` (0 to start). SSE4.2 when
// the CPU has it.
std::uint32_t crc32c(const void* data, std::size_t size, std::uint32_t crc = 0);

namespace journal_detail {

// Byte-at-a-time table version: the fallback, and the reference the tests
// compare the hardware path against.
std::uint32_t crc32c_table(const void* data, std::size_t size, std::uint32_t crc);

}  // namespace journal_detail

}  // namespace hookd
