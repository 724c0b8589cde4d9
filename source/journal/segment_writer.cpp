#include "hookd/journal/segment_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "hookd/core/durable_file.h"
#include "hookd/core/log.h"
#include "hookd/journal/frame.h"

namespace hookd::journal_detail {

namespace {

constexpr std::size_t kFlushBytes = 4u << 20;          // write a batch in pieces of this size
constexpr const char* kProbeFile = "space-probe.tmp";  // *.tmp: removed by recovery

}  // namespace

SegmentWriter::SegmentWriter(std::filesystem::path dir, std::uint64_t segment_limit,
                             FsyncMode fsync, bool preallocate, JournalMetrics& metrics)
    : dir_(std::move(dir)),
      segment_limit_(segment_limit),
      fsync_(fsync),
      preallocate_(preallocate),
      metrics_(metrics) {}

void SegmentWriter::resume(SegmentPtr active, std::uint64_t next_seq) {
  active_ = std::move(active);
  write_offset_ = active_->size;
  next_seq_ = next_seq;
  if (const int e = preallocate(active_->fd); e != 0) {
    log::warn("journal: cannot preallocate the active segment",
              {{"segment", active_->path.string()}, {"error", std::strerror(e)}});
  }
  spare_ =
      std::make_unique<SegmentSpare>(dir_, segment_limit_, preallocate_, fsync_ != FsyncMode::off);
}

void SegmentWriter::begin_batch() {
  start_segment_ = active_;
  start_offset_ = write_offset_;
  first_seq_ = next_seq_;
  active_records_ = active_->count();
  staged_.clear();
  rolled_.clear();
  buffer_.clear();
  failure_ = Failure{};
}

bool SegmentWriter::stage(const Event& e, std::uint64_t id_hash) {
  const std::size_t size = encoded_size(e);
  if (active_records_ > 0 && write_offset_ + buffer_.size() + size > segment_limit_) {
    if (!write_buffer() || !sync_active() || !roll()) return false;
  } else if (buffer_.size() >= kFlushBytes) {
    if (!write_buffer()) return false;  // bounded memory; still one fsync
  }
  staged_.push_back(Staged{next_seq_, id_hash, active_.get(), write_offset_ + buffer_.size()});
  encode_record(buffer_, next_seq_, e, size);
  ++next_seq_;
  ++active_records_;
  return true;
}

bool SegmentWriter::finish() {
  const bool ok = staged_.empty() || (write_buffer() && sync_active());
  release_buffer();
  // Half full: time enough for the spare's thread to have the next file
  // ready, and an idle journal never holds two segments' blocks.
  if (ok && spare_ && write_offset_ >= segment_limit_ / 2) spare_->request();
  return ok;
}

bool SegmentWriter::abandon() {
  release_buffer();
  staged_.clear();
  undo_rolled_.insert(undo_rolled_.end(), rolled_.begin(), rolled_.end());
  rolled_.clear();
  active_ = start_segment_;
  write_offset_ = start_offset_;
  next_seq_ = first_seq_;
  active_records_ = start_segment_->count();
  undo_pending_ = true;
  return undo();
}

// The batch's bytes leave the disk for good: a segment it created is emptied
// (and that synced) before it is unlinked, so even a lost unlink leaves
// nothing to recover; the segment it started in is cut back and synced.
bool SegmentWriter::undo() {
  const bool sync = fsync_ != FsyncMode::off;
  bool ok = true;
  bool removed = false;
  for (auto it = undo_rolled_.begin(); it != undo_rolled_.end();) {
    Segment& segment = **it;
    if (::ftruncate(segment.fd, 0) != 0) {
      ok = fail("truncate", segment.path);
    } else if (sync && ::fsync(segment.fd) != 0) {
      ok = fail("sync", segment.path);
    } else if (::unlink(segment.path.c_str()) != 0 && errno != ENOENT) {
      ok = fail("remove", segment.path);
    } else {
      it = undo_rolled_.erase(it);
      removed = true;
      continue;
    }
    ++it;
  }
  if (removed && sync) fsync_dir(dir_);  // best effort: the files are empty already
  Segment& start = *start_segment_;
  if (::ftruncate(start.fd, static_cast<off_t>(start_offset_)) != 0) {
    ok = fail("truncate", start.path);
  } else if (sync && ::fsync(start.fd) != 0) {
    ok = fail("sync", start.path);
  } else {
    start.written = start_offset_;
    preallocate(start.fd);  // best effort; probe() checks the space
  }
  undo_pending_ = !ok;
  return ok;
}

bool SegmentWriter::probe() {
  if (undo_pending_ && !undo()) return false;
  // Room for the next segment, a write and an fdatasync: what the next
  // batches will need. On a scratch file, so nothing of the journal changes.
  const std::filesystem::path path = dir_ / kProbeFile;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail("create", path);
  bool ok = true;
  static const char kZeros[4096] = {};
  if (const int e = preallocate(fd); e != 0) {
    errno = e;
    ok = fail("allocate", path);
  } else if (!pwrite_all(fd, kZeros, sizeof kZeros, 0)) {
    ok = fail("write", path);
  } else if (::fdatasync(fd) != 0) {
    ok = fail("sync", path);
  }
  ::close(fd);
  ::unlink(path.c_str());
  if (!ok) return false;
  // The active segment lost its preallocated tail when it was cut back.
  if (const int e = preallocate(active_->fd); e != 0) {
    errno = e;
    return fail("allocate", active_->path);
  }
  return true;
}

bool SegmentWriter::write_buffer() {
  if (buffer_.empty()) return true;
  if (!pwrite_all(active_->fd, buffer_.data(), buffer_.size(), write_offset_)) {
    return fail("write", active_->path);
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
  const int error_number = errno;
  last_fsync_ = clock::now() - t0;
  metrics_.fsync_seconds.observe(std::chrono::duration<double>(last_fsync_).count());
  if (synced) return true;
  errno = error_number;
  return fail("sync", active_->path);
}

// Seals the active segment (already synced) and starts a new one named by
// the next seq, its blocks reserved: on a full disk this is where it shows.
bool SegmentWriter::roll() {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  bool reserved = false;
  auto created = next_segment(reserved);
  if (!created) {
    failure_ = Failure{"create", errno, created.error().message};
    return false;
  }
  SegmentPtr segment = std::move(created).value();
  rolled_.push_back(segment);  // abandon() removes it, whatever fails next
  if (!reserved) {
    if (const int e = preallocate(segment->fd); e != 0) {
      errno = e;
      return fail("allocate", segment->path);
    }
  }
  active_ = std::move(segment);
  write_offset_ = 0;
  active_records_ = 0;
  metrics_.roll_seconds.observe(std::chrono::duration<double>(clock::now() - t0).count());
  return true;
}

Result<SegmentPtr> SegmentWriter::next_segment(bool& reserved) {
  const bool sync = fsync_ != FsyncMode::off;
  if (auto spare = spare_ ? spare_->take() : std::nullopt) {
    auto adopted = adopt_segment(dir_, next_seq_, spare->fd, spare->path, sync);
    if (adopted) {
      metrics_.rolls_spare.inc();
      reserved = spare->preallocated;  // if not, roll() reserves it (or cannot)
      return adopted;
    }
    log::warn("journal: cannot use the spare segment, creating one",
              {{"error", adopted.error().message}});
  }
  metrics_.rolls_created.inc();
  return create_segment(dir_, next_seq_, sync);
}

void SegmentWriter::release_buffer() {
  buffer_.clear();
  if (buffer_.capacity() > 2 * kFlushBytes) std::string().swap(buffer_);
}

bool SegmentWriter::fail(const char* op, const std::filesystem::path& path) {
  const int error_number = errno;
  failure_ = Failure{op, error_number,
                     std::string(op) + " " + path.string() + ": " + std::strerror(error_number)};
  return false;
}

int SegmentWriter::preallocate(int fd) {
  if (!preallocate_) return 0;
  const int e = preallocate_file(fd, segment_limit_);
  if (e == EOPNOTSUPP) {
    preallocate_ = false;
    log::info("journal: the filesystem cannot preallocate, segments grow as they are written",
              {{"dir", dir_.string()}});
    return 0;
  }
  return e;
}

}  // namespace hookd::journal_detail
