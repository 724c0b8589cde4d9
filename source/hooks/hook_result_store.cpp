#include "hookd/hooks/hook_result_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "hookd/core/durable_file.h"
#include "hookd/core/log.h"
#include "hookd/core/metrics.h"
#include "hookd/core/numbered_file.h"
#include "hookd/core/rfc3339.h"
#include "hookd/core/text.h"
#include "hookd/journal/crc32c.h"

namespace hookd {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::size_t kFrameBytes = 8;  // u32 length + u32 crc
constexpr std::uint32_t kMaxRecordBytes = 16u << 20;
constexpr std::uint64_t kMinSegmentBytes = 4 << 10;
constexpr std::uint64_t kMaxSegmentBytes = 32 << 20;
constexpr auto kIdleTrim = std::chrono::seconds(60);
constexpr auto kFirstRetry = std::chrono::milliseconds(100);
constexpr auto kLastRetry = std::chrono::milliseconds(5000);

struct StoreMetrics {
  Gauge& bytes = metrics().gauge("hookd_hook_results_bytes", "Disk the kept hook results use");
  Gauge& entries =
      metrics().gauge("hookd_hook_results_entries", "Events whose latest hook result is kept");
  Counter& expired =
      metrics().counter("hookd_hook_results_expired_total",
                        "Hook results forgotten by --hook-result-retention or -max-bytes");
  Counter& write_errors = metrics().counter("hookd_hook_results_write_errors_total",
                                            "Failed writes of hook results (retried)");
  // Whether --hook-result-commit-window and -max fit the load: records per
  // commit near the max mean the window is cut short by it.
  Histogram& commit_records =
      metrics().histogram("hookd_hook_results_commit_records",
                          "Hook results (and journaled markers) written per group commit",
                          {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024});
  Histogram& commit_seconds = metrics().histogram(
      "hookd_hook_results_commit_seconds",
      "Time per group commit of hook results, fdatasync included",
      {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1});
};

StoreMetrics& store_metrics() {
  static StoreMetrics m;
  return m;
}

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

std::uint32_t get_u32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<std::uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

std::optional<std::uint32_t> segment_number(const fs::path& path) {
  return numbered_file_number(path, "log");
}

fs::path segment_path(const fs::path& dir, std::uint32_t number) {
  return numbered_file(dir, number, "log");
}

std::optional<std::string> string_field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string(v->get_string());
}

std::optional<std::int64_t> int_field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_int64()) return std::nullopt;
  return v->get_int64();
}

}  // namespace

std::string encode_hook_result(const HookResultRecord& record, bool journaled_marker) {
  json::object o;
  o["event_id"] = record.event_id;
  o["arrival_ms"] = record.arrival_unix_ms;
  o["finished_ms"] = record.finished_unix_ms;
  if (journaled_marker) o["journaled"] = true;
  if (!journaled_marker) {
    o["event_type"] = record.event_type;
    if (record.sid) {
      o["sid"] = *record.sid;
    } else {
      o["sid"] = nullptr;
    }
    json::error_code ec;
    json::value status = json::parse(record.status_json, ec);
    o["status"] = ec ? json::value(json::object()) : std::move(status);
  }
  std::string body = json::serialize(o);
  std::string out;
  out.reserve(kFrameBytes + body.size());
  put_u32(out, static_cast<std::uint32_t>(body.size()));
  put_u32(out, crc32c(body.data(), body.size()));
  out += body;
  return out;
}

