#include "hookd/journal/record_catalog.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "hookd/core/event.h"
#include "hookd/core/log.h"
#include "hookd/journal/frame.h"

namespace hookd::journal_detail {

namespace {

// Ids forgotten per hold of the lock, so appenders never wait long for it.
constexpr std::size_t kIdChunk = 4096;

// Reads the record at `loc` into `buf` and decodes it (the views point into
// `buf`). An I/O error is an Error; a damaged record comes back as its
// FrameError.
Result<DecodedRecord> read_record(const SegmentList::Location& loc, std::string& buf) {
  buf.resize(loc.size);
  if (!pread_all(loc.segment->fd, buf.data(), buf.size(), loc.offset)) {
    return make_error(std::strerror(errno));
  }
  return decode_record(buf);
}

Result<std::vector<StoredEvent>> read_spans(const std::vector<SegmentList::Span>& spans) {
  std::vector<StoredEvent> out;
  std::string buf;
  for (const auto& span : spans) {
    buf.resize(span.end - span.begin);
    if (!pread_all(span.segment->fd, buf.data(), buf.size(), span.begin)) {
      return make_error("journal: read " + span.segment->path.string() + ": " +
                        std::strerror(errno));
    }
    std::size_t pos = 0;
    for (std::uint64_t k = 0; k < span.count; ++k) {
      const DecodedRecord decoded =
          decode_record(std::string_view(buf).substr(pos), span.first_seq + k);
      if (decoded.error != FrameError::none) {
        return make_error("journal: corrupt record in " + span.segment->path.string() + " at " +
                          std::to_string(span.begin + pos) + ": " + describe(decoded.error));
      }
      out.push_back(to_stored(decoded.record));
      pos += decoded.record.size;
    }
  }
  return out;
}

}  // namespace

RecordCatalog::RecordCatalog(std::chrono::milliseconds dedupe_window)
    : ids_(dedupe_window),
      dedupe_window_ms_(dedupe_window.count()),
      durable_counter_(std::make_shared<std::atomic<std::uint64_t>>(0)),
      reaper_([this](const Segment& segment) { forget_ids(segment); }) {}

void RecordCatalog::restore(SegmentList segments) {
  const std::int64_t now = now_unix_ms();
  const std::int64_t cutoff = dedupe_window_ms_ > 0 ? now - dedupe_window_ms_ : 0;
  {
    std::lock_guard lock(mu_);
    segments_ = std::move(segments);
    std::uint64_t next_seq = 1;
    for (const auto& s : segments_.segments()) {
      next_seq = std::max(next_seq, s->end_seq());
      for (std::size_t i = 0; i < s->count(); ++i) {
        // A record without an arrival time counts as arrived now.
        const std::int64_t at =
            i < s->arrivals_ms.size() && s->arrivals_ms[i] > 0 ? s->arrivals_ms[i] : now;
        // The oldest are not indexed at all rather than indexed and expired.
        if (ids_.size() == 0 && at < cutoff) continue;
        ids_.add(s->hashes[i], s->first_seq + i, at);
      }
      std::vector<std::uint64_t>().swap(s->hashes);
      std::vector<std::int64_t>().swap(s->arrivals_ms);
    }
    durable_seq_ = next_seq - 1;
    durable_counter_->store(durable_seq_);
    bytes_.store(segments_.bytes());
  }
  expire_ids(now);
}

std::vector<SegmentList::Location> RecordCatalog::locate_hash(std::uint64_t hash) const {
  std::vector<SegmentList::Location> out;
  std::lock_guard lock(mu_);
  for (std::uint64_t seq : ids_.candidates(hash)) {
    if (auto loc = segments_.locate(seq, durable_seq_)) out.push_back(std::move(*loc));
  }
  return out;
}

std::optional<StoredEvent> RecordCatalog::lookup(std::string_view id) const {
  std::string buf;
  for (const auto& loc : locate_hash(id_hash(id))) {
    auto read = read_record(loc, buf);
    if (!read) {
      log::error("journal: lookup read failed",
                 {{"segment", loc.segment->path.string()}, {"error", read.error().message}});
      continue;
    }
    if (read->error != FrameError::none) {
      log::error("journal: lookup found a corrupt record", {{"segment", loc.segment->path.string()},
                                                            {"offset", loc.offset},
                                                            {"reason", describe(read->error)}});
      continue;
    }
    if (read->record.id == id) return to_stored(read->record);
  }
  return std::nullopt;
}

Result<std::vector<StoredEvent>> RecordCatalog::read(std::uint64_t after_seq,
                                                     std::size_t max) const {
  std::vector<SegmentList::Span> spans;
  {
    std::lock_guard lock(mu_);
    spans = segments_.spans_after(after_seq, max, durable_seq_);
  }
  return read_spans(spans);
}

bool RecordCatalog::contains(std::uint64_t hash, std::string_view id) const {
  std::string buf;
  for (const auto& loc : locate_hash(hash)) {
    auto read = read_record(loc, buf);
    if (!read || read->error != FrameError::none) return true;
    if (read->record.id == id) return true;
  }
  return false;
}

void RecordCatalog::publish(const SegmentWriter& writer) {
  const std::int64_t now = now_unix_ms();
  std::lock_guard lock(mu_);
  for (const auto& s : writer.rolled())
    segments_.add(s);
  for (const SegmentWriter::Staged& s : writer.staged()) {
    s.segment->offsets.push_back(s.offset);
    ids_.add(s.hash, s.seq, now);
  }
  // The segment the batch started in and every one rolled since grew.
  segments_.publish_written(writer.start_segment());
  for (const auto& s : writer.rolled())
    segments_.publish_written(*s);
  durable_seq_ = writer.next_seq() - 1;
  durable_counter_->store(durable_seq_);
  bytes_.store(segments_.bytes());
}

std::size_t RecordCatalog::retire(std::optional<std::uint64_t> min_cursor,
                                  std::uint64_t segment_limit, std::uint64_t max_bytes) {
  std::vector<SegmentPtr> doomed;
  {
    std::lock_guard lock(mu_);
    doomed = segments_.take_deletable(min_cursor, segment_limit, max_bytes);
    bytes_.store(segments_.bytes());
  }
  for (const auto& segment : doomed)
    delete_segment_file(*segment);
  const std::size_t retired = doomed.size();
  // Forgetting a segment's ids (~100k for 64 MiB; 8-20 ms) and the close
  // that frees its blocks happen on the reaper's thread: on this one every
  // group commit waited behind them.
  reaper_.take(std::move(doomed));
  return retired;
}

// Drops the segment's ids in chunks, so appenders never wait long for the lock.
void RecordCatalog::forget_ids(const Segment& segment) {
  if (segment.count() == 0) return;
  while (true) {
    std::lock_guard lock(mu_);
    if (ids_.forget_through(segment.end_seq() - 1, kIdChunk) < kIdChunk) return;
  }
}

std::size_t RecordCatalog::expire_ids(std::int64_t now_ms) {
  std::size_t total = 0;
  while (true) {
    std::lock_guard lock(mu_);
    const std::size_t n = ids_.expire(now_ms, kIdChunk);
    total += n;
    if (n < kIdChunk) return total;
  }
}

std::size_t RecordCatalog::indexed_ids() const {
  std::lock_guard lock(mu_);
  return ids_.size();
}

RecordCatalog::Totals RecordCatalog::totals() const {
  std::lock_guard lock(mu_);
  return Totals{segments_.first_retained_seq(), durable_seq_, segments_.bytes(), segments_.size()};
}

std::uint64_t RecordCatalog::durable_seq() const {
  std::lock_guard lock(mu_);
  return durable_seq_;
}

std::uint64_t RecordCatalog::bytes() const {
  return bytes_.load();
}

SegmentPtr RecordCatalog::newest_segment() const {
  std::lock_guard lock(mu_);
  return segments_.back();
}

}  // namespace hookd::journal_detail
