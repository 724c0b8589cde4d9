// The record frame as a pure function over bytes: what encode_record writes
// decode_record reads back, and every kind of damage is named.
#include "hookd/journal/frame.h"

#include <catch2/catch.hpp>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace {

using hookd::Event;
using hookd::journal_detail::claimed_record_size;
using hookd::journal_detail::decode_record;
using hookd::journal_detail::describe;
using hookd::journal_detail::encode_record;
using hookd::journal_detail::encoded_size;
using hookd::journal_detail::FrameError;
using hookd::journal_detail::kFrameBytes;
using hookd::journal_detail::kHeaderBytes;

Event event(std::string id, std::string type, std::string timestamp, std::string payload,
            std::int64_t arrival) {
  Event e;
  e.id = std::move(id);
  e.type = std::move(type);
  e.timestamp = std::move(timestamp);
  e.payload_json = std::move(payload);
  e.arrival_unix_ms = arrival;
  return e;
}

Event sample() {
  return event("evt-1", "session.open", "2026-11-24T10:15:02.123Z", R"({"sid":"s1"})",
               1764000000000);
}

std::string encoded(std::uint64_t seq, const Event& e) {
  std::string out;
  encode_record(out, seq, e);
  return out;
}

void put_u32(std::string& bytes, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i)
    bytes[at + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

std::uint32_t get_u32(const std::string& bytes, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i)
    v = (v << 8) | static_cast<unsigned char>(bytes[at + i]);
  return v;
}

// After an edit behind the crc: a record that is well framed, so only the
// layout inside it is wrong.
void reseal(std::string& bytes) {
  const std::uint32_t length = get_u32(bytes, 0);
  put_u32(bytes, 4, hookd::crc32c(bytes.data() + kFrameBytes, length));
}

}  // namespace

TEST_CASE("a record decodes to what was encoded", "[journal][frame]") {
  const std::vector<std::pair<std::uint64_t, Event>> cases{
      {1, sample()},
      {42, event("", "", "", "", 0)},
      {(1ull << 40) + 7, event("ünï-çødé", "a.b", "t", "[1,2,3]", -5)},
      {9, event("big", "bulk", "2026-01-01T00:00:00Z", std::string(70000, 'x'), 1)},
  };
  for (const auto& [seq, e] : cases) {
    INFO("seq " << seq << " id " << e.id);
    const std::string bytes = encoded(seq, e);
    CHECK(bytes.size() == encoded_size(e));
    CHECK(get_u32(bytes, 0) == bytes.size() - kFrameBytes);

    const auto decoded = decode_record(bytes);
    REQUIRE(decoded.error == FrameError::none);
    CHECK(decoded.record.seq == seq);
    CHECK(decoded.record.id == e.id);
    CHECK(decoded.record.type == e.type);
    CHECK(decoded.record.timestamp == e.timestamp);
    CHECK(decoded.record.payload_json == e.payload_json);
    CHECK(decoded.record.arrival_unix_ms == e.arrival_unix_ms);
    CHECK(decoded.record.size == bytes.size());

    const auto stored = hookd::journal_detail::to_stored(decoded.record);
    CHECK(stored.seq == seq);
    CHECK(stored.event.id == e.id);
    CHECK(stored.event.payload_json == e.payload_json);

    CHECK(decode_record(bytes, seq).error == FrameError::none);
    CHECK(decode_record(bytes, seq + 1).error == FrameError::unexpected_seq);
    CHECK(claimed_record_size(bytes) == bytes.size());
  }
}

TEST_CASE("records back to back decode one at a time", "[journal][frame]") {
  std::string bytes;
  encode_record(bytes, 5, sample());
  const std::size_t first_size = bytes.size();
  encode_record(bytes, 6, event("evt-2", "t", "ts", "{}", 2));

  const auto first = decode_record(bytes, 5);
  REQUIRE(first.error == FrameError::none);
  CHECK(first.record.size == first_size);
  CHECK(first.record.id == "evt-1");
  CHECK(claimed_record_size(bytes) == first_size);

  const auto second = decode_record(std::string_view(bytes).substr(first_size), 6);
  REQUIRE(second.error == FrameError::none);
  CHECK(second.record.id == "evt-2");
  CHECK(first_size + second.record.size == bytes.size());
}

