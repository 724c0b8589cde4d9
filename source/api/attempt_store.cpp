#include "hookd/api/attempt_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "hookd/api/attempt_codec.h"
#include "hookd/core/durable_file.h"
#include "hookd/core/event.h"
#include "hookd/core/log.h"
#include "hookd/core/numbered_file.h"

namespace hookd::api {

namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kMinSegmentBytes = 64 << 10;
constexpr std::uint64_t kMaxSegmentBytes = 32 << 20;
// With no traffic, expired segments are still dropped this often.
constexpr auto kIdleCheck = std::chrono::seconds(60);
// Attempts are written (and fdatasynced) at most this often: under load one
// sync covers many, and an attempt is listed this much later at worst.
constexpr auto kLinger = std::chrono::milliseconds(10);

std::optional<std::uint32_t> segment_number(const fs::path& path) {
  return numbered_file_number(path, "jsonl");
}

fs::path segment_path(const fs::path& dir, std::uint32_t number) {
  return numbered_file(dir, number, "jsonl");
}

bool in_class(int code, int status_code_class) {
  if (status_code_class == 0) return code < 100;
  return code >= status_code_class && code < status_code_class + 100;
}

}  // namespace

struct AttemptStore::Impl {
  struct Segment {
    std::uint32_t number = 0;
    int fd = -1;
    std::uint64_t bytes = 0;
    std::int64_t oldest_ms = 0;  // of the attempts in it; 0 while empty
    std::int64_t newest_ms = 0;
    std::vector<std::string> ids;
  };
  // What the index holds of an attempt: enough to filter and page; the rest
  // is read back from its line.
  struct Entry {
    std::string msg_id;
    std::string endpoint_id;
    std::uint32_t segment = 0;
    std::uint64_t offset = 0;
    std::uint32_t length = 0;
    int code = 0;
    int status = 0;
  };
  using Keys = std::map<std::string, const Entry*>;  // attempt id -> entry

  explicit Impl(AttemptStoreOptions o)
      : options(std::move(o)),
        segment_bytes(
            std::clamp<std::uint64_t>(options.max_bytes / 8, kMinSegmentBytes, kMaxSegmentBytes)) {}

  ~Impl() {
    {
      std::lock_guard lock(queue_mutex);
      stopping = true;
    }
    wake.notify_one();
    if (writer.joinable()) writer.join();
    for (Segment& segment : segments)
      if (segment.fd >= 0) ::close(segment.fd);
  }

  const AttemptStoreOptions options;
  const std::uint64_t segment_bytes;

  // The index and the segments: readers and the writer thread.
  mutable std::mutex mutex;
  std::deque<Segment> segments;  // oldest first; the last is written
  std::map<std::string, Entry> entries;
  std::unordered_map<std::string, Keys> by_msg;
  std::unordered_map<std::string, Keys> by_endpoint;
  std::unordered_map<std::string, EndpointHealth> health;
  std::uint64_t total_bytes = 0;

  // The queue: appenders and the writer thread.
  std::mutex queue_mutex;
  std::condition_variable wake;
  std::vector<Attempt> queue;
  bool stopping = false;
  std::function<void(const Attempt&)> listener;
  bool write_failing = false;  // writer thread only
  std::thread writer;

  // With `mutex` held.
  void index(const Attempt& a, Segment& segment, std::uint64_t offset, std::uint32_t length) {
    auto [it, inserted] =
        entries.try_emplace(a.id, Entry{a.msg_id, a.endpoint_id, segment.number, offset, length,
                                        a.response_status_code, a.status});
    if (!inserted) return;
    by_msg[a.msg_id].emplace(a.id, &it->second);
    by_endpoint[a.endpoint_id].emplace(a.id, &it->second);
    segment.ids.push_back(a.id);
    if (segment.oldest_ms == 0) segment.oldest_ms = a.timestamp_ms;
    segment.newest_ms = std::max(segment.newest_ms, a.timestamp_ms);
    health[a.endpoint_id].record(a.status == kAttemptSuccess, a.timestamp_ms);
  }