DecodedHookResult decode_hook_result(std::string_view bytes) {
  DecodedHookResult decoded;
  if (bytes.size() < kFrameBytes) return decoded;
  std::uint32_t length = get_u32(bytes.data());
  if (length == 0 || length > kMaxRecordBytes || bytes.size() - kFrameBytes < length) {
    return decoded;
  }
  std::string_view body = bytes.substr(kFrameBytes, length);
  if (crc32c(body.data(), body.size()) != get_u32(bytes.data() + 4)) return decoded;
  json::error_code ec;
  json::value value = json::parse(json::string_view(body.data(), body.size()), ec);
  if (ec || !value.is_object()) return decoded;
  const json::object& o = value.get_object();
  auto id = string_field(o, "event_id");
  auto arrival = int_field(o, "arrival_ms");
  auto finished = int_field(o, "finished_ms");
  if (!id || !arrival || !finished) return decoded;
  HookResultRecord record;
  record.event_id = std::move(*id);
  record.arrival_unix_ms = *arrival;
  record.finished_unix_ms = *finished;
  const json::value* marker = o.if_contains("journaled");
  decoded.journaled_marker = marker != nullptr && marker->is_bool() && marker->get_bool();
  if (!decoded.journaled_marker) {
    auto type = string_field(o, "event_type");
    const json::value* status = o.if_contains("status");
    if (!type || status == nullptr || !status->is_object()) return decoded;
    record.event_type = std::move(*type);
    record.sid = string_field(o, "sid");
    record.status_json = json::serialize(*status);
  }
  decoded.record = std::move(record);
  decoded.size = kFrameBytes + length;
  return decoded;
}

struct HookResultStore::Impl {
  struct Segment {
    std::uint32_t number = 0;
    int fd = -1;
    std::uint64_t bytes = 0;
    std::int64_t newest_ms = 0;  // 0 while empty
    std::vector<std::string> event_ids;
  };
  struct Entry {
    HookResultRecord record;
    std::uint32_t segment = 0;  // where the record lives
    std::uint64_t order = 0;    // of indexing: unjournaled runs go out oldest first
    bool journaled = false;     // its hook.finished is in the journal
  };
  struct Queued {
    HookResultRecord record;
    std::function<void()> durable;
    bool journaled_marker = false;
  };

  // An eighth of the cap, so trimming whole segments keeps most of it.
  static std::uint64_t segment_size_for(std::uint64_t max_bytes) {
    return std::clamp<std::uint64_t>(max_bytes / 8, kMinSegmentBytes, kMaxSegmentBytes);
  }

  explicit Impl(HookResultStoreOptions o)
      : options(std::move(o)), segment_bytes(segment_size_for(options.max_bytes)) {}

  // The writer writes what is queued, then ends; the files close after it.
  ~Impl() {
    if (writer.joinable()) {
      set_stopping();
      writer.join();
    }
    while (!segments.empty()) {
      ::close(segments.front().fd);
      segments.pop_front();
    }
  }

  // With queue_mutex held, after a push: whether the writer must be woken.
  // Only the first record of a batch and a full batch do; the writer finds
  // the others when its group-commit wait ends. Runs do not wait for it
  // (their slot is free at exit); only the consumer cursor and
  // hook.finished do, by at most the window.
  bool wakes_writer() const { return queue.size() == 1 || queue.size() == options.commit_max; }

  void set_stopping() {
    std::unique_lock lock(queue_mutex);
    stopping = true;
    lock.unlock();
    wake.notify_one();
  }

  const HookResultStoreOptions options;
  const std::uint64_t segment_bytes;

  // The files: the writer thread, and trim() from anywhere. Readers never wait on it.
  std::mutex file_mutex;
  std::deque<Segment> segments;  // oldest first; the last is written
  std::uint64_t total_bytes = 0;

  // The index: readers, and whoever holds file_mutex.
  mutable std::mutex index_mutex;
  std::unordered_map<std::string, Entry> index;
  std::map<std::uint64_t, std::string> unjournaled;  // order -> event id
  std::uint64_t next_order = 0;
  std::uint64_t published_bytes = 0;

  std::mutex queue_mutex;
  std::condition_variable wake;
  std::vector<Queued> queue;
  bool stopping = false;
  std::thread writer;

  // With file_mutex held.
  Status open_segment(std::uint32_t number) {
    fs::path path = segment_path(options.dir, number);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return make_error(path.string() + ": " + errno_text(errno));
    fsync_dir(options.dir);
    Segment segment;
    segment.number = number;
    segment.fd = fd;
    segments.push_back(std::move(segment));
    return Ok{};
  }

