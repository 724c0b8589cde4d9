#include "hookd/journal/journal_thread.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "hookd/core/log.h"
#include "hookd/journal/commit_policy.h"
#include "hookd/journal/frame.h"
#include "hookd/journal/id_index.h"

namespace hookd::journal_detail {

namespace {

constexpr auto kPersistInterval = std::chrono::milliseconds(100);

// Each segment holds at most half the journal, so that retention can always
// free room by deleting a sealed one.
std::uint64_t segment_limit(const JournalOptions& options) {
  return std::max<std::uint64_t>(
      1, std::min(options.segment_bytes, std::max<std::uint64_t>(1, options.max_bytes / 2)));
}

}  // namespace

JournalThread::JournalThread(const JournalOptions& options, RecordCatalog& catalog,
                             ConsumerCursors& cursors, JournalMetrics& metrics)
    : options_(options),
      segment_limit_(segment_limit(options)),
      catalog_(catalog),
      cursors_(cursors),
      metrics_(metrics),
      writer_(options.dir, segment_limit_, options.fsync, metrics.fsync_seconds) {}

JournalThread::~JournalThread() {
  stop();
}

void JournalThread::start(SegmentPtr active, std::uint64_t next_seq) {
  writer_.resume(std::move(active), next_seq);
  publish_gauges();
  thread_ = std::thread([this] { run(); });
}

void JournalThread::submit(std::vector<Event> events, AppendCallback done) {
  std::uint64_t bytes = 0;
  for (const auto& e : events)
    bytes += encoded_size(e);
  std::optional<AppendResult> answer;
  {
    std::lock_guard lock(mu_);
    answer = answer_at_once(events.size(), bytes,
                            AppendGate{closing_, writable_, catalog_.bytes(), options_.max_bytes,
                                       pending_bytes_, options_.max_pending_bytes});
    if (!answer) {
      pending_bytes_ += bytes;
      metrics_.pending_bytes.set(static_cast<double>(pending_bytes_));
      queue_.push_back(PendingAppend{std::move(events), std::move(done), bytes});
      cv_.notify_one();
      return;
    }
  }
  metrics_.count_rejection(answer->code);
  if (done) done(std::move(*answer));
}

void JournalThread::wake() {
  std::lock_guard lock(mu_);
  retention_due_ = true;
  cv_.notify_one();
}

void JournalThread::on_durable(std::function<void(std::uint64_t)> listener) {
  std::lock_guard lock(listeners_mu_);
  listeners_.push_back(std::move(listener));
}

std::uint64_t JournalThread::pending_bytes() const {
  std::lock_guard lock(mu_);
  return pending_bytes_;
}

bool JournalThread::writable() const {
  std::lock_guard lock(mu_);
  return writable_;
}

bool JournalThread::stop() {
  std::lock_guard stop_lock(stop_mu_);
  {
    std::lock_guard lock(mu_);
    closing_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) {
    if (thread_.get_id() == std::this_thread::get_id()) return false;
    thread_.join();
  }
  return true;
}

void JournalThread::run() {
  using clock = std::chrono::steady_clock;
  std::unique_lock lock(mu_);
  while (true) {
    if (queue_.empty()) {
      if (closing_) break;
      if (cursors_.dirty() || retention_due_) {
        cv_.wait_until(lock, cursors_.last_persist() + kPersistInterval,
                       [&] { return !queue_.empty() || closing_; });
      } else {
        cv_.wait(lock,
                 [&] { return !queue_.empty() || closing_ || cursors_.dirty() || retention_due_; });
      }
      if (queue_.empty()) {
        lock.unlock();
        housekeeping(false);
        lock.lock();
        continue;
      }
    }

    const auto linger =
        group_commit_linger(options_.fsync, options_.batch_window, last_batch_calls_, queue_.size(),
                            writer_.last_fsync(), closing_);
    if (linger > clock::duration::zero()) {
      cv_.wait_until(lock, clock::now() + linger,
                     [&] { return queue_.size() >= last_batch_calls_ || closing_; });
    }

    std::deque<PendingAppend> batch;
    if (options_.fsync == FsyncMode::always) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    } else {
      batch.swap(queue_);
    }
    lock.unlock();
    commit_batch(batch);
    housekeeping(false);
    lock.lock();
  }
  lock.unlock();
  housekeeping(true);
}