  // With `mutex` held: the attempts of the oldest segment leave the index.
  Segment drop_oldest() {
    Segment segment = std::move(segments.front());
    segments.pop_front();
    for (const std::string& id : segment.ids) {
      auto it = entries.find(id);
      if (it == entries.end()) continue;
      for (auto* keys : {&by_msg, &by_endpoint}) {
        const std::string& key = keys == &by_msg ? it->second.msg_id : it->second.endpoint_id;
        auto list = keys->find(key);
        if (list == keys->end()) continue;
        list->second.erase(id);
        if (list->second.empty()) keys->erase(list);
      }
      entries.erase(it);
    }
    total_bytes -= segment.bytes;
    return segment;
  }

  Status load() {
    std::error_code ec;
    fs::create_directories(options.dir, ec);
    if (ec) return make_error(options.dir.string() + ": " + ec.message());
    std::vector<std::pair<std::uint32_t, fs::path>> files;
    for (auto it = fs::directory_iterator(options.dir, ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
      if (auto number = segment_number(it->path())) files.emplace_back(*number, it->path());
    }
    if (ec) return make_error(options.dir.string() + ": " + ec.message());
    std::sort(files.begin(), files.end());
    std::lock_guard lock(mutex);
    for (std::size_t i = 0; i < files.size(); ++i) {
      const auto& [number, path] = files[i];
      auto text = read_whole_file(path);
      if (!text) return make_error(path.string() + ": cannot read");
      Segment segment;
      segment.number = number;
      std::size_t pos = 0;
      for (std::size_t nl; (nl = text->find('\n', pos)) != std::string::npos; pos = nl + 1) {
        auto attempt = parse_attempt_line(std::string_view(*text).substr(pos, nl - pos));
        if (attempt) index(*attempt, segment, pos, static_cast<std::uint32_t>(nl + 1 - pos));
      }
      // A line without its '\n' was being written when hookd stopped: it
      // was never durable, so it goes.
      if (pos < text->size()) {
        log::warn("svix api: cut a torn attempt line", {{"file", path.string()}});
        fs::resize_file(path, pos, ec);
        if (ec) return make_error(path.string() + ": " + ec.message());
      }
      segment.bytes = pos;
      segment.fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
      if (segment.fd < 0) return make_error(path.string() + ": " + std::strerror(errno));
      total_bytes += segment.bytes;
      segments.push_back(std::move(segment));
    }
    log::info(
        "svix api: attempts loaded",
        {{"attempts", entries.size()}, {"segments", segments.size()}, {"bytes", total_bytes}});
    return Ok{};
  }

  // A new segment to write to; on the writer thread (or at start-up).
  Status roll() {
    std::uint32_t number = segments.empty() ? 1 : segments.back().number + 1;
    fs::path path = segment_path(options.dir, number);
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return make_error(path.string() + ": " + std::strerror(errno));
    if (!fsync_dir(options.dir)) {
      ::close(fd);
      return make_error(options.dir.string() + ": directory fsync failed");
    }
    Segment segment;
    segment.number = number;
    segment.fd = fd;
    std::lock_guard lock(mutex);
    segments.push_back(std::move(segment));
    return Ok{};
  }

  bool needs_roll(std::int64_t now_ms) const {
    std::lock_guard lock(mutex);
    if (segments.empty()) return true;
    const Segment& current = segments.back();
    // Age rolls too, so retention drops about an eighth of it at a time.
    return current.bytes >= segment_bytes ||
           (current.oldest_ms != 0 && current.oldest_ms < now_ms - options.retention_ms / 8);
  }

  void write_batch(std::vector<Attempt> batch) {
    {
      // A shared feed may hand an attempt over again: the first one stays.
      std::lock_guard lock(mutex);
      std::unordered_set<std::string> seen;
      std::erase_if(batch, [&](const Attempt& a) {
        return entries.count(a.id) != 0 || !seen.insert(a.id).second;
      });
    }
    if (batch.empty()) return;
    const std::int64_t now_ms = now_unix_ms();
    if (needs_roll(now_ms)) {
      if (Status rolled = roll(); !rolled) return write_failed(rolled.error().message, batch);
    }
    int fd;
    std::uint64_t base;
    {
      std::lock_guard lock(mutex);
      fd = segments.back().fd;
      base = segments.back().bytes;
    }
    std::string buffer;
    std::vector<std::pair<std::uint64_t, std::uint32_t>> spans;
    spans.reserve(batch.size());
    for (Attempt& attempt : batch) {
      attempt.response = attempt_response_text(attempt.response);
      std::string line = attempt_line(attempt);
      spans.emplace_back(base + buffer.size(), static_cast<std::uint32_t>(line.size()));
      buffer += line;
    }
    Status written = write_all(fd, buffer);
    if (written && ::fdatasync(fd) != 0) written = make_error(std::strerror(errno));
    if (!written) {
      // Whatever reached the file is cut off, so offsets stay right.
      if (::ftruncate(fd, static_cast<off_t>(base)) != 0) {
        log::error("svix api: attempts file cannot be cut back", {{"error", std::strerror(errno)}});
      }
      return write_failed(written.error().message, batch);
    }
    if (write_failing) log::info("svix api: attempts written again");
    write_failing = false;
    {
      std::lock_guard lock(mutex);
      Segment& segment = segments.back();
      for (std::size_t i = 0; i < batch.size(); ++i)
        index(batch[i], segment, spans[i].first, spans[i].second);
      segment.bytes += buffer.size();
      total_bytes += buffer.size();
    }
    if (listener) {
      for (const Attempt& attempt : batch)
        listener(attempt);
    }
  }

  void write_failed(const std::string& error, const std::vector<Attempt>& batch) {
    if (!write_failing) {
      log::error("svix api: attempts not stored", {{"error", error}, {"attempts", batch.size()}});
    }
    write_failing = true;
  }

  void enforce_retention() {
    const std::int64_t cutoff = now_unix_ms() - options.retention_ms;
    bool current_expired;
    {
      std::lock_guard lock(mutex);
      current_expired =
          !segments.empty() && segments.back().newest_ms != 0 && segments.back().newest_ms < cutoff;
    }
    // An expired segment that is still the one written to: move on first.
    if (current_expired && !roll()) return;
    std::vector<Segment> dropped;
    {
      std::lock_guard lock(mutex);
      while (segments.size() > 1 &&
             (total_bytes > options.max_bytes || segments.front().newest_ms < cutoff)) {
        dropped.push_back(drop_oldest());
      }
    }
    for (Segment& segment : dropped) {
      ::close(segment.fd);
      std::error_code ec;
      fs::remove(segment_path(options.dir, segment.number), ec);
    }
    if (!dropped.empty()) fsync_dir(options.dir);
  }

  void run() {
    std::unique_lock lock(queue_mutex);
    auto last_write = std::chrono::steady_clock::now() - kLinger;
    while (true) {
      wake.wait_for(lock, kIdleCheck, [this] { return stopping || !queue.empty(); });
      if (stopping && queue.empty()) return;
      // Let more attempts join this batch, unless stopping.
      wake.wait_until(lock, last_write + kLinger, [this] { return stopping; });
      last_write = std::chrono::steady_clock::now();
      std::vector<Attempt> batch;
      batch.swap(queue);
      lock.unlock();
      if (!batch.empty()) write_batch(std::move(batch));
      enforce_retention();
      lock.lock();
    }
  }

  Page<Attempt> list(const std::unordered_map<std::string, Keys>& index_by, const std::string& key,
                     ListQuery query, const AttemptFilter& filter,
                     std::vector<Attempt>& storage) const {
    Page<Attempt> out;
    storage.clear();
    std::lock_guard lock(mutex);
    auto found = index_by.find(key);
    if (found == index_by.end()) return out;
    const Keys* keys = &found->second;
    query.descending = true;
    auto page = paginate(*keys, query, [&](const Entry* entry) {
      if (filter.status && entry->status != *filter.status) return false;
      if (filter.status_code_class && !in_class(entry->code, *filter.status_code_class)) {
        return false;
      }
      if (!filter.endpoint_id.empty() && entry->endpoint_id != filter.endpoint_id) return false;
      return !filter.message || filter.message(entry->msg_id);
    });
    storage.reserve(page.items.size());
    for (const Entry* const* item : page.items) {
      if (auto attempt = read_line(**item)) storage.push_back(std::move(*attempt));
    }
    for (const Attempt& attempt : storage)
      out.items.push_back(&attempt);
    out.done = page.done;
    set_iterators(out, [](const Attempt& attempt) { return attempt.id; });
    return out;
  }

  // With `mutex` held.
  std::optional<Attempt> read_line(const Entry& entry) const {
    auto segment = std::find_if(segments.begin(), segments.end(),
                                [&](const Segment& s) { return s.number == entry.segment; });
    if (segment == segments.end()) return std::nullopt;
    std::string line(entry.length, '\0');
    ssize_t n = ::pread(segment->fd, line.data(), line.size(), static_cast<off_t>(entry.offset));
    if (n != static_cast<ssize_t>(line.size()) || line.empty()) return std::nullopt;
    line.pop_back();  // '\n'
    return parse_attempt_line(line);
  }
};

AttemptStore::AttemptStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AttemptStore::~AttemptStore() = default;

Result<std::unique_ptr<AttemptStore>> AttemptStore::open(AttemptStoreOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  if (Status loaded = impl->load(); !loaded) {
    return make_error("svix api: attempts: " + loaded.error().message);
  }
  impl->enforce_retention();
  Impl* raw = impl.get();
  impl->writer = std::thread([raw] { raw->run(); });
  return std::unique_ptr<AttemptStore>(new AttemptStore(std::move(impl)));
}

void AttemptStore::append(Attempt attempt) {
  {
    std::lock_guard lock(impl_->queue_mutex);
    impl_->queue.push_back(std::move(attempt));
  }
  impl_->wake.notify_one();
}

void AttemptStore::on_recorded(std::function<void(const Attempt&)> listener) {
  std::lock_guard lock(impl_->queue_mutex);
  impl_->listener = std::move(listener);
}

Page<Attempt> AttemptStore::list_by_message(const std::string& msg_id, ListQuery query,
                                            const AttemptFilter& filter,
                                            std::vector<Attempt>& storage) const {
  return impl_->list(impl_->by_msg, msg_id, query, filter, storage);
}

Page<Attempt> AttemptStore::list_by_endpoint(const std::string& endpoint_id, ListQuery query,
                                             const AttemptFilter& filter,
                                             std::vector<Attempt>& storage) const {
  return impl_->list(impl_->by_endpoint, endpoint_id, query, filter, storage);
}

bool AttemptStore::attempted(const std::string& msg_id, const std::string& endpoint_id) const {
  std::lock_guard lock(impl_->mutex);
  auto keys = impl_->by_msg.find(msg_id);
  if (keys == impl_->by_msg.end()) return false;
  return std::any_of(keys->second.begin(), keys->second.end(),
                     [&](const auto& key) { return key.second->endpoint_id == endpoint_id; });
}

EndpointHealth AttemptStore::health(const std::string& endpoint_id) const {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->health.find(endpoint_id);
  return it == impl_->health.end() ? EndpointHealth{} : it->second;
}

void AttemptStore::reset_health(const std::string& endpoint_id) {
  std::lock_guard lock(impl_->mutex);
  impl_->health.erase(endpoint_id);
}

std::size_t AttemptStore::size() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->entries.size();
}

std::uint64_t AttemptStore::bytes() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->total_bytes;
}

}  // namespace hookd::api
