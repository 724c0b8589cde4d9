#include "hookd/journal/recovery_scan.h"

#include <algorithm>
#include <cstring>

#include "hookd/journal/id_index.h"

namespace hookd::journal_detail {

bool all_zero(std::string_view bytes) {
  // Compares 4 KiB at a time against a zero block: a preallocated segment
  // tail is tens of MiB.
  static const char kZeros[4096] = {};
  while (!bytes.empty()) {
    const std::size_t n = std::min(bytes.size(), sizeof kZeros);
    if (std::memcmp(bytes.data(), kZeros, n) != 0) return false;
    bytes.remove_prefix(n);
  }
  return true;
}

SegmentScan scan_segment(std::string_view bytes, std::uint64_t first_seq) {
  SegmentScan scan;
  std::uint64_t offset = 0;
  std::uint64_t expected = first_seq;
  while (offset < bytes.size()) {
    const std::string_view rest = bytes.substr(offset);
    const DecodedRecord decoded = decode_record(rest, expected);
    if (decoded.error != FrameError::none) {
      scan.stop = decoded.error;
      scan.zero_tail = all_zero(rest);
      const auto claimed = claimed_record_size(rest);
      scan.data_follows =
          !scan.zero_tail && claimed && *claimed < rest.size() && !all_zero(rest.substr(*claimed));
      break;
    }
    scan.offsets.push_back(offset);
    scan.id_hashes.push_back(id_hash(decoded.record.id));
    scan.arrivals_ms.push_back(decoded.record.arrival_unix_ms);
    ++expected;
    offset += decoded.record.size;
  }
  scan.valid_bytes = offset;
  return scan;
}

}  // namespace hookd::journal_detail
