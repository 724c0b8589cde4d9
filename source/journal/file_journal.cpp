// The embedded file journal: CRC32C-framed records (frame.h) in append-only
// segment files (segment.h), written and fsynced by one journal thread with
// group commit (journal_thread.h, segment_writer.h), read through the record
// catalog (record_catalog.h), with named consumer cursors (cursors.h).
//
// Durability design (why it is shaped like this):
// - Every mutation of the on-disk state (writes, fsyncs, segment roll and
//   deletion, the cursor file in the background) happens on the journal
//   thread, so callers never block on the disk and there is exactly one
//   writer per segment file. The one exception is a consumer that is new or
//   dropped: its cursor is written by the caller before it returns.
// - append() only checks limits and queues. The journal thread assigns seqs,
//   drops duplicates, encodes and CRCs, writes the whole batch with one pwrite
//   per segment and one fdatasync, and only then publishes the records to
//   readers and runs callbacks: a record is visible (read/lookup) iff durable.
// - FsyncMode::batch commits whatever is queued as soon as the previous fsync
//   has finished: under load the fsync itself is the batching window, and an
//   idle journal never delays a lone append. A fixed "wait batch_window after
//   the first append" only adds latency (and, for synchronous clients, costs
//   throughput: N/(fsync+window) instead of N/fsync). batch_window is kept as
//   a bounded linger for the returning herd of a multi-call batch
//   (group_commit_linger). Worst-case latency: linger + 2 fsyncs.
// - After a failed write or fsync the page cache no longer tells us what is on
//   disk, so the journal stops accepting (writable=false) until reopened.
// - New segment files and the cursor file's rename are followed by an fsync of
//   the directory, so a crash cannot lose a file whose records were acked.
// - Three locks, each for one kind of state and none held while taking
//   another except journal thread -> catalog or cursors: the queue (journal
//   thread), the durable records (catalog) and the cursors.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "hookd/core/durable_file.h"
#include "hookd/core/log.h"
#include "hookd/core/metrics.h"
#include "hookd/journal/cursors.h"
#include "hookd/journal/journal.h"
#include "hookd/journal/journal_metrics.h"
#include "hookd/journal/journal_thread.h"
#include "hookd/journal/record_catalog.h"
#include "hookd/journal/segment.h"
#include "hookd/journal/segment_list.h"

namespace hookd {

namespace {

using namespace journal_detail;

constexpr const char* kLagGauge = "hookd_journal_consumer_lag";

class FileJournal final : public Journal {
 public:
  explicit FileJournal(const JournalOptions& options)
      : options_(options),
        cursors_(options.dir / "cursors.json"),
        thread_(options, catalog_, cursors_, metrics_) {}

  ~FileJournal() override {
    close();
    if (lock_fd_ >= 0) ::close(lock_fd_);
  }

  Status open();

  void append(std::vector<Event> events, AppendCallback done) override {
    thread_.submit(std::move(events), std::move(done));
  }
  std::optional<StoredEvent> lookup(std::string_view id) override { return catalog_.lookup(id); }
  Result<std::vector<StoredEvent>> read(std::uint64_t after_seq, std::size_t max) override {
    return catalog_.read(after_seq, max);
  }
  std::uint64_t register_consumer(const std::string& name) override;
  std::uint64_t cursor(std::string_view name) const override { return cursors_.cursor(name); }
  void commit(std::string_view name, std::uint64_t seq) override;
  void unregister_consumer(const std::string& name) override;
  void on_durable(std::function<void(std::uint64_t)> listener) override {
    thread_.on_durable(std::move(listener));
  }
  JournalStats stats() const override;
  void close() override;

