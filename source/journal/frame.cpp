#include "hookd/journal/frame.h"

#include <cstring>

#include "hookd/core/message_fields_text.h"
#include "hookd/journal/crc32c.h"

namespace hookd::journal_detail {

namespace {

constexpr std::uint8_t kFormat = 1;
constexpr std::uint8_t kFormatMessage = 2;
constexpr std::size_t kMinPayload = 1 + 4 + 4 + 4 + 8;
constexpr std::uint32_t kMaxRecordLength = 1u << 30;

void put_u32(char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i)
    p[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
void put_u64(char* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i)
    p[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
std::uint32_t get_u32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i)
    v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
std::uint64_t get_u64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::size_t message_size(const Event& e) {
  return e.message ? 4 + message_fields_size(*e.message) : 0;
}

DecodedRecord failed(FrameError error) {
  return DecodedRecord{error, {}};
}

}  // namespace

const char* describe(FrameError error) {
  switch (error) {
    case FrameError::none:
      return "ok";
    case FrameError::incomplete_header:
      return "incomplete header";
    case FrameError::bad_length:
      return "bad length";
    case FrameError::past_end:
      return "record runs past end of file";
    case FrameError::checksum_mismatch:
      return "checksum mismatch";
    case FrameError::unknown_format:
      return "unknown record format";
    case FrameError::truncated_field:
      return "truncated field";
    case FrameError::unexpected_seq:
      return "unexpected seq";
  }
  return "unknown error";
}

std::size_t encoded_size(const Event& e) {
  return kHeaderBytes + kMinPayload + e.id.size() + e.type.size() + e.timestamp.size() +
         message_size(e) + e.payload_json.size();
}

void encode_record(std::string& out, std::uint64_t seq, const Event& e) {
  encode_record(out, seq, e, encoded_size(e));
}

void encode_record(std::string& out, std::uint64_t seq, const Event& e, std::size_t n) {
  const std::size_t start = out.size();
  out.resize(start + n);
  char* p = out.data() + start;
  put_u32(p, static_cast<std::uint32_t>(n - kFrameBytes));
  put_u64(p + 8, seq);
  char* q = p + kHeaderBytes;
  *q++ = static_cast<char>(e.message ? kFormatMessage : kFormat);
  for (const std::string* s : {&e.id, &e.type, &e.timestamp}) {
    put_u32(q, static_cast<std::uint32_t>(s->size()));
    std::memcpy(q + 4, s->data(), s->size());
    q += 4 + s->size();
  }
  put_u64(q, static_cast<std::uint64_t>(e.arrival_unix_ms));
  q += 8;
  if (e.message) {
    char* fields = q + 4;
    q = write_message_fields(fields, *e.message);
    put_u32(fields - 4, static_cast<std::uint32_t>(q - fields));
  }
  std::memcpy(q, e.payload_json.data(), e.payload_json.size());
  put_u32(p + 4, crc32c(p + kFrameBytes, n - kFrameBytes));
}

DecodedRecord decode_record(std::string_view bytes) {
  const char* p = bytes.data();
  const std::size_t n = bytes.size();
  if (n < kHeaderBytes) return failed(FrameError::incomplete_header);
  const std::uint32_t length = get_u32(p);
  if (length < 8 + kMinPayload || length > kMaxRecordLength) return failed(FrameError::bad_length);
  if (length > n - kFrameBytes) return failed(FrameError::past_end);
  if (crc32c(p + kFrameBytes, length) != get_u32(p + 4))
    return failed(FrameError::checksum_mismatch);
  DecodedRecord out;
  RecordView& r = out.record;
  r.seq = get_u64(p + 8);
  r.size = kFrameBytes + length;
  const char* q = p + kHeaderBytes;
  const char* end = p + r.size;
  const auto format = static_cast<std::uint8_t>(*q++);
  if (format != kFormat && format != kFormatMessage) return failed(FrameError::unknown_format);
  for (std::string_view* s : {&r.id, &r.type, &r.timestamp}) {
    if (end - q < 4) return failed(FrameError::truncated_field);
    const std::uint32_t len = get_u32(q);
    q += 4;
    if (static_cast<std::size_t>(end - q) < len) return failed(FrameError::truncated_field);
    *s = std::string_view(q, len);
    q += len;
  }
  if (end - q < 8) return failed(FrameError::truncated_field);
  r.arrival_unix_ms = static_cast<std::int64_t>(get_u64(q));
  q += 8;
  if (format == kFormatMessage) {
    if (end - q < 4) return failed(FrameError::truncated_field);
    const std::uint32_t len = get_u32(q);
    q += 4;
    if (static_cast<std::size_t>(end - q) < len) return failed(FrameError::truncated_field);
    r.message = std::string_view(q, len);
    q += len;
  }
  r.payload_json = std::string_view(q, static_cast<std::size_t>(end - q));
  return out;
}

DecodedRecord decode_record(std::string_view bytes, std::uint64_t expected_seq) {
  DecodedRecord out = decode_record(bytes);
  if (out.error == FrameError::none && out.record.seq != expected_seq) {
    return failed(FrameError::unexpected_seq);
  }
  return out;
}

std::optional<std::size_t> claimed_record_size(std::string_view bytes) {
  if (bytes.size() < kHeaderBytes) return std::nullopt;
  const std::uint64_t length = get_u32(bytes.data());
  if (length > bytes.size() - kFrameBytes) return std::nullopt;
  return kFrameBytes + length;
}

StoredEvent to_stored(const RecordView& record) {
  StoredEvent s;
  s.seq = record.seq;
  s.event.id = std::string(record.id);
  s.event.type = std::string(record.type);
  s.event.timestamp = std::string(record.timestamp);
  s.event.payload_json = std::string(record.payload_json);
  s.event.arrival_unix_ms = record.arrival_unix_ms;
  if (!record.message.empty()) s.event.message = decode_message_fields(record.message);
  return s;
}

}  // namespace hookd::journal_detail
