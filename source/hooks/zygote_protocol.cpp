#include "hookd/hooks/zygote_protocol.h"

namespace hookd {
namespace {

constexpr std::size_t kHeaderBytes = 6;  // length, version, type
constexpr std::size_t kFieldHeaderBytes = 5;

void put_be(std::string& out, std::uint64_t value, int bytes) {
  for (int shift = 8 * (bytes - 1); shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((value >> shift) & 0xFF));
  }
}

std::uint64_t get_be(std::string_view in, std::size_t at, int bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) {
    value = (value << 8) | static_cast<unsigned char>(in[at + static_cast<std::size_t>(i)]);
  }
  return value;
}

}  // namespace

void ZygoteMessage::add_u64(ZygoteTag tag, std::uint64_t value) {
  std::string bytes;
  put_be(bytes, value, 8);
  fields.emplace_back(tag, std::move(bytes));
}

std::optional<std::string_view> ZygoteMessage::get(ZygoteTag tag) const {
  for (const auto& [t, value] : fields) {
    if (t == tag) return std::string_view(value);
  }
  return std::nullopt;
}

std::optional<std::uint64_t> ZygoteMessage::get_u64(ZygoteTag tag) const {
  auto value = get(tag);
  if (!value || value->size() != 8) return std::nullopt;
  return get_be(*value, 0, 8);
}

std::vector<std::string_view> ZygoteMessage::all(ZygoteTag tag) const {
  std::vector<std::string_view> out;
  for (const auto& [t, value] : fields) {
    if (t == tag) out.emplace_back(value);
  }
  return out;
}

std::string encode_zygote_message(const ZygoteMessage& message) {
  std::size_t size = kHeaderBytes;
  for (const auto& field : message.fields)
    size += kFieldHeaderBytes + field.second.size();
  std::string out;
  out.reserve(size);
  put_be(out, size - 4, 4);
  out.push_back(static_cast<char>(kZygoteProtocolVersion));
  out.push_back(static_cast<char>(message.type));
  for (const auto& [tag, value] : message.fields) {
    out.push_back(static_cast<char>(tag));
    put_be(out, value.size(), 4);
    out.append(value);
  }
  return out;
}

Result<ZygoteMessage> decode_zygote_message(std::string_view record) {
  if (record.size() < kHeaderBytes) return make_error("record shorter than its header");
  if (get_be(record, 0, 4) != record.size() - 4) {
    return make_error("record length " + std::to_string(get_be(record, 0, 4)) + " but " +
                      std::to_string(record.size() - 4) + " bytes follow it");
  }
  if (static_cast<std::uint8_t>(record[4]) != kZygoteProtocolVersion) {
    return make_error("protocol version " + std::to_string(static_cast<unsigned char>(record[4])));
  }
  ZygoteMessage message;
  message.type = static_cast<ZygoteMessageType>(static_cast<unsigned char>(record[5]));
  std::size_t at = kHeaderBytes;
  while (at < record.size()) {
    if (record.size() - at < kFieldHeaderBytes) return make_error("field header cut short");
    auto tag = static_cast<ZygoteTag>(static_cast<unsigned char>(record[at]));
    std::uint64_t length = get_be(record, at + 1, 4);
    at += kFieldHeaderBytes;
    if (length > record.size() - at) return make_error("field longer than the record");
    message.fields.emplace_back(tag, std::string(record.substr(at, length)));
    at += length;
  }
  return message;
}

}  // namespace hookd
