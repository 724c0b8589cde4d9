#include "hookd/journal/segment_list.h"

#include <algorithm>
#include <utility>

#include "hookd/core/log.h"

namespace hookd::journal_detail {

namespace {

// The segment that holds `seq` when it is retained: the last one starting at
// or before it.
std::vector<SegmentPtr>::const_iterator last_starting_at_or_before(
    const std::vector<SegmentPtr>& segments, std::uint64_t seq) {
  auto it =
      std::upper_bound(segments.begin(), segments.end(), seq,
                       [](std::uint64_t s, const SegmentPtr& seg) { return s < seg->first_seq; });
  return it == segments.begin() ? segments.end() : it - 1;
}

}  // namespace

void SegmentList::add(SegmentPtr segment) {
  bytes_ += segment->size;
  segments_.push_back(std::move(segment));
}

void SegmentList::publish_written(Segment& segment) {
  bytes_ += segment.written - segment.size;
  segment.size = segment.written;
}

std::uint64_t SegmentList::first_retained_seq() const {
  for (const auto& s : segments_) {
    if (s->count() > 0) return s->first_seq;
  }
  return 0;
}

std::optional<SegmentList::Location> SegmentList::locate(std::uint64_t seq,
                                                         std::uint64_t durable_seq) const {
  auto it = last_starting_at_or_before(segments_, seq);
  if (it == segments_.end()) return std::nullopt;
  const SegmentPtr& seg = *it;
  if (seq >= seg->end_seq() || seq > durable_seq) return std::nullopt;
  const std::size_t i = seq - seg->first_seq;
  return Location{seg, seg->offsets[i], seg->record_end(i) - seg->offsets[i]};
}

std::vector<SegmentList::Span> SegmentList::spans_after(std::uint64_t after_seq, std::size_t max,
                                                        std::uint64_t durable_seq) const {
  std::vector<Span> spans;
  std::uint64_t seq = after_seq + 1;
  std::size_t left = max;
  auto it = last_starting_at_or_before(segments_, seq);
  if (it == segments_.end()) it = segments_.begin();
  for (; it != segments_.end() && left > 0 && seq <= durable_seq; ++it) {
    const Segment& seg = **it;
    if (seq >= seg.end_seq()) continue;
    seq = std::max(seq, seg.first_seq);  // before the first retained, or a gap
    const std::uint64_t last = std::min(seg.end_seq() - 1, durable_seq);
    if (seq > last) break;
    const std::uint64_t n = std::min<std::uint64_t>(left, last - seq + 1);
    const std::size_t i = seq - seg.first_seq;
    spans.push_back(Span{*it, seq, n, seg.offsets[i], seg.record_end(i + n - 1)});
    seq += n;
    left -= n;
  }
  return spans;
}

bool oldest_segment_deletable(const Segment& oldest, std::optional<std::uint64_t> min_cursor,
                              std::uint64_t journal_bytes, std::uint64_t segment_limit,
                              std::uint64_t max_bytes) {
  if (oldest.count() == 0) return true;
  if (min_cursor) return *min_cursor >= oldest.end_seq() - 1;
  return journal_bytes + segment_limit > max_bytes;
}

std::vector<SegmentPtr> SegmentList::take_deletable(std::optional<std::uint64_t> min_cursor,
                                                    std::uint64_t segment_limit,
                                                    std::uint64_t max_bytes) {
  std::vector<SegmentPtr> doomed;
  while (segments_.size() > 1 && oldest_segment_deletable(*segments_.front(), min_cursor, bytes_,
                                                          segment_limit, max_bytes)) {
    bytes_ -= segments_.front()->size;
    doomed.push_back(std::move(segments_.front()));
    segments_.erase(segments_.begin());
  }
  return doomed;
}

Result<SegmentList> recover_segment_list(const std::filesystem::path& dir) {
  std::error_code ec;
  std::vector<std::pair<std::uint64_t, std::filesystem::path>> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (auto first = parse_segment_name(name)) {
      files.emplace_back(*first, entry.path());
    } else if (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) {
      std::filesystem::remove(entry.path(), ec);  // an interrupted cursor write
    }
  }
  if (ec) return make_error("journal: cannot list " + dir.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());

  SegmentList list;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto& [first_seq, path] = files[i];
    if (first_seq == 0) {
      log::error("journal: ignoring segment with seq 0", {{"segment", path.string()}});
      continue;
    }
    if (!list.empty() && first_seq < list.back()->end_seq()) {
      // Overlapping seqs cannot come from this code; keep the file for a human.
      log::error("journal: ignoring segment that overlaps the previous one",
                 {{"segment", path.string()}});
      continue;
    }
    const bool is_last = i + 1 == files.size();
    auto segment = open_segment(path, first_seq, is_last);
    if (!segment) return segment.error();
    if (segment.value()->count() == 0 && segment.value()->size == 0 && !is_last) {
      std::filesystem::remove(path, ec);  // an empty sealed segment holds nothing
      continue;
    }
    list.add(std::move(segment).value());
  }
  return list;
}

}  // namespace hookd::journal_detail
