// The file journal's record frame, little-endian:
//   [u32 length][u32 crc32c][u64 seq][payload]
// length counts the bytes after the crc (seq + payload); the crc covers them.
// payload (format 1):
//   [u8 1][u32 n][id][u32 n][type][u32 n][timestamp][i64 arrival_unix_ms][payload_json...]
// format 2, for Svix API messages: after arrival_unix_ms, [u32 n][message fields]
// (encode_message_fields), then payload_json. Events without them stay format 1,
// so journals written before stay readable and plain events pay nothing.
// Pure functions over bytes; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "hookd/journal/journal.h"

namespace hookd::journal_detail {

inline constexpr std::size_t kFrameBytes = 8;    // length + crc
inline constexpr std::size_t kHeaderBytes = 16;  // + seq

// Why bytes are not a record.
enum class FrameError {
  none,
  incomplete_header,
  bad_length,
  past_end,  // the length runs past the end of the bytes
  checksum_mismatch,
  unknown_format,
  truncated_field,
  unexpected_seq,
};

// For logs and error messages.
const char* describe(FrameError error);

// A decoded record. The views point into the decoded bytes.
struct RecordView {
  std::uint64_t seq = 0;
  std::string_view id, type, timestamp, payload_json;
  std::string_view message;  // format 2 only
  std::int64_t arrival_unix_ms = 0;
  std::size_t size = 0;  // whole record, header included
};

struct DecodedRecord {
  FrameError error = FrameError::none;
  RecordView record;  // valid when error is none
};

// Bytes encode_record() appends for `e`.
std::size_t encoded_size(const Event& e);

// Appends the framed record of `e` at `seq` to `out`.
void encode_record(std::string& out, std::uint64_t seq, const Event& e);
// The same with encoded_size(e) known already (a message's fields are
// measured by walking their text, so the writer measures each record once).
void encode_record(std::string& out, std::uint64_t seq, const Event& e, std::size_t size);

// Checks the framing, CRC and payload layout of the record at the start of
// `bytes` (more bytes may follow it).
DecodedRecord decode_record(std::string_view bytes);

// The same, and the record must carry `expected_seq`.
DecodedRecord decode_record(std::string_view bytes, std::uint64_t expected_seq);

// Where the record at the start of `bytes` says it ends, by its length field
// alone: nullopt when the header is incomplete or that end lies past `bytes`.
// Tells a torn tail (nothing plausible after the damage) from damage with
// data behind it.
std::optional<std::size_t> claimed_record_size(std::string_view bytes);

StoredEvent to_stored(const RecordView& record);

}  // namespace hookd::journal_detail
