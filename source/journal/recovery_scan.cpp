#include "hookd/journal/recovery_scan.h"

#include "hookd/journal/id_index.h"

namespace hookd::journal_detail {

SegmentScan scan_segment(std::string_view bytes, std::uint64_t first_seq) {
  SegmentScan scan;
  std::uint64_t offset = 0;
  std::uint64_t expected = first_seq;
  while (offset < bytes.size()) {
    const std::string_view rest = bytes.substr(offset);
    const DecodedRecord decoded = decode_record(rest, expected);
    if (decoded.error != FrameError::none) {
      scan.stop = decoded.error;
      const auto claimed = claimed_record_size(rest);
      scan.data_follows = claimed && *claimed < rest.size();
      break;
    }
    scan.offsets.push_back(offset);
    scan.id_hashes.push_back(id_hash(decoded.record.id));
    ++expected;
    offset += decoded.record.size;
  }
  scan.valid_bytes = offset;
  return scan;
}

}  // namespace hookd::journal_detail