  // With both mutexes held.
  void index_record(HookResultRecord record, Segment& segment, bool journaled_marker) {
    segment.newest_ms = std::max(segment.newest_ms, record.finished_unix_ms);
    auto it = index.find(record.event_id);
    if (journaled_marker) {
      if (it != index.end() && it->second.record.arrival_unix_ms == record.arrival_unix_ms) {
        note_journaled(it->second);
      }
      return;
    }
    segment.event_ids.push_back(record.event_id);
    if (it != index.end()) {
      unjournaled.erase(it->second.order);
      index.erase(it);
    }
    Entry entry{std::move(record), segment.number, ++next_order, false};
    unjournaled.emplace(entry.order, entry.record.event_id);
    std::string id = entry.record.event_id;
    index.emplace(std::move(id), std::move(entry));
  }

  // With index_mutex held.
  void note_journaled(Entry& entry) {
    entry.journaled = true;
    unjournaled.erase(entry.order);
  }

  void publish() {
    published_bytes = total_bytes;
    store_metrics().bytes.set(static_cast<double>(total_bytes));
    store_metrics().entries.set(static_cast<double>(index.size()));
  }

  // Start-up: every segment read back; a torn tail of the last one cut off.
  Status recover() {
    std::error_code ec;
    fs::create_directories(options.dir, ec);
    if (ec) return make_error(options.dir.string() + ": " + ec.message());
    std::vector<std::uint32_t> numbers;
    for (fs::directory_iterator it(options.dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (auto number = segment_number(it->path())) numbers.push_back(*number);
    }
    if (ec) return make_error(options.dir.string() + ": " + ec.message());
    std::sort(numbers.begin(), numbers.end());
    std::lock_guard files(file_mutex);
    std::lock_guard lock(index_mutex);
    for (std::size_t i = 0; i < numbers.size(); ++i) {
      fs::path path = segment_path(options.dir, numbers[i]);
      auto bytes = read_whole_file(path);
      if (!bytes) return make_error(path.string() + ": cannot read");
      if (auto opened = open_segment(numbers[i]); !opened) return opened;
      Segment& segment = segments.back();
      std::string_view rest = *bytes;
      while (!rest.empty()) {
        DecodedHookResult decoded = decode_hook_result(rest);
        if (!decoded.record) break;
        index_record(std::move(*decoded.record), segment, decoded.journaled_marker);
        segment.bytes += decoded.size;
        rest.remove_prefix(decoded.size);
      }
      if (!rest.empty()) {
        // The tail of the last segment is what a crash mid-write leaves; in
        // an older one the rest cannot be trusted either.
        log::warn("hook results: damaged record, the rest of the segment is ignored",
                  {{"file", path.string()}, {"offset", segment.bytes}, {"bytes", rest.size()}});
        if (i + 1 == numbers.size() &&
            ::ftruncate(segment.fd, static_cast<off_t>(segment.bytes)) != 0) {
          return make_error(path.string() + ": truncate: " + errno_text(errno));
        }
      }
      total_bytes += segment.bytes;
    }
    if (segments.empty()) {
      if (auto opened = open_segment(1); !opened) return opened;
    }
    publish();
    return Ok{};
  }

  // With file_mutex held: the oldest segment, and the index entries that
  // point into it, go.
  void drop_oldest() {
    Segment segment = std::move(segments.front());
    segments.pop_front();
    ::close(segment.fd);
    std::error_code ec;
    fs::remove(segment_path(options.dir, segment.number), ec);
    total_bytes -= segment.bytes;
    std::lock_guard lock(index_mutex);
    std::uint64_t forgotten = 0;
    for (const std::string& id : segment.event_ids) {
      auto it = index.find(id);
      if (it != index.end() && it->second.segment == segment.number) {
        unjournaled.erase(it->second.order);
        index.erase(it);
        ++forgotten;
      }
    }
    if (forgotten > 0) store_metrics().expired.inc(static_cast<double>(forgotten));
    publish();
  }

  // With file_mutex held.
  Status roll() { return open_segment(segments.empty() ? 1 : segments.back().number + 1); }

  void trim() {
    std::lock_guard files(file_mutex);
    const std::int64_t cutoff = now_unix_ms() - options.retention.count();
    auto expired = [&](const Segment& s) { return s.bytes > 0 && s.newest_ms < cutoff; };
    // The segment being written may expire too: a fresh one takes its place.
    if (segments.size() == 1 && expired(segments.front()) && !roll()) return;
    while (segments.size() > 1 && (expired(segments.front()) || total_bytes > options.max_bytes)) {
      drop_oldest();
    }
  }

  // Writes and syncs the batch; on failure the segment is cut back, so a
  // retry never leaves half a record before a whole one.
  Status write(std::vector<Queued>& batch) {
    std::lock_guard files(file_mutex);
    if (segments.back().bytes >= segment_bytes) {
      if (auto rolled = roll(); !rolled) return rolled;
    }
    Segment& segment = segments.back();
    std::string bytes;
    std::vector<std::size_t> sizes;
    for (const Queued& queued : batch) {
      std::string encoded = encode_hook_result(queued.record, queued.journaled_marker);
      sizes.push_back(encoded.size());
      bytes += encoded;
    }
    // A batch of journaled markers alone is not synced: one lost to a crash
    // only sends its hook.finished again, which the journal drops by id
    // (hook_result_store.h); the next batch of results syncs it anyway.
    bool results = std::any_of(batch.begin(), batch.end(),
                               [](const Queued& q) { return !q.journaled_marker; });
    Status written = write_all(segment.fd, bytes);
    if (written && results && ::fdatasync(segment.fd) != 0) {
      written = make_error("fdatasync: " + errno_text(errno));
    }
    if (!written) {
      if (::ftruncate(segment.fd, static_cast<off_t>(segment.bytes)) != 0) {
        log::error("hook results: cannot cut back a failed write",
                   {{"segment", segment.number}, {"error", errno_text(errno)}});
      }
      return written;
    }
    segment.bytes += bytes.size();
    total_bytes += bytes.size();
    std::lock_guard lock(index_mutex);
    for (Queued& queued : batch) {
      index_record(std::move(queued.record), segment, queued.journaled_marker);
    }
    publish();
    return Ok{};
  }

  // Waits `delay` unless the store is being destroyed; false then.
  bool wait_unless_stopping(std::chrono::milliseconds delay) {
    std::unique_lock lock(queue_mutex);
    return !wake.wait_for(lock, delay, [this] { return stopping; });
  }

  void run_writer() {
    for (;;) {
      std::vector<Queued> batch;
      {
        std::unique_lock lock(queue_mutex);
        wake.wait_for(lock, kIdleTrim, [this] { return stopping || !queue.empty(); });
        if (queue.empty() && stopping) return;
        if (options.commit_window.count() > 0) {
          wake.wait_for(lock, options.commit_window,
                        [this] { return stopping || queue.size() >= options.commit_max; });
        }
        batch.swap(queue);
      }
      if (!batch.empty()) {
        auto started = std::chrono::steady_clock::now();
        store_metrics().commit_records.observe(static_cast<double>(batch.size()));
        write_with_retries(batch);
        store_metrics().commit_seconds.observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      }
      trim();
    }
  }

  void write_with_retries(std::vector<Queued>& batch) {
    auto delay = kFirstRetry;
    for (;;) {
      Status written = write(batch);
      if (written) break;
      store_metrics().write_errors.inc();
      log::error("hook results: write failed, retrying", {{"dir", options.dir.string()},
                                                          {"error", written.error().message},
                                                          {"retry_in_ms", delay.count()}});
      if (!wait_unless_stopping(delay)) return;  // the runs run again after a restart
      delay = std::min(delay * 2, kLastRetry);
    }
    {
      // Whoever asked is being torn down with the store: nobody to tell.
      std::lock_guard lock(queue_mutex);
      if (stopping) return;
    }
    for (Queued& queued : batch)
      if (queued.durable) queued.durable();
  }
};

HookResultStore::HookResultStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HookResultStore::~HookResultStore() = default;

Result<std::unique_ptr<HookResultStore>> HookResultStore::open(HookResultStoreOptions options) {
  if (options.dir.empty()) return make_error("hook results: dir is required");
  options.commit_max = std::max<std::size_t>(options.commit_max, 1);
  auto impl = std::make_unique<Impl>(std::move(options));
  if (auto recovered = impl->recover(); !recovered) {
    return make_error("hook results: " + recovered.error().message);
  }
  impl->trim();
  Impl* raw = impl.get();
  impl->writer = std::thread([raw] { raw->run_writer(); });
  return std::unique_ptr<HookResultStore>(new HookResultStore(std::move(impl)));
}

void HookResultStore::append(HookResultRecord record, std::function<void()> durable) {
  bool wake;
  {
    std::lock_guard lock(impl_->queue_mutex);
    impl_->queue.push_back(Impl::Queued{std::move(record), std::move(durable)});
    wake = impl_->wakes_writer();
  }
  if (wake) impl_->wake.notify_one();
}

std::optional<std::string> HookResultStore::status_json(std::string_view event_id) const {
  std::lock_guard lock(impl_->index_mutex);
  auto it = impl_->index.find(std::string(event_id));
  if (it == impl_->index.end()) return std::nullopt;
  return it->second.record.status_json;
}

std::optional<HookResultRecord> HookResultStore::finished_run(std::string_view event_id,
                                                              std::int64_t arrival_unix_ms) const {
  std::lock_guard lock(impl_->index_mutex);
  auto it = impl_->index.find(std::string(event_id));
  if (it == impl_->index.end() || it->second.record.arrival_unix_ms != arrival_unix_ms) {
    return std::nullopt;
  }
  return it->second.record;
}

std::vector<HookResultRecord> HookResultStore::unjournaled(std::size_t max) const {
  std::vector<HookResultRecord> records;
  std::lock_guard lock(impl_->index_mutex);
  for (const auto& [order, event_id] : impl_->unjournaled) {
    if (records.size() >= max) break;
    records.push_back(impl_->index.at(event_id).record);
  }
  return records;
}

void HookResultStore::mark_journaled(const std::vector<HookResultRecord>& records) {
  std::vector<Impl::Queued> markers;
  {
    std::lock_guard lock(impl_->index_mutex);
    for (const HookResultRecord& record : records) {
      auto it = impl_->index.find(record.event_id);
      if (it == impl_->index.end() || it->second.record.arrival_unix_ms != record.arrival_unix_ms) {
        continue;
      }
      impl_->note_journaled(it->second);
      HookResultRecord marker;
      marker.event_id = record.event_id;
      marker.arrival_unix_ms = record.arrival_unix_ms;
      marker.finished_unix_ms = now_unix_ms();
      markers.push_back(Impl::Queued{std::move(marker), nullptr, true});
    }
  }
  if (markers.empty()) return;
  bool wake = false;
  {
    std::lock_guard lock(impl_->queue_mutex);
    for (auto& marker : markers) {
      impl_->queue.push_back(std::move(marker));
      wake = wake || impl_->wakes_writer();
    }
  }
  if (wake) impl_->wake.notify_one();
}

void HookResultStore::trim() {
  impl_->trim();
}

std::size_t HookResultStore::entries() const {
  std::lock_guard lock(impl_->index_mutex);
  return impl_->index.size();
}

std::uint64_t HookResultStore::bytes() const {
  std::lock_guard lock(impl_->index_mutex);
  return impl_->published_bytes;
}

}  // namespace hookd