void JournalThread::commit_batch(std::deque<PendingAppend>& batch) {
  std::uint64_t batch_bytes = 0;
  for (const auto& call : batch)
    batch_bytes += call.bytes;
  std::size_t events_total = 0, duplicates = 0;
  std::vector<std::vector<bool>> flags(batch.size());
  std::unordered_set<std::string_view> batch_ids;
  writer_.begin_batch();
  bool ok = true;
  for (std::size_t c = 0; c < batch.size() && ok; ++c) {
    const std::vector<Event>& events = batch[c].events;
    flags[c].assign(events.size(), false);
    for (std::size_t i = 0; i < events.size() && ok; ++i) {
      const Event& e = events[i];
      ++events_total;
      const std::uint64_t h = id_hash(e.id);
      if (batch_ids.count(e.id) || catalog_.contains(h, e.id)) {
        flags[c][i] = true;
        ++duplicates;
        continue;
      }
      ok = writer_.stage(e, h);
      if (ok) batch_ids.insert(e.id);
    }
  }
  ok = ok && writer_.finish();
  if (ok) {
    catalog_.publish(writer_);
    std::lock_guard lock(mu_);
    pending_bytes_ -= batch_bytes;
  } else {
    fail_batch(batch_bytes);
  }
  last_batch_calls_ = batch.size();

  if (ok) {
    metrics_.appended.inc(static_cast<double>(writer_.staged().size()));
    if (duplicates) metrics_.duplicates.inc(static_cast<double>(duplicates));
    metrics_.batch_events.observe(static_cast<double>(events_total));
  } else {
    metrics_.rejected_failed.inc(static_cast<double>(batch.size()));
  }
  publish_gauges();
  answer_calls(batch, flags, ok);
  if (ok && !writer_.staged().empty()) notify_durable(writer_.next_seq() - 1);
}

void JournalThread::fail_batch(std::uint64_t batch_bytes) {
  log::error("journal: write failed, the journal stops accepting events",
             {{"dir", options_.dir.string()}, {"error", writer_.error()}});
  writer_.abandon();
  catalog_.add_segments(writer_.rolled());
  std::lock_guard lock(mu_);
  writable_ = false;
  pending_bytes_ -= batch_bytes;
}

// A throwing callback must not stop the journal thread.
void JournalThread::answer_calls(std::deque<PendingAppend>& batch,
                                 std::vector<std::vector<bool>>& flags, bool ok) {
  for (std::size_t c = 0; c < batch.size(); ++c) {
    if (!batch[c].done) continue;
    AppendResult r;
    if (ok) {
      r.duplicate = std::move(flags[c]);
    } else {
      r.code = AppendResult::Code::failed;
      r.message = "journal write failed: " + writer_.error();
    }
    r.duplicate.resize(batch[c].events.size(), false);
    try {
      batch[c].done(std::move(r));
    } catch (const std::exception& ex) {
      log::error("journal: append callback threw", {{"error", ex.what()}});
    } catch (...) {
      log::error("journal: append callback threw");
    }
  }
}

void JournalThread::notify_durable(std::uint64_t last_seq) {
  std::lock_guard lock(listeners_mu_);
  for (auto& listener : listeners_)
    listener(last_seq);
}

void JournalThread::housekeeping(bool force_persist) {
  {
    std::lock_guard lock(mu_);
    retention_due_ = false;
  }
  // Cheap when nothing is deletable; bytes changed after every commit.
  if (catalog_.retire(cursors_.min_registered(), segment_limit_, options_.max_bytes) > 0) {
    publish_gauges();
  }
  const auto now = std::chrono::steady_clock::now();
  if (cursors_.dirty() && (force_persist || now - cursors_.last_persist() >= kPersistInterval)) {
    cursors_.persist();
  }
}

void JournalThread::publish_gauges() {
  const auto totals = catalog_.totals();
  metrics_.bytes.set(static_cast<double>(totals.bytes));
  metrics_.segments.set(static_cast<double>(totals.segments));
  metrics_.pending_bytes.set(static_cast<double>(pending_bytes()));
  metrics_.last_seq.set(static_cast<double>(totals.last_seq));
}

}  // namespace hookd::journal_detail
