#include "hookd/journal/segment_writer.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "hookd/journal/frame.h"

namespace hookd::journal_detail {

namespace {

constexpr std::size_t kFlushBytes = 4u << 20;  // write a batch in pieces of this size

}  // namespace

SegmentWriter::SegmentWriter(std::filesystem::path dir, std::uint64_t segment_limit,
                             FsyncMode fsync, Histogram& fsync_seconds)
    : dir_(std::move(dir)),
      segment_limit_(segment_limit),
      fsync_(fsync),
      fsync_seconds_(fsync_seconds) {}

void SegmentWriter::resume(SegmentPtr active, std::uint64_t next_seq) {
  active_ = std::move(active);
  write_offset_ = active_->size;
  next_seq_ = next_seq;
}

void SegmentWriter::begin_batch() {
  start_segment_ = active_;
  start_offset_ = write_offset_;
  first_seq_ = next_seq_;
  active_records_ = active_->count();
  staged_.clear();
  rolled_.clear();
  buffer_.clear();
  error_.clear();
}

bool SegmentWriter::stage(const Event& e, std::uint64_t id_hash) {
  const std::size_t size = encoded_size(e);
  if (active_records_ > 0 && write_offset_ + buffer_.size() + size > segment_limit_) {
    if (!write_buffer() || !sync_active() || !roll()) return false;
  } else if (buffer_.size() >= kFlushBytes) {
    if (!write_buffer()) return false;  // bounded memory; still one fsync
  }
  staged_.push_back(Staged{next_seq_, id_hash, active_.get(), write_offset_ + buffer_.size()});
  encode_record(buffer_, next_seq_, e);
  ++next_seq_;
  ++active_records_;
  return true;
}

bool SegmentWriter::finish() {
  const bool ok = staged_.empty() || (write_buffer() && sync_active());
  release_buffer();
  return ok;
}

void SegmentWriter::abandon() {
  release_buffer();
  if (rolled_.empty() && ::ftruncate(start_segment_->fd, static_cast<off_t>(start_offset_)) == 0) {
    start_segment_->written = start_offset_;
  }
  next_seq_ = first_seq_;
}

bool SegmentWriter::write_buffer() {
  if (buffer_.empty()) return true;
  if (!pwrite_all(active_->fd, buffer_.data(), buffer_.size(), write_offset_)) {
    error_ = "write " + active_->path.string() + ": " + std::strerror(errno);
    return false;
  }
  write_offset_ += buffer_.size();
  active_->written = write_offset_;
  buffer_.clear();
  return true;
}

bool SegmentWriter::sync_active() {
  if (fsync_ == FsyncMode::off) return true;
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  const bool synced = ::fdatasync(active_->fd) == 0;
  last_fsync_ = clock::now() - t0;
  fsync_seconds_.observe(std::chrono::duration<double>(last_fsync_).count());
  if (!synced) error_ = "fdatasync " + active_->path.string() + ": " + std::strerror(errno);
  return synced;
}

// Seals the active segment (already synced) and starts a new one named by
// the next seq.
bool SegmentWriter::roll() {
  auto created = create_segment(dir_, next_seq_, fsync_ != FsyncMode::off);
  if (!created) {
    error_ = created.error().message;
    return false;
  }
  active_ = std::move(created).value();
  write_offset_ = 0;
  active_records_ = 0;
  rolled_.push_back(active_);
  return true;
}

void SegmentWriter::release_buffer() {
  buffer_.clear();
  if (buffer_.capacity() > 2 * kFlushBytes) std::string().swap(buffer_);
}

}  // namespace hookd::journal_detail
