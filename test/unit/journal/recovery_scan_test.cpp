// The recovery scan as a pure function over a segment's bytes: where the
// valid prefix ends and whether what follows is a torn tail or damage with
// data behind it.
#include "hookd/journal/recovery_scan.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "hookd/journal/id_index.h"

namespace {

using hookd::Event;
using hookd::journal_detail::encode_record;
using hookd::journal_detail::FrameError;
using hookd::journal_detail::id_hash;
using hookd::journal_detail::scan_segment;

Event make_event(const std::string& id) {
  Event e;
  e.id = id;
  e.type = "session.open";
  e.timestamp = "2026-11-24T10:15:02.123Z";
  e.payload_json = R"({"data":")" + std::string(40 + id.size(), 'x') + R"("})";
  e.arrival_unix_ms = 1764000000000;
  return e;
}

// A segment's bytes: one record per seq, ids "e<seq>".
struct Built {
  std::string bytes;
  std::vector<std::uint64_t> offsets;
};

Built build(const std::vector<std::uint64_t>& seqs) {
  Built b;
  for (auto seq : seqs) {
    b.offsets.push_back(b.bytes.size());
    encode_record(b.bytes, seq, make_event("e" + std::to_string(seq)));
  }
  return b;
}

std::string flipped(std::string bytes, std::size_t at) {
  bytes[at] = static_cast<char>(bytes[at] ^ 0x5A);
  return bytes;
}

}  // namespace

TEST_CASE("the recovery scan finds the valid prefix and names what follows",
          "[journal][recovery]") {
  const Built five = build({1, 2, 3, 4, 5});
  const auto& at = five.offsets;
  struct Case {
    const char* name;
    std::string bytes;
    std::uint64_t first_seq;
    std::size_t records;  // intact, from the start
    std::uint64_t valid_bytes;
    FrameError stop;
    bool data_follows;
  };
  const std::vector<Case> cases{
      {"empty buffer", "", 1, 0, 0, FrameError::none, false},
      {"clean buffer", five.bytes, 1, 5, five.bytes.size(), FrameError::none, false},
      {"torn tail: last record cut mid-body", five.bytes.substr(0, five.bytes.size() - 20), 1, 4,
       at[4], FrameError::past_end, false},
      {"torn tail: a few header bytes", five.bytes.substr(0, at[4] + 5), 1, 4, at[4],
       FrameError::incomplete_header, false},
      {"short zero tail", five.bytes + std::string(5, '\0'), 1, 5, five.bytes.size(),
       FrameError::incomplete_header, false},
      // A zero run longer than a header reads as a zero-length record with
      // bytes behind it: treated as damage, so the tail is kept as a copy.
      {"long zero tail", five.bytes + std::string(64, '\0'), 1, 5, five.bytes.size(),
       FrameError::bad_length, true},
      {"flipped byte in the last record", flipped(five.bytes, at[4] + 40), 1, 4, at[4],
       FrameError::checksum_mismatch, false},
      {"flipped byte in a middle record, valid data after", flipped(five.bytes, at[2] + 30), 1, 2,
       at[2], FrameError::checksum_mismatch, true},
      {"flipped length in the first record", flipped(five.bytes, 0), 1, 0, 0,
       FrameError::checksum_mismatch, true},
      {"a gap in the seqs", build({1, 2, 4, 5}).bytes, 1, 2, at[2], FrameError::unexpected_seq,
       true},
      {"named for another first seq", five.bytes, 7, 0, 0, FrameError::unexpected_seq, true},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const auto scan = scan_segment(c.bytes, c.first_seq);
    CHECK(scan.offsets.size() == c.records);
    CHECK(scan.id_hashes.size() == c.records);
    CHECK(scan.valid_bytes == c.valid_bytes);
    CHECK(scan.stop == c.stop);
    CHECK(scan.clean() == (c.stop == FrameError::none));
    CHECK(scan.data_follows == c.data_follows);
    for (std::size_t i = 0; i < scan.offsets.size() && i < at.size(); ++i) {
      CHECK(scan.offsets[i] == at[i]);
      CHECK(scan.id_hashes[i] == id_hash("e" + std::to_string(c.first_seq + i)));
    }
  }
}
