#include "hookd/journal/journal_thread.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "hookd/core/event.h"
#include "hookd/core/log.h"
#include "hookd/journal/commit_policy.h"
#include "hookd/journal/frame.h"
#include "hookd/journal/id_index.h"

namespace hookd::journal_detail {

namespace {

constexpr auto kPersistInterval = std::chrono::milliseconds(100);
// wake_at_ while the thread is not waiting: it looks at the queue anyway.
constexpr std::size_t kNoWake = std::numeric_limits<std::size_t>::max();

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
      writer_(options.dir, segment_limit_, options.fsync, options.preallocate, metrics) {}

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
    answer = answer_at_once(
        events.size(), bytes,
        AppendGate{closing_, !outage_.active(), catalog_.bytes(), options_.max_bytes,
                   pending_bytes_, options_.max_pending_bytes, outage_.code(), outage_.reason(),
                   outage_.until_probe(WriteOutage::Clock::now())});
    if (!answer) {
      pending_bytes_ += bytes;
      metrics_.pending_bytes.set(static_cast<double>(pending_bytes_));
      queue_.push_back(PendingAppend{std::move(events), std::move(done), bytes});
      if (queue_.size() >= wake_at_) cv_.notify_one();
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
  return !outage_.active();
}

std::string JournalThread::unwritable_reason() const {
  std::lock_guard lock(mu_);
  return outage_.active() ? outage_.reason() : std::string();
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
    if (outage_.active()) {
      if (closing_ && queue_.empty()) break;
      run_outage(lock);
      continue;
    }
    if (queue_.empty()) {
      if (closing_) break;
      wake_at_ = 1;
      if (cursors_.dirty() || retention_due_) {
        cv_.wait_until(lock, cursors_.last_persist() + kPersistInterval,
                       [&] { return !queue_.empty() || closing_; });
      } else {
        cv_.wait(lock,
                 [&] { return !queue_.empty() || closing_ || cursors_.dirty() || retention_due_; });
      }
      wake_at_ = kNoWake;
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
      wake_at_ = last_batch_calls_;
      cv_.wait_until(lock, clock::now() + linger,
                     [&] { return queue_.size() >= last_batch_calls_ || closing_; });
      wake_at_ = kNoWake;
    }

    if (options_.fsync == FsyncMode::always) {
      batch_.push_back(std::move(queue_.front()));
      queue_.pop_front();
    } else {
      batch_.swap(queue_);
    }
    lock.unlock();
    commit_batch(batch_);
    batch_.clear();
    housekeeping(false);
    lock.lock();
  }
  lock.unlock();
  housekeeping(true);
}

void JournalThread::run_outage(std::unique_lock<std::mutex>& lock) {
  if (!queue_.empty()) {
    // Queued before the failure: refused like every append since.
    std::deque<PendingAppend> refused;
    refused.swap(queue_);
    AppendResult refusal;
    refusal.code = outage_.code();
    refusal.message = outage_.reason();
    refusal.retry_after = outage_.until_probe(WriteOutage::Clock::now());
    for (const auto& call : refused)
      pending_bytes_ -= call.bytes;
    lock.unlock();
    std::vector<std::vector<bool>> flags(refused.size());
    for (std::size_t c = 0; c < refused.size(); ++c)
      metrics_.count_rejection(refusal.code);
    answer_calls(refused, flags, &refusal);
    publish_gauges();
    lock.lock();
    return;
  }
  const auto now = WriteOutage::Clock::now();
  if (outage_.probe_due(now)) {
    lock.unlock();
    probe_disk();
    housekeeping(false);
    lock.lock();
    return;
  }
  auto until = outage_.next_probe();
  if (cursors_.dirty() || retention_due_) {
    until = std::min(until, cursors_.last_persist() + kPersistInterval);
  }
  wake_at_ = 1;
  cv_.wait_until(lock, until, [&] { return !queue_.empty() || closing_ || retention_due_; });
  wake_at_ = kNoWake;
  lock.unlock();
  housekeeping(false);  // retention may free the space a probe needs
  lock.lock();
}

void JournalThread::commit_batch(std::deque<PendingAppend>& batch) {
  const auto started = std::chrono::steady_clock::now();
  // Ids past the dedupe window are new again from now on.
  catalog_.expire_ids(now_unix_ms());
  std::uint64_t batch_bytes = 0;
  for (const auto& call : batch)
    batch_bytes += call.bytes;
  std::size_t events_total = 0, duplicates = 0;
  std::vector<std::vector<bool>>& flags = batch_flags_;
  flags.clear();
  flags.resize(batch.size());
  std::pmr::unordered_set<std::string_view>& batch_ids = batch_ids_;
  batch_ids.clear();
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
  std::optional<AppendResult> refusal;
  if (ok) {
    catalog_.publish(writer_);
    std::lock_guard lock(mu_);
    pending_bytes_ -= batch_bytes;
    outage_.commit_succeeded();
  } else {
    refusal = fail_batch(batch_bytes);
  }
  last_batch_calls_ = batch.size();

  if (ok) {
    metrics_.appended.inc(static_cast<double>(writer_.staged().size()));
    if (duplicates) metrics_.duplicates.inc(static_cast<double>(duplicates));
    metrics_.batch_events.observe(static_cast<double>(events_total));
  } else {
    for (std::size_t c = 0; c < batch.size(); ++c)
      metrics_.count_rejection(refusal->code);
  }
  publish_gauges();
  answer_calls(batch, flags, refusal ? &*refusal : nullptr);
  if (ok && !writer_.staged().empty()) notify_durable(writer_.next_seq() - 1);
  metrics_.commit_seconds.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

AppendResult JournalThread::fail_batch(std::uint64_t batch_bytes) {
  const SegmentWriter::Failure failure = writer_.failure();  // abandon() may overwrite it
  const bool undone = writer_.abandon();
  metrics_.count_write_error(failure.op, failure.error_number);
  metrics_.writable.set(0);
  log::error(
      "journal: write failed, nothing of the batch is acknowledged; appends are refused "
      "until the disk takes writes again",
      {{"dir", options_.dir.string()},
       {"error", failure.message},
       {"errno", errno_label(failure.error_number)}});
  if (!undone) {
    log::error("journal: cannot take the failed batch off the disk yet, retrying",
               {{"error", writer_.error()}});
  }
  AppendResult refusal;
  refusal.code = outage_code(failure.error_number);
  refusal.message = "journal write failed: " + failure.message;
  std::lock_guard lock(mu_);
  const auto now = WriteOutage::Clock::now();
  outage_.failed(failure.error_number, failure.message, now);
  refusal.retry_after = outage_.until_probe(now);
  pending_bytes_ -= batch_bytes;
  return refusal;
}

void JournalThread::probe_disk() {
  const bool ok = writer_.probe();
  const SegmentWriter::Failure failure = writer_.failure();
  unsigned failures = 0;
  {
    std::lock_guard lock(mu_);
    if (ok) {
      outage_.probe_succeeded();
    } else {
      outage_.failed(failure.error_number, failure.message, WriteOutage::Clock::now());
    }
    failures = outage_.failures();
  }
  if (ok) {
    metrics_.writable.set(1);
    log::info("journal: the disk takes writes again, appends are accepted",
              {{"dir", options_.dir.string()}, {"failed_probes", failures - 1}});
  } else {
    metrics_.count_write_error(failure.op, failure.error_number);
    log::debug("journal: the disk still refuses writes",
               {{"error", failure.message}, {"failures", failures}});
  }
}

// A throwing callback must not stop the journal thread.
void JournalThread::answer_calls(std::deque<PendingAppend>& batch,
                                 std::vector<std::vector<bool>>& flags,
                                 const AppendResult* refusal) {
  for (std::size_t c = 0; c < batch.size(); ++c) {
    if (!batch[c].done) continue;
    AppendResult r;
    if (!refusal) {
      r.duplicate = std::move(flags[c]);
    } else {
      r.code = refusal->code;
      r.message = refusal->message;
      r.retry_after = refusal->retry_after;
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
  bool disk_full = false;
  {
    std::lock_guard lock(mu_);
    retention_due_ = false;
    disk_full = outage_.active() && outage_.code() == AppendResult::Code::no_space;
  }
  // A full disk is a journal at its size limit: history no consumer holds
  // goes, to make room (a consumer's unfinished events always stay).
  const std::uint64_t max_bytes =
      disk_full ? std::min(options_.max_bytes, catalog_.bytes()) : options_.max_bytes;
  // Cheap when nothing is deletable; bytes changed after every commit.
  if (catalog_.retire(cursors_.min_registered(), segment_limit_, max_bytes) > 0) {
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
  metrics_.indexed_ids.set(static_cast<double>(catalog_.indexed_ids()));
}

}  // namespace hookd::journal_detail