TEST_CASE("damaged bytes are not a record, and say why", "[journal][frame]") {
  const std::string good = encoded(3, sample());
  const std::uint32_t length = get_u32(good, 0);
  struct Case {
    const char* name;
    std::function<void(std::string&)> damage;
    FrameError want;
  };
  const std::vector<Case> cases{
      {"no bytes", [](std::string& b) { b.clear(); }, FrameError::incomplete_header},
      {"header cut", [](std::string& b) { b.resize(kHeaderBytes - 1); },
       FrameError::incomplete_header},
      {"body cut after the header", [](std::string& b) { b.resize(kHeaderBytes); },
       FrameError::past_end},
      {"body short by one byte", [](std::string& b) { b.pop_back(); }, FrameError::past_end},
      {"length zero", [](std::string& b) { put_u32(b, 0, 0); }, FrameError::bad_length},
      {"length below the smallest record", [](std::string& b) { put_u32(b, 0, 8 + 20); },
       FrameError::bad_length},
      {"length over 1 GiB", [](std::string& b) { put_u32(b, 0, (1u << 30) + 1); },
       FrameError::bad_length},
      {"length one past the bytes", [&](std::string& b) { put_u32(b, 0, length + 1); },
       FrameError::past_end},
      {"length one short", [&](std::string& b) { put_u32(b, 0, length - 1); },
       FrameError::checksum_mismatch},
      {"crc flipped", [](std::string& b) { b[4] ^= 0x01; }, FrameError::checksum_mismatch},
      {"seq flipped", [](std::string& b) { b[8] ^= 0x40; }, FrameError::checksum_mismatch},
      {"payload byte flipped", [](std::string& b) { b.back() ^= 0x5A; },
       FrameError::checksum_mismatch},
      {"unknown format",
       [](std::string& b) {
         b[kHeaderBytes] = 3;  // 1 and 2 are the known formats
         reseal(b);
       },
       FrameError::unknown_format},
      {"id length past the record",
       [&](std::string& b) {
         put_u32(b, kHeaderBytes + 1, length);
         reseal(b);
       },
       FrameError::truncated_field},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    std::string bytes = good;
    c.damage(bytes);
    const auto decoded = decode_record(bytes);
    CHECK(decoded.error == c.want);
    CHECK(decode_record(bytes, 3).error == c.want);
  }
}

TEST_CASE("the claimed size of a record comes from its length field alone", "[journal][frame]") {
  const std::string good = encoded(1, sample());
  std::string flipped = good;
  flipped.back() ^= 0x01;  // damaged, but the length still points to its end
  std::string with_more = flipped + "trailing bytes";
  std::string long_length = good;
  put_u32(long_length, 0, static_cast<std::uint32_t>(good.size()));  // 8 bytes past the end

  CHECK(claimed_record_size(good) == good.size());
  CHECK(claimed_record_size(flipped) == good.size());
  CHECK(claimed_record_size(with_more) == good.size());
  CHECK(claimed_record_size(long_length) == std::nullopt);
  CHECK(claimed_record_size(good.substr(0, kHeaderBytes - 1)) == std::nullopt);
  CHECK(claimed_record_size(std::string(kHeaderBytes, '\0')) == kFrameBytes);
}

TEST_CASE("every frame error has its own description", "[journal][frame]") {
  const std::vector<FrameError> errors{FrameError::none,
                                       FrameError::incomplete_header,
                                       FrameError::bad_length,
                                       FrameError::past_end,
                                       FrameError::checksum_mismatch,
                                       FrameError::unknown_format,
                                       FrameError::truncated_field,
                                       FrameError::unexpected_seq};
  std::vector<std::string> texts;
  for (auto e : errors)
    texts.emplace_back(describe(e));
  for (std::size_t i = 0; i < texts.size(); ++i) {
    CHECK_FALSE(texts[i].empty());
    for (std::size_t k = i + 1; k < texts.size(); ++k)
      CHECK(texts[i] != texts[k]);
  }
  CHECK(std::string(describe(FrameError::checksum_mismatch)) == "checksum mismatch");
}
