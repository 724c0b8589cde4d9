// Where records are and which segments may go, over segments held in memory
// (record positions only; nothing here reads a file).
#include "hookd/journal/segment_list.h"

#include <catch2/catch.hpp>
#include <memory>
#include <optional>
#include <vector>

namespace {

using hookd::journal_detail::oldest_segment_deletable;
using hookd::journal_detail::Segment;
using hookd::journal_detail::SegmentList;
using hookd::journal_detail::SegmentPtr;

constexpr std::uint64_t kRecord = 100;  // bytes per record in these segments

SegmentPtr segment(std::uint64_t first_seq, std::uint64_t records) {
  auto s = std::make_shared<Segment>();
  s->first_seq = first_seq;
  for (std::uint64_t i = 0; i < records; ++i)
    s->offsets.push_back(i * kRecord);
  s->hashes.assign(records, 0);
  s->size = s->written = records * kRecord;
  return s;
}

// Seqs 1-4, 5-7 (a sealed segment), then a gap (8-9 were skipped as corrupt),
// 10-12 in the active segment.
SegmentList three_segments() {
  SegmentList list;
  list.add(segment(1, 4));
  list.add(segment(5, 3));
  list.add(segment(10, 3));
  return list;
}

struct SpanWant {
  std::uint64_t first_seq, count, begin, end;
};

}  // namespace

TEST_CASE("a durable seq is located in its segment", "[journal][segments]") {
  const SegmentList list = three_segments();
  CHECK(list.bytes() == 10 * kRecord);
  CHECK(list.first_retained_seq() == 1);
  struct Case {
    std::uint64_t seq, durable;
    std::optional<std::uint64_t> first_seq, offset;
  };
  const std::vector<Case> cases{
      {0, 12, std::nullopt, std::nullopt},
      {1, 12, 1, 0},
      {4, 12, 1, 3 * kRecord},
      {5, 12, 5, 0},
      {8, 12, std::nullopt, std::nullopt},
      {10, 12, 10, 0},
      {12, 12, 10, 2 * kRecord},
      {12, 11, std::nullopt, std::nullopt},
      {13, 20, std::nullopt, std::nullopt},
  };
  for (const auto& c : cases) {
    INFO("seq " << c.seq << " durable " << c.durable);
    const auto loc = list.locate(c.seq, c.durable);
    REQUIRE(loc.has_value() == c.first_seq.has_value());
    if (!loc) continue;
    CHECK(loc->segment->first_seq == *c.first_seq);
    CHECK(loc->offset == *c.offset);
    CHECK(loc->size == kRecord);
  }
}

TEST_CASE("reads are planned as spans of whole segments' records", "[journal][segments]") {
  const SegmentList list = three_segments();
  struct Case {
    const char* name;
    std::uint64_t after, max, durable;
    std::vector<SpanWant> want;
  };
  const std::vector<Case> cases{
      {"everything", 0, 100, 12, {{1, 4, 0, 400}, {5, 3, 0, 300}, {10, 3, 0, 300}}},
      {"limited by max", 0, 5, 12, {{1, 4, 0, 400}, {5, 1, 0, 100}}},
      {"from mid segment", 2, 2, 12, {{3, 2, 200, 400}}},
      {"across the gap", 6, 3, 12, {{7, 1, 200, 300}, {10, 2, 0, 200}}},
      {"starting in the gap", 8, 10, 12, {{10, 3, 0, 300}}},
      {"only what is durable", 9, 10, 11, {{10, 2, 0, 200}}},
      {"nothing new", 12, 10, 12, {}},
      {"max zero", 0, 0, 12, {}},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const auto spans = list.spans_after(c.after, c.max, c.durable);
    REQUIRE(spans.size() == c.want.size());
    for (std::size_t i = 0; i < spans.size(); ++i) {
      CHECK(spans[i].first_seq == c.want[i].first_seq);
      CHECK(spans[i].count == c.want[i].count);
      CHECK(spans[i].begin == c.want[i].begin);
      CHECK(spans[i].end == c.want[i].end);
    }
  }

  // Before the first retained seq (older segments deleted): starts there.
  SegmentList trimmed;
  trimmed.add(segment(5, 3));
  const auto spans = trimmed.spans_after(0, 1, 7);
  REQUIRE(spans.size() == 1);
  CHECK(spans[0].first_seq == 5);
}

TEST_CASE("the oldest segment goes when its consumers passed it or room is needed",
          "[journal][segments]") {
  const auto four = segment(1, 4);   // seqs 1-4
  const auto empty = segment(5, 0);  // nothing in it
  struct Case {
    const char* name;
    SegmentPtr oldest;
    std::optional<std::uint64_t> min_cursor;
    std::uint64_t bytes, limit, max;
    bool want;
  };
  const std::vector<Case> cases{
      {"empty segment", empty, 0, 0, 100, 1000, true},
      {"a consumer still needs its last record", four, 3, 0, 100, 1000, false},
      {"every consumer passed it", four, 4, 0, 100, 1000, true},
      {"consumers hold it even when full", four, 3, 5000, 100, 1000, false},
      {"no consumers, room left", four, std::nullopt, 800, 100, 1000, false},
      {"no consumers, active segment would not fit", four, std::nullopt, 901, 100, 1000, true},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    CHECK(oldest_segment_deletable(*c.oldest, c.min_cursor, c.bytes, c.limit, c.max) == c.want);
  }

  SegmentList list = three_segments();
  auto doomed = list.take_deletable(100, 100, 1000);  // everyone is done
  CHECK(doomed.size() == 2);                          // the active one stays
  CHECK(list.size() == 1);
  CHECK(list.bytes() == 3 * kRecord);
  CHECK(list.first_retained_seq() == 10);
  CHECK(list.take_deletable(100, 100, 1000).empty());
}

TEST_CASE("publishing what was written grows the segment and the total", "[journal][segments]") {
  SegmentList list;
  auto active = segment(1, 2);
  list.add(active);
  active->written += 250;
  CHECK(list.bytes() == 2 * kRecord);
  list.publish_written(*active);
  CHECK(active->size == 2 * kRecord + 250);
  CHECK(list.bytes() == 2 * kRecord + 250);
}