 private:
  const JournalOptions options_;
  JournalMetrics metrics_;
  std::mutex close_mu_;
  bool closed_ = false;
  int lock_fd_ = -1;
  RecordCatalog catalog_;
  ConsumerCursors cursors_;
  JournalThread thread_;  // last: stopped before the state it uses goes
};

Status FileJournal::open() {
  std::error_code ec;
  const bool created = std::filesystem::create_directories(options_.dir, ec);
  if (ec)
    return make_error("journal: cannot create " + options_.dir.string() + ": " + ec.message());
  if (created && options_.dir.has_parent_path()) fsync_dir(options_.dir.parent_path());

  // Two processes appending to the same files would interleave records.
  lock_fd_ = ::open((options_.dir / "LOCK").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0)
    return make_error(std::string("journal: cannot open lock file: ") + std::strerror(errno));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return make_error("journal: " + options_.dir.string() + " is in use by another process");
  }

  auto recovered = recover_segment_list(options_.dir);
  if (!recovered) return recovered.error();
  SegmentList segments = std::move(recovered).value();
  std::uint64_t next_seq = 1;
  for (const auto& s : segments.segments())
    next_seq = std::max(next_seq, s->end_seq());
  // Append to the last segment; start a fresh one when there is none.
  if (segments.empty()) {
    auto first = create_segment(options_.dir, next_seq, options_.fsync != FsyncMode::off);
    if (!first) return make_error("journal: " + first.error().message);
    segments.add(std::move(first).value());
  }
  catalog_.restore(std::move(segments));
  cursors_.load(catalog_.durable_seq());

  const auto totals = catalog_.totals();
  log::info("journal opened", {{"dir", options_.dir.string()},
                               {"segments", totals.segments},
                               {"first_seq", totals.first_seq},
                               {"last_seq", totals.last_seq},
                               {"bytes", totals.bytes}});
  thread_.start(catalog_.newest_segment(), next_seq);
  return Ok{};
}

std::uint64_t FileJournal::register_consumer(const std::string& name) {
  // A new consumer starts with what arrives from now on (hooks turned on or
  // an endpoint added later do not replay history).
  auto registration = cursors_.register_consumer(name, catalog_.durable_seq());
  if (registration.newly_held) thread_.wake();
  auto cursor = registration.value;
  auto last = catalog_.durable_seq_counter();
  metrics().gauge_callback(kLagGauge, "Events a consumer has not finished", {{"consumer", name}},
                           [cursor, last] {
                             const auto l = last->load(), c = cursor->load();
                             return l > c ? static_cast<double>(l - c) : 0.0;
                           });
  return registration.cursor;
}

void FileJournal::commit(std::string_view name, std::uint64_t seq) {
  if (cursors_.advance(name, std::min(seq, catalog_.durable_seq()))) thread_.wake();
}

void FileJournal::unregister_consumer(const std::string& name) {
  if (!cursors_.unregister(name)) return;
  metrics().remove_gauge_callback(kLagGauge, {{"consumer", name}});
  thread_.wake();
}

JournalStats FileJournal::stats() const {
  const auto totals = catalog_.totals();
  JournalStats s;
  s.first_seq = totals.first_seq;
  s.last_seq = totals.last_seq;
  s.bytes = totals.bytes;
  s.segments = totals.segments;
  s.pending_bytes = thread_.pending_bytes();
  s.writable = thread_.writable();
  return s;
}

void FileJournal::close() {
  std::lock_guard lock(close_mu_);
  if (closed_) return;
  // From a callback, the thread cannot join itself: it drains and stops on
  // its own, and the destructor joins it.
  if (!thread_.stop()) return;
  closed_ = true;
  if (lock_fd_ >= 0) {
    ::close(lock_fd_);  // lets this process reopen the directory
    lock_fd_ = -1;
  }
}

}  // namespace

Result<std::unique_ptr<Journal>> open_file_journal(const JournalOptions& options) {
  if (options.dir.empty()) return make_error("journal: no directory given");
  auto journal = std::make_unique<FileJournal>(options);
  if (auto st = journal->open(); !st) return st.error();
  return std::unique_ptr<Journal>(std::move(journal));
}

}  // namespace hookd
