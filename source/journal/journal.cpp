// The embedded file journal: CRC32C-framed records in append-only segment
// files, written and fsynced by one journal thread (group commit).
//
// Durability design (why it is shaped like this):
// - Every mutation of the on-disk state (writes, fsyncs, segment roll and
//   deletion, cursor files) happens on the journal thread, so callers never
//   block on the disk and there is exactly one writer per file.
// - append() only checks limits and queues. The journal thread assigns seqs,
//   drops duplicates, encodes and CRCs, writes the whole batch with one pwrite
//   per segment and one fdatasync, and only then publishes the records to
//   readers and runs callbacks: a record is visible (read/lookup) iff durable.
// - FsyncMode::batch commits whatever is queued as soon as the previous fsync
//   has finished: under load the fsync itself is the batching window, and an
//   idle journal never delays a lone append. A fixed "wait batch_window after
//   the first append" only adds latency (and, for synchronous clients, costs
//   throughput: N/(fsync+window) instead of N/fsync). batch_window is kept as
//   a bounded linger for one case: when the previous batch came from several
//   concurrent append() calls and fewer are queued now, the returning herd is
//   given min(batch_window, last fsync time) to rejoin, so concurrent clients
//   are not split into a batch of one and a batch of the rest. batch_window=0
//   disables the linger. Worst-case latency: linger + 2 fsyncs.
// - After a failed write or fsync the page cache no longer tells us what is on
//   disk, so the journal stops accepting (writable=false) until reopened.
// - New segment files and the cursor file's rename are followed by an fsync of
//   the directory, so a crash cannot lose a file whose records were acked.
// - The idempotency index maps a 64-bit hash of the id to seqs (a multimap;
//   hits are confirmed by reading the record back), about 56 bytes per
//   retained record instead of a string key per record.
#include "hookd/journal/journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/json.hpp>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "hookd/core/log.h"
#include "hookd/core/metrics.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace hookd {

// ---------------------------------------------------------------------------
// CRC32C (Castagnoli, reflected polynomial 0x82F63B78).

namespace journal_detail {

namespace {

constexpr std::array<std::uint32_t, 256> make_crc32c_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k)
      c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  return table;
}

constexpr auto kCrc32cTable = make_crc32c_table();

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(std::uint32_t crc,
                                                             const unsigned char* p,
                                                             std::size_t n) {
  std::uint64_t c = crc;
  while (n >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    c = _mm_crc32_u64(c, word);
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<std::uint32_t>(c);
  while (n-- > 0)
    c32 = _mm_crc32_u8(c32, *p++);
  return c32;
}

bool have_sse42() {
  static const bool supported = __builtin_cpu_supports("sse4.2");
  return supported;
}
#endif

}  // namespace

// Byte-at-a-time table version: the fallback, and the reference the tests
// compare the hardware path against.
std::uint32_t crc32c_table(const void* data, std::size_t size, std::uint32_t crc) {
  auto p = static_cast<const unsigned char*>(data);
  std::uint32_t c = ~crc;
  for (std::size_t i = 0; i < size; ++i)
    c = kCrc32cTable[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return ~c;
}

}  // namespace journal_detail

std::uint32_t crc32c(const void* data, std::size_t size, std::uint32_t crc) {
#if defined(__x86_64__)
  if (journal_detail::have_sse42()) {
    return ~journal_detail::crc32c_sse42(~crc, static_cast<const unsigned char*>(data), size);
  }
#endif
  return journal_detail::crc32c_table(data, size, crc);
}

namespace {

// ---------------------------------------------------------------------------
// Record format, little-endian:
//   [u32 length][u32 crc32c][u64 seq][payload]
// length counts the bytes after the crc (seq + payload); the crc covers them.
// payload (format 1):
//   [u8 1][u32 n][id][u32 n][type][u32 n][timestamp][i64 arrival_unix_ms][payload_json...]
// format 2, for Svix API messages: after arrival_unix_ms, [u32 n][message fields]
// (encode_message_fields), then payload_json. Events without them stay format 1.

constexpr std::size_t kFrameBytes = 8;    // length + crc
constexpr std::size_t kHeaderBytes = 16;  // + seq
constexpr std::uint8_t kFormat = 1;
constexpr std::uint8_t kFormatMessage = 2;
constexpr std::size_t kMinPayload = 1 + 4 + 4 + 4 + 8;
constexpr std::uint32_t kMaxRecordLength = 1u << 30;
constexpr std::size_t kFlushBytes = 4u << 20;  // write a batch in pieces of this size

void put_u32(char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i)
    p[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
void put_u64(char* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i)
    p[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
std::uint32_t get_u32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i)
    v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
std::uint64_t get_u64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::size_t message_size(const Event& e) {
  return e.message ? 4 + encode_message_fields(*e.message).size() : 0;
}

std::size_t encoded_size(const Event& e) {
  return kHeaderBytes + kMinPayload + e.id.size() + e.type.size() + e.timestamp.size() +
         message_size(e) + e.payload_json.size();
}

void encode_record(std::string& out, std::uint64_t seq, const Event& e) {
  const std::size_t n = encoded_size(e);
  const std::size_t start = out.size();
  out.resize(start + n);
  char* p = out.data() + start;
  put_u32(p, static_cast<std::uint32_t>(n - kFrameBytes));
  put_u64(p + 8, seq);
  char* q = p + kHeaderBytes;
  *q++ = static_cast<char>(e.message ? kFormatMessage : kFormat);
  for (const std::string* s : {&e.id, &e.type, &e.timestamp}) {
    put_u32(q, static_cast<std::uint32_t>(s->size()));
    std::memcpy(q + 4, s->data(), s->size());
    q += 4 + s->size();
  }
  put_u64(q, static_cast<std::uint64_t>(e.arrival_unix_ms));
  q += 8;
  if (e.message) {
    const std::string fields = encode_message_fields(*e.message);
    put_u32(q, static_cast<std::uint32_t>(fields.size()));
    std::memcpy(q + 4, fields.data(), fields.size());
    q += 4 + fields.size();
  }
  std::memcpy(q, e.payload_json.data(), e.payload_json.size());
  put_u32(p + 4, crc32c(p + kFrameBytes, n - kFrameBytes));
}

struct RecordView {
  std::uint64_t seq = 0;
  std::string_view id, type, timestamp, payload_json;
  std::string_view message;  // format 2 only
  std::int64_t arrival_unix_ms = 0;
  std::size_t size = 0;  // whole record, header included
};

// Checks the framing, CRC and payload layout of the record at the start of
// [p, p+n). Returns a reason on failure.
const char* parse_record(const char* p, std::size_t n, RecordView& out) {
  if (n < kHeaderBytes) return "incomplete header";
  const std::uint32_t length = get_u32(p);
  if (length < 8 + kMinPayload || length > kMaxRecordLength) return "bad length";
  if (length > n - kFrameBytes) return "record runs past end of file";
  if (crc32c(p + kFrameBytes, length) != get_u32(p + 4)) return "checksum mismatch";
  out.seq = get_u64(p + 8);
  out.size = kFrameBytes + length;
  const char* q = p + kHeaderBytes;
  const char* end = p + out.size;
  const auto format = static_cast<std::uint8_t>(*q++);
  if (format != kFormat && format != kFormatMessage) return "unknown record format";
  for (std::string_view* s : {&out.id, &out.type, &out.timestamp}) {
    if (end - q < 4) return "truncated field";
    const std::uint32_t len = get_u32(q);
    q += 4;
    if (static_cast<std::size_t>(end - q) < len) return "truncated field";
    *s = std::string_view(q, len);
    q += len;
  }
  if (end - q < 8) return "truncated field";
  out.arrival_unix_ms = static_cast<std::int64_t>(get_u64(q));
  q += 8;
  out.message = {};
  if (format == kFormatMessage) {
    if (end - q < 4) return "truncated field";
    const std::uint32_t len = get_u32(q);
    q += 4;
    if (static_cast<std::size_t>(end - q) < len) return "truncated field";
    out.message = std::string_view(q, len);
    q += len;
  }
  out.payload_json = std::string_view(q, static_cast<std::size_t>(end - q));
  return nullptr;
}

StoredEvent to_stored(const RecordView& r) {
  StoredEvent s;
  s.seq = r.seq;
  s.event.id = std::string(r.id);
  s.event.type = std::string(r.type);
  s.event.timestamp = std::string(r.timestamp);
  s.event.payload_json = std::string(r.payload_json);
  s.event.arrival_unix_ms = r.arrival_unix_ms;
  if (!r.message.empty()) s.event.message = decode_message_fields(r.message);
  return s;
}

std::uint64_t id_hash(std::string_view id) {
  return std::hash<std::string_view>{}(id);
}

std::string errno_text(int err) {
  return std::strerror(err);
}

std::string segment_name(std::uint64_t first_seq) {
  char name[32];
  std::snprintf(name, sizeof name, "%020llu.seg", static_cast<unsigned long long>(first_seq));
  return name;
}

std::optional<std::uint64_t> parse_segment_name(const std::string& name) {
  if (name.size() != 24 || name.compare(20, 4, ".seg") != 0) return std::nullopt;
  std::uint64_t v = 0;
  for (int i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(name[i] - '0');
  }
  return v;
}

bool pread_all(int fd, char* buf, std::size_t n, std::uint64_t offset) {
  while (n > 0) {
    ssize_t r = ::pread(fd, buf, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      if (r == 0) errno = EIO;  // short file: the record we indexed is gone
      return false;
    }
    buf += r;
    n -= static_cast<std::size_t>(r);
    offset += static_cast<std::uint64_t>(r);
  }
  return true;
}

bool pwrite_all(int fd, const char* buf, std::size_t n, std::uint64_t offset) {
  while (n > 0) {
    ssize_t r = ::pwrite(fd, buf, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      if (r == 0) errno = EIO;
      return false;
    }
    buf += r;
    n -= static_cast<std::size_t>(r);
    offset += static_cast<std::uint64_t>(r);
  }
  return true;
}

bool fsync_dir(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

// One segment file. Records are dense: offsets[i] holds seq first_seq + i.
// offsets/hashes/size change only on the journal thread, under the journal
// mutex; readers copy what they need under the same mutex and pread after.
struct Segment {
  std::uint64_t first_seq = 0;
  std::filesystem::path path;
  int fd = -1;
  std::uint64_t size = 0;              // bytes in the file that are published
  std::uint64_t written = 0;           // bytes written (journal thread only)
  std::vector<std::uint64_t> offsets;  // record offsets
  std::vector<std::uint64_t> hashes;   // id hash per record (for index removal)

  Segment() = default;
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;
  ~Segment() {
    if (fd >= 0) ::close(fd);
  }
  std::uint64_t count() const { return offsets.size(); }
  std::uint64_t end_seq() const { return first_seq + count(); }  // one past the last
  std::uint64_t record_end(std::size_t i) const {
    return i + 1 < offsets.size() ? offsets[i + 1] : size;
  }
};
using SegmentPtr = std::shared_ptr<Segment>;

struct JournalMetrics {
  Gauge& bytes;
  Gauge& segments;
  Counter& appended;
  Counter& duplicates;
  Counter& rejected_full;
  Counter& rejected_busy;
  Counter& rejected_failed;
  Histogram& fsync_seconds;
  Histogram& batch_events;
  Gauge& pending_bytes;
  Gauge& last_seq;

  static std::vector<double> batch_buckets() {
    std::vector<double> b;
    for (double v = 1; v <= 4096; v *= 2)
      b.push_back(v);
    return b;
  }

  JournalMetrics()
      : bytes(metrics().gauge("hookd_journal_bytes", "Bytes in journal segment files")),
        segments(metrics().gauge("hookd_journal_segments", "Journal segment files")),
        appended(metrics().counter("hookd_journal_appended_events_total",
                                   "Events written to the journal")),
        duplicates(metrics().counter("hookd_journal_duplicate_events_total",
                                     "Events skipped because their id was already journaled")),
        rejected_full(metrics().counter("hookd_journal_rejected_appends_total",
                                        "Append calls rejected", {{"reason", "full"}})),
        rejected_busy(metrics().counter("hookd_journal_rejected_appends_total",
                                        "Append calls rejected", {{"reason", "busy"}})),
        rejected_failed(metrics().counter("hookd_journal_rejected_appends_total",
                                          "Append calls rejected", {{"reason", "failed"}})),
        fsync_seconds(metrics().histogram("hookd_journal_fsync_seconds",
                                          "Time spent in fdatasync per commit",
                                          latency_buckets_seconds())),
        batch_events(metrics().histogram("hookd_journal_batch_events", "Events per group commit",
                                         batch_buckets())),
        pending_bytes(
            metrics().gauge("hookd_journal_pending_bytes", "Bytes appended and not yet durable")),
        last_seq(metrics().gauge("hookd_journal_last_seq", "Newest durable journal seq")) {}
};

struct PendingAppend {
  std::vector<Event> events;
  AppendCallback done;
  std::uint64_t bytes = 0;
};

struct Consumer {
  std::shared_ptr<std::atomic<std::uint64_t>> cursor =
      std::make_shared<std::atomic<std::uint64_t>>(0);
  bool registered = false;  // in this process; only these hold segments
};

// A record written in the current batch, published once it is durable.
struct Staged {
  std::uint64_t seq;
  std::uint64_t hash;
  Segment* segment;
  std::uint64_t offset;
};

class FileJournal final : public Journal {
 public:
  explicit FileJournal(const JournalOptions& options) : options_(options) {
    seg_limit_ = std::max<std::uint64_t>(
        1, std::min(options_.segment_bytes, std::max<std::uint64_t>(1, options_.max_bytes / 2)));
    last_seq_shared_ = std::make_shared<std::atomic<std::uint64_t>>(0);
  }

  ~FileJournal() override {
    close();
    if (lock_fd_ >= 0) ::close(lock_fd_);
  }

  Status open();

  void append(std::vector<Event> events, AppendCallback done) override;
  std::optional<StoredEvent> lookup(std::string_view id) override;
  Result<std::vector<StoredEvent>> read(std::uint64_t after_seq, std::size_t max) override;
  std::uint64_t register_consumer(const std::string& name) override;
  std::uint64_t cursor(std::string_view name) const override;
  void commit(std::string_view name, std::uint64_t seq) override;
  void on_durable(std::function<void(std::uint64_t)> listener) override;
  JournalStats stats() const override;
  void close() override;

 private:
  struct Location {
    SegmentPtr segment;
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
  };

  // Open-time recovery.
  Status recover_segment(const SegmentPtr& segment, bool is_last);
  void load_cursors();

  // Journal thread.
  void run();
  void commit_batch(std::deque<PendingAppend>& batch);
  bool write_buffer(std::string& buf, std::string& error);
  bool roll_segment(std::string& error);
  bool is_duplicate(std::uint64_t hash, std::string_view id,
                    const std::unordered_set<std::string_view>& batch_ids);
  void housekeeping(bool force_persist);
  void apply_retention();
  bool persist_cursors();
  void publish_gauges();

  // Any thread, mu_ held.
  std::optional<Location> locate(std::uint64_t seq) const;
  std::uint64_t first_retained_seq() const;

  JournalOptions options_;
  std::uint64_t seg_limit_ = 0;
  JournalMetrics metrics_;
  int lock_fd_ = -1;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<PendingAppend> queue_;
  std::vector<SegmentPtr> segments_;  // oldest first; back() is the active one
  std::unordered_multimap<std::uint64_t, std::uint64_t> index_;  // id hash -> seq
  std::map<std::string, Consumer, std::less<>> consumers_;
  std::uint64_t durable_seq_ = 0;
  std::uint64_t bytes_ = 0;
  std::uint64_t pending_bytes_ = 0;
  bool writable_ = true;
  bool closing_ = false;
  bool closed_ = false;
  bool cursors_dirty_ = false;
  std::mutex persist_mu_;  // serialises writers of cursors.json
  bool retention_due_ = false;
  std::shared_ptr<std::atomic<std::uint64_t>> last_seq_shared_;  // for lag gauges

  std::mutex listeners_mu_;
  std::vector<std::function<void(std::uint64_t)>> listeners_;

  std::mutex close_mu_;
  std::thread thread_;

  // Journal thread only.
  SegmentPtr active_;               // == segments_.back() outside a batch
  std::uint64_t write_offset_ = 0;  // bytes written to the active file
  std::uint64_t next_seq_ = 1;
  std::vector<SegmentPtr> new_segments_;  // rolled in this batch, not yet published
  std::vector<Staged> staged_;
  std::string buffer_;
  std::size_t buffer_active_records_ = 0;
  std::size_t last_batch_calls_ = 0;
  std::chrono::steady_clock::duration last_fsync_{};
  std::chrono::steady_clock::time_point last_persist_{};
};

// ---------------------------------------------------------------------------
// Open and recovery.

Status FileJournal::open() {
  std::error_code ec;
  const bool created = std::filesystem::create_directories(options_.dir, ec);
  if (ec)
    return make_error("journal: cannot create " + options_.dir.string() + ": " + ec.message());
  if (created && options_.dir.has_parent_path()) fsync_dir(options_.dir.parent_path());

  // Two processes appending to the same files would interleave records.
  lock_fd_ = ::open((options_.dir / "LOCK").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) return make_error("journal: cannot open lock file: " + errno_text(errno));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return make_error("journal: " + options_.dir.string() + " is in use by another process");
  }

  std::vector<std::pair<std::uint64_t, std::filesystem::path>> files;
  for (const auto& entry : std::filesystem::directory_iterator(options_.dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (auto first = parse_segment_name(name)) {
      files.emplace_back(*first, entry.path());
    } else if (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) {
      std::filesystem::remove(entry.path(), ec);  // an interrupted cursor write
    }
  }
  if (ec) return make_error("journal: cannot list " + options_.dir.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());

  for (std::size_t i = 0; i < files.size(); ++i) {
    auto segment = std::make_shared<Segment>();
    segment->first_seq = files[i].first;
    segment->path = files[i].second;
    if (segment->first_seq == 0) {
      log::error("journal: ignoring segment with seq 0", {{"segment", segment->path.string()}});
      continue;
    }
    if (!segments_.empty() && segment->first_seq < segments_.back()->end_seq()) {
      // Overlapping seqs cannot come from this code; keep the file for a human.
      log::error("journal: ignoring segment that overlaps the previous one",
                 {{"segment", segment->path.string()}});
      continue;
    }
    segment->fd = ::open(segment->path.c_str(), O_RDWR | O_CLOEXEC);
    if (segment->fd < 0) {
      return make_error("journal: cannot open " + segment->path.string() + ": " +
                        errno_text(errno));
    }
    if (auto st = recover_segment(segment, i + 1 == files.size()); !st) return st;
    if (segment->count() == 0 && segment->size == 0 && i + 1 != files.size()) {
      std::filesystem::remove(segment->path, ec);  // an empty sealed segment holds nothing
      continue;
    }
    segments_.push_back(std::move(segment));
  }

  for (const auto& s : segments_) {
    next_seq_ = std::max(next_seq_, s->end_seq());
    bytes_ += s->size;
  }
  durable_seq_ = next_seq_ - 1;

  // Append to the last segment; start a fresh one when there is none.
  if (segments_.empty()) {
    std::string error;
    if (!roll_segment(error)) return make_error("journal: " + error);
    segments_.push_back(active_);
    new_segments_.clear();
  }
  active_ = segments_.back();
  write_offset_ = active_->size;

  load_cursors();
  last_seq_shared_->store(durable_seq_);
  publish_gauges();
  metrics_.last_seq.set(static_cast<double>(durable_seq_));
  log::info("journal opened", {{"dir", options_.dir.string()},
                               {"segments", segments_.size()},
                               {"first_seq", first_retained_seq()},
                               {"last_seq", durable_seq_},
                               {"bytes", bytes_}});

  thread_ = std::thread([this] { run(); });
  return Ok{};
}

Status FileJournal::recover_segment(const SegmentPtr& segment, bool is_last) {
  struct stat st {};
  if (::fstat(segment->fd, &st) != 0) {
    return make_error("journal: cannot stat " + segment->path.string() + ": " + errno_text(errno));
  }
  const auto file_size = static_cast<std::uint64_t>(st.st_size);
  segment->size = file_size;
  segment->written = file_size;
  if (file_size == 0) return Ok{};

  void* map = ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, segment->fd, 0);
  if (map == MAP_FAILED) {
    return make_error("journal: cannot map " + segment->path.string() + ": " + errno_text(errno));
  }
  const char* data = static_cast<const char*>(map);
  std::uint64_t offset = 0;
  std::uint64_t expected = segment->first_seq;
  const char* reason = nullptr;
  std::uint64_t bad_end = 0;  // where the bad record claims to end, when plausible
  while (offset < file_size) {
    RecordView r;
    reason = parse_record(data + offset, file_size - offset, r);
    if (!reason && r.seq != expected) reason = "unexpected seq";
    if (reason) {
      if (file_size - offset >= kHeaderBytes) {
        const std::uint64_t length = get_u32(data + offset);
        if (length <= file_size - offset - kFrameBytes) bad_end = offset + kFrameBytes + length;
      }
      break;
    }
    const std::uint64_t h = id_hash(r.id);
    segment->offsets.push_back(offset);
    segment->hashes.push_back(h);
    index_.emplace(h, r.seq);
    ++expected;
    offset += r.size;
  }

  Status status = Ok{};
  if (reason) {
    const std::uint64_t dropped = file_size - offset;
    if (is_last) {
      // A torn write can only be the tail. When intact-looking data follows
      // the bad record it was something else (bit rot): keep a copy of what
      // is cut off, so nothing acknowledged is destroyed by recovery.
      const bool data_follows = bad_end != 0 && bad_end < file_size;
      std::string saved;
      if (data_follows) {
        auto copy = segment->path;
        copy += "." + std::to_string(offset) + ".corrupt";
        int fd = ::open(copy.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || !pwrite_all(fd, data + offset, dropped, 0) || ::fsync(fd) != 0) {
          status = make_error("journal: cannot save corrupt tail of " + segment->path.string() +
                              ": " + errno_text(errno));
        }
        if (fd >= 0) ::close(fd);
        saved = copy.string();
      }
      if (status) {
        (data_follows ? log::error : log::warn)(
            "journal: truncating corrupt tail of the last segment",
            {{"segment", segment->path.string()},
             {"offset", offset},
             {"reason", reason},
             {"dropped_bytes", dropped},
             {"saved_to", saved}});
        if (::ftruncate(segment->fd, static_cast<off_t>(offset)) != 0 ||
            ::fsync(segment->fd) != 0) {
          status = make_error("journal: cannot truncate " + segment->path.string() + ": " +
                              errno_text(errno));
        } else {
          segment->size = offset;
          segment->written = offset;
        }
      }
    } else {
      // Later segments are intact; the records after this point are lost.
      log::error("journal: corrupt record in a sealed segment, skipping the rest of it",
                 {{"segment", segment->path.string()},
                  {"offset", offset},
                  {"reason", reason},
                  {"skipped_bytes", dropped}});
    }
  }
  ::munmap(map, file_size);
  return status;
}

void FileJournal::load_cursors() {
  const auto path = options_.dir / "cursors.json";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0)
    text.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  boost::system::error_code ec;
  auto value = boost::json::parse(text, ec);
  const boost::json::object* consumers = nullptr;
  if (!ec && value.is_object()) {
    if (auto* c = value.as_object().if_contains("consumers"); c && c->is_object()) {
      consumers = &c->as_object();
    }
  }
  if (!consumers) {
    log::error("journal: unreadable cursors file, consumers start from the newest event",
               {{"path", path.string()}});
    return;
  }
  for (const auto& [name, seq] : *consumers) {
    if (!seq.is_number()) continue;
    boost::system::error_code conv;
    auto v = seq.to_number<std::uint64_t>(conv);
    if (conv) continue;
    if (v > durable_seq_) {
      // Only possible when records a consumer saw were lost (fsync off and a
      // power cut): the seqs will be reused, so the consumer must see them.
      log::warn("journal: consumer cursor is past the last recovered seq",
                {{"consumer", std::string_view(name)}, {"cursor", v}, {"last_seq", durable_seq_}});
      v = durable_seq_;
      cursors_dirty_ = true;
    }
    consumers_[std::string(name)].cursor->store(v);
  }
}

// ---------------------------------------------------------------------------
// Public interface.

void FileJournal::append(std::vector<Event> events, AppendCallback done) {
  AppendResult rejected;
  std::uint64_t bytes = 0;
  for (const auto& e : events)
    bytes += encoded_size(e);
  {
    std::lock_guard lock(mu_);
    if (events.empty()) {
      rejected.code = AppendResult::Code::ok;
    } else if (closing_ || closed_) {
      rejected.code = AppendResult::Code::failed;
      rejected.message = "journal is closed";
    } else if (!writable_) {
      rejected.code = AppendResult::Code::failed;
      rejected.message = "journal is not writable after an I/O error";
    } else if (bytes_ >= options_.max_bytes) {
      rejected.code = AppendResult::Code::full;
      rejected.message = "journal is full";
    } else if (pending_bytes_ > 0 && pending_bytes_ + bytes > options_.max_pending_bytes) {
      rejected.code = AppendResult::Code::busy;
      rejected.message = "too many events waiting for the disk";
    } else {
      pending_bytes_ += bytes;
      metrics_.pending_bytes.set(static_cast<double>(pending_bytes_));
      queue_.push_back(PendingAppend{std::move(events), std::move(done), bytes});
      cv_.notify_one();
      return;
    }
  }
  switch (rejected.code) {
    case AppendResult::Code::full:
      metrics_.rejected_full.inc();
      break;
    case AppendResult::Code::busy:
      metrics_.rejected_busy.inc();
      break;
    case AppendResult::Code::failed:
      metrics_.rejected_failed.inc();
      break;
    case AppendResult::Code::ok:
      break;
  }
  rejected.duplicate.assign(events.size(), false);
  if (done) done(std::move(rejected));
}

std::optional<FileJournal::Location> FileJournal::locate(std::uint64_t seq) const {
  auto it =
      std::upper_bound(segments_.begin(), segments_.end(), seq,
                       [](std::uint64_t s, const SegmentPtr& seg) { return s < seg->first_seq; });
  if (it == segments_.begin()) return std::nullopt;
  const SegmentPtr& seg = *(it - 1);
  if (seq >= seg->end_seq() || seq > durable_seq_) return std::nullopt;
  const std::size_t i = seq - seg->first_seq;
  return Location{seg, seg->offsets[i], seg->record_end(i) - seg->offsets[i]};
}

std::uint64_t FileJournal::first_retained_seq() const {
  for (const auto& s : segments_) {
    if (s->count() > 0) return s->first_seq;
  }
  return 0;
}

std::optional<StoredEvent> FileJournal::lookup(std::string_view id) {
  std::vector<Location> candidates;
  {
    std::lock_guard lock(mu_);
    auto [begin, end] = index_.equal_range(id_hash(id));
    for (auto it = begin; it != end; ++it) {
      if (auto loc = locate(it->second)) candidates.push_back(std::move(*loc));
    }
  }
  std::string buf;
  for (const auto& loc : candidates) {
    buf.resize(loc.size);
    if (!pread_all(loc.segment->fd, buf.data(), buf.size(), loc.offset)) {
      log::error("journal: lookup read failed",
                 {{"segment", loc.segment->path.string()}, {"error", errno_text(errno)}});
      continue;
    }
    RecordView r;
    if (const char* reason = parse_record(buf.data(), buf.size(), r)) {
      log::error(
          "journal: lookup found a corrupt record",
          {{"segment", loc.segment->path.string()}, {"offset", loc.offset}, {"reason", reason}});
      continue;
    }
    if (r.id == id) return to_stored(r);
  }
  return std::nullopt;
}

Result<std::vector<StoredEvent>> FileJournal::read(std::uint64_t after_seq, std::size_t max) {
  struct Span {
    SegmentPtr segment;
    std::uint64_t first_seq, count, begin, end;
  };
  std::vector<Span> spans;
  {
    std::lock_guard lock(mu_);
    std::uint64_t seq = after_seq + 1;
    std::size_t left = max;
    auto it =
        std::upper_bound(segments_.begin(), segments_.end(), seq,
                         [](std::uint64_t s, const SegmentPtr& seg) { return s < seg->first_seq; });
    if (it != segments_.begin()) --it;
    for (; it != segments_.end() && left > 0 && seq <= durable_seq_; ++it) {
      const Segment& seg = **it;
      if (seq >= seg.end_seq()) continue;
      seq = std::max(seq, seg.first_seq);  // before the first retained, or a gap
      const std::uint64_t last = std::min(seg.end_seq() - 1, durable_seq_);
      if (seq > last) break;
      const std::uint64_t n = std::min<std::uint64_t>(left, last - seq + 1);
      const std::size_t i = seq - seg.first_seq;
      spans.push_back(Span{*it, seq, n, seg.offsets[i], seg.record_end(i + n - 1)});
      seq += n;
      left -= n;
    }
  }

  std::vector<StoredEvent> out;
  std::string buf;
  for (const auto& span : spans) {
    buf.resize(span.end - span.begin);
    if (!pread_all(span.segment->fd, buf.data(), buf.size(), span.begin)) {
      return make_error("journal: read " + span.segment->path.string() + ": " + errno_text(errno));
    }
    std::size_t pos = 0;
    for (std::uint64_t k = 0; k < span.count; ++k) {
      RecordView r;
      const char* reason = parse_record(buf.data() + pos, buf.size() - pos, r);
      if (!reason && r.seq != span.first_seq + k) reason = "unexpected seq";
      if (reason) {
        return make_error("journal: corrupt record in " + span.segment->path.string() + " at " +
                          std::to_string(span.begin + pos) + ": " + reason);
      }
      out.push_back(to_stored(r));
      pos += r.size;
    }
  }
  return out;
}

std::uint64_t FileJournal::register_consumer(const std::string& name) {
  std::uint64_t value;
  std::shared_ptr<std::atomic<std::uint64_t>> cursor;
  bool is_new = false;
  {
    std::lock_guard lock(mu_);
    auto [it, inserted] = consumers_.try_emplace(name);
    is_new = inserted;
    Consumer& c = it->second;
    if (inserted) {
      // A new consumer starts with what arrives from now on (hooks turned on
      // or an endpoint added later do not replay history).
      c.cursor->store(durable_seq_);
      cursors_dirty_ = true;
    }
    if (!c.registered) {
      c.registered = true;
      retention_due_ = true;
      cv_.notify_one();
    }
    value = c.cursor->load();
    cursor = c.cursor;
  }
  // A new consumer's starting point is durable before the caller starts
  // accepting events for it: otherwise a crash within the persist interval
  // would restart it at a later "newest event" and skip what came between.
  if (is_new) persist_cursors();
  auto last = last_seq_shared_;
  metrics().gauge_callback("hookd_journal_consumer_lag", "Events a consumer has not finished",
                           {{"consumer", name}}, [cursor, last] {
                             const auto l = last->load(), c = cursor->load();
                             return l > c ? static_cast<double>(l - c) : 0.0;
                           });
  return value;
}

std::uint64_t FileJournal::cursor(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = consumers_.find(name);
  return it == consumers_.end() ? 0 : it->second.cursor->load();
}

void FileJournal::commit(std::string_view name, std::uint64_t seq) {
  std::lock_guard lock(mu_);
  auto it = consumers_.find(name);
  if (it == consumers_.end()) return;
  seq = std::min(seq, durable_seq_);
  if (seq <= it->second.cursor->load()) return;
  it->second.cursor->store(seq);
  cursors_dirty_ = true;
  retention_due_ = true;
  cv_.notify_one();
}

void FileJournal::on_durable(std::function<void(std::uint64_t)> listener) {
  std::lock_guard lock(listeners_mu_);
  listeners_.push_back(std::move(listener));
}

JournalStats FileJournal::stats() const {
  std::lock_guard lock(mu_);
  JournalStats s;
  s.first_seq = first_retained_seq();
  s.last_seq = durable_seq_;
  s.bytes = bytes_;
  s.segments = segments_.size();
  s.pending_bytes = pending_bytes_;
  s.writable = writable_;
  return s;
}

void FileJournal::close() {
  std::lock_guard close_lock(close_mu_);
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closing_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) {
    // From a callback, the thread cannot join itself: it drains and stops on
    // its own, and the destructor joins it.
    if (thread_.get_id() == std::this_thread::get_id()) return;
    thread_.join();
  }
  std::lock_guard lock(mu_);
  closed_ = true;
  if (lock_fd_ >= 0) {
    ::close(lock_fd_);  // lets this process reopen the directory
    lock_fd_ = -1;
  }
}

// ---------------------------------------------------------------------------
// The journal thread.

void FileJournal::run() {
  using clock = std::chrono::steady_clock;
  std::unique_lock lock(mu_);
  while (true) {
    if (queue_.empty()) {
      if (closing_) break;
      if (cursors_dirty_ || retention_due_) {
        cv_.wait_until(lock, last_persist_ + std::chrono::milliseconds(100),
                       [&] { return !queue_.empty() || closing_; });
      } else {
        cv_.wait(lock,
                 [&] { return !queue_.empty() || closing_ || cursors_dirty_ || retention_due_; });
      }
      if (queue_.empty()) {
        lock.unlock();
        housekeeping(false);
        lock.lock();
        continue;
      }
    }

    if (options_.fsync == FsyncMode::batch && options_.batch_window.count() > 0 &&
        last_batch_calls_ > 1 && queue_.size() < last_batch_calls_ && !closing_) {
      const auto linger = std::min<clock::duration>(options_.batch_window, last_fsync_);
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

bool FileJournal::is_duplicate(std::uint64_t hash, std::string_view id,
                               const std::unordered_set<std::string_view>& batch_ids) {
  if (batch_ids.count(id)) return true;
  // The index only changes on this thread, so reading it unlocked is safe;
  // segments_ likewise.
  auto [begin, end] = index_.equal_range(hash);
  if (begin == end) return false;
  std::string buf;
  for (auto it = begin; it != end; ++it) {
    std::optional<Location> loc;
    {
      std::lock_guard lock(mu_);
      loc = locate(it->second);
    }
    if (!loc) continue;
    buf.resize(loc->size);
    RecordView r;
    if (!pread_all(loc->segment->fd, buf.data(), buf.size(), loc->offset) ||
        parse_record(buf.data(), buf.size(), r) != nullptr) {
      return true;  // same 64-bit hash and unreadable: treat as the same id
    }
    if (r.id == id) return true;
  }
  return false;
}

bool FileJournal::write_buffer(std::string& buf, std::string& error) {
  if (buf.empty()) return true;
  if (!pwrite_all(active_->fd, buf.data(), buf.size(), write_offset_)) {
    error = "write " + active_->path.string() + ": " + errno_text(errno);
    return false;
  }
  write_offset_ += buf.size();
  active_->written = write_offset_;
  buf.clear();
  return true;
}

// Seals the active segment (already synced by the caller) and starts a new
// one named by the next seq.
bool FileJournal::roll_segment(std::string& error) {
  auto segment = std::make_shared<Segment>();
  segment->first_seq = next_seq_;
  segment->path = options_.dir / segment_name(next_seq_);
  segment->fd = ::open(segment->path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (segment->fd < 0) {
    error = "create " + segment->path.string() + ": " + errno_text(errno);
    return false;
  }
  if (options_.fsync != FsyncMode::off && !fsync_dir(options_.dir)) {
    error = "fsync " + options_.dir.string() + ": " + errno_text(errno);
    return false;
  }
  active_ = segment;
  write_offset_ = 0;
  buffer_active_records_ = 0;
  new_segments_.push_back(std::move(segment));
  return true;
}

void FileJournal::commit_batch(std::deque<PendingAppend>& batch) {
  using clock = std::chrono::steady_clock;
  const std::uint64_t first_seq = next_seq_;
  const std::uint64_t start_offset = write_offset_;
  SegmentPtr start_segment = active_;
  std::uint64_t batch_bytes = 0;
  std::size_t events_total = 0, duplicates = 0;
  std::vector<std::vector<bool>> flags(batch.size());
  std::unordered_set<std::string_view> batch_ids;
  staged_.clear();
  buffer_.clear();
  buffer_active_records_ = active_->count();
  std::string error;
  bool ok = true;
  auto sync_active = [&]() -> bool {
    if (options_.fsync == FsyncMode::off) return true;
    const auto t0 = clock::now();
    const bool synced = ::fdatasync(active_->fd) == 0;
    last_fsync_ = clock::now() - t0;
    metrics_.fsync_seconds.observe(std::chrono::duration<double>(last_fsync_).count());
    if (!synced) error = "fdatasync " + active_->path.string() + ": " + errno_text(errno);
    return synced;
  };

  for (std::size_t c = 0; c < batch.size() && ok; ++c) {
    PendingAppend& call = batch[c];
    batch_bytes += call.bytes;
    flags[c].assign(call.events.size(), false);
    for (std::size_t i = 0; i < call.events.size() && ok; ++i) {
      const Event& e = call.events[i];
      ++events_total;
      const std::uint64_t h = id_hash(e.id);
      if (is_duplicate(h, e.id, batch_ids)) {
        flags[c][i] = true;
        ++duplicates;
        continue;
      }
      const std::size_t size = encoded_size(e);
      if (buffer_active_records_ > 0 && write_offset_ + buffer_.size() + size > seg_limit_) {
        ok = write_buffer(buffer_, error) && sync_active() && roll_segment(error);
        if (!ok) break;
      } else if (buffer_.size() >= kFlushBytes) {
        ok = write_buffer(buffer_, error);  // bounded memory; still one fsync
        if (!ok) break;
      }
      staged_.push_back(Staged{next_seq_, h, active_.get(), write_offset_ + buffer_.size()});
      encode_record(buffer_, next_seq_, e);
      ++next_seq_;
      ++buffer_active_records_;
      batch_ids.insert(e.id);
    }
  }
  if (ok && !staged_.empty()) ok = write_buffer(buffer_, error) && sync_active();
  buffer_.clear();
  if (buffer_.capacity() > 2 * kFlushBytes) std::string().swap(buffer_);

  if (ok) {
    std::lock_guard lock(mu_);
    for (auto& s : new_segments_)
      segments_.push_back(s);
    for (const Staged& s : staged_) {
      s.segment->offsets.push_back(s.offset);
      s.segment->hashes.push_back(s.hash);
      index_.emplace(s.hash, s.seq);
    }
    // The segment the batch started in and every one rolled since grew.
    auto grow = [&](Segment& seg) {
      bytes_ += seg.written - seg.size;
      seg.size = seg.written;
    };
    grow(*start_segment);
    for (auto& s : new_segments_)
      grow(*s);
    durable_seq_ = next_seq_ - 1;
    pending_bytes_ -= batch_bytes;
    last_seq_shared_->store(durable_seq_);
  } else {
    log::error("journal: write failed, the journal stops accepting events",
               {{"dir", options_.dir.string()}, {"error", error}});
    // Best effort: cut what this batch wrote, so that a reopen does not find
    // records whose appends were answered `failed`.
    if (new_segments_.empty() &&
        ::ftruncate(start_segment->fd, static_cast<off_t>(start_offset)) == 0) {
      start_segment->written = start_offset;
    }
    std::lock_guard lock(mu_);
    for (auto& s : new_segments_)
      segments_.push_back(s);  // the files exist
    writable_ = false;
    pending_bytes_ -= batch_bytes;
    next_seq_ = first_seq;
  }
  new_segments_.clear();
  last_batch_calls_ = batch.size();

  if (ok) {
    metrics_.appended.inc(static_cast<double>(staged_.size()));
    if (duplicates) metrics_.duplicates.inc(static_cast<double>(duplicates));
    metrics_.batch_events.observe(static_cast<double>(events_total));
  } else {
    metrics_.rejected_failed.inc(static_cast<double>(batch.size()));
  }
  publish_gauges();

  for (std::size_t c = 0; c < batch.size(); ++c) {
    if (!batch[c].done) continue;
    AppendResult r;
    if (ok) {
      r.duplicate = std::move(flags[c]);
    } else {
      r.code = AppendResult::Code::failed;
      r.message = "journal write failed: " + error;
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

  if (ok && !staged_.empty()) {
    const std::uint64_t last = next_seq_ - 1;
    std::lock_guard lock(listeners_mu_);
    for (auto& listener : listeners_)
      listener(last);
  }
  staged_.clear();
}

void FileJournal::housekeeping(bool force_persist) {
  bool persist = false;
  {
    std::lock_guard lock(mu_);
    retention_due_ = false;
    const auto now = std::chrono::steady_clock::now();
    persist =
        cursors_dirty_ && (force_persist || now - last_persist_ >= std::chrono::milliseconds(100));
  }
  // Cheap when nothing is deletable; bytes changed after every commit.
  apply_retention();
  if (persist) persist_cursors();
}

void FileJournal::apply_retention() {
  std::vector<SegmentPtr> doomed;
  {
    std::lock_guard lock(mu_);
    bool any_consumer = false;
    std::uint64_t min_cursor = UINT64_MAX;
    for (const auto& [name, c] : consumers_) {
      if (!c.registered) continue;
      any_consumer = true;
      min_cursor = std::min(min_cursor, c.cursor->load());
    }
    while (segments_.size() > 1) {
      const Segment& front = *segments_.front();
      bool deletable;
      if (front.count() == 0) {
        deletable = true;
      } else if (any_consumer) {
        deletable = min_cursor >= front.end_seq() - 1;
      } else {
        // Nobody needs the data: keep as much history as fits, leaving room
        // for the active segment to fill so appends are never refused.
        deletable = bytes_ + seg_limit_ > options_.max_bytes;
      }
      if (!deletable) break;
      bytes_ -= front.size;
      doomed.push_back(segments_.front());
      segments_.erase(segments_.begin());
    }
  }
  if (doomed.empty()) return;
  for (const auto& seg : doomed) {
    std::error_code ec;
    std::filesystem::remove(seg->path, ec);
    if (ec) {
      log::error("journal: cannot delete segment",
                 {{"segment", seg->path.string()}, {"error", ec.message()}});
    } else {
      log::debug("journal: deleted segment",
                 {{"segment", seg->path.string()}, {"last_seq", seg->end_seq() - 1}});
    }
    // Drop the ids in chunks so appenders never wait long for the lock.
    constexpr std::size_t kChunk = 4096;
    for (std::size_t i = 0; i < seg->count(); i += kChunk) {
      std::lock_guard lock(mu_);
      const std::size_t end = std::min<std::size_t>(seg->count(), i + kChunk);
      for (std::size_t k = i; k < end; ++k) {
        auto [b, e] = index_.equal_range(seg->hashes[k]);
        for (auto it = b; it != e; ++it) {
          if (it->second == seg->first_seq + k) {
            index_.erase(it);
            break;
          }
        }
      }
    }
  }
  publish_gauges();
}

bool FileJournal::persist_cursors() {
  // The journal thread and register_consumer() both write the same files.
  std::lock_guard persist_lock(persist_mu_);
  boost::json::object consumers;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, c] : consumers_)
      consumers[name] = c.cursor->load();
    cursors_dirty_ = false;
    last_persist_ = std::chrono::steady_clock::now();
  }
  boost::json::object root;
  root["version"] = 1;
  root["consumers"] = std::move(consumers);
  const std::string text = boost::json::serialize(root) + "\n";
  const auto path = options_.dir / "cursors.json";
  const auto tmp = options_.dir / "cursors.json.tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  bool ok = fd >= 0 && pwrite_all(fd, text.data(), text.size(), 0) && ::fsync(fd) == 0;
  const int err = errno;
  if (fd >= 0) ::close(fd);
  ok = ok && ::rename(tmp.c_str(), path.c_str()) == 0 && fsync_dir(options_.dir);
  if (!ok) {
    log::error("journal: cannot persist cursors",
               {{"path", path.string()}, {"error", errno_text(fd < 0 ? errno : err)}});
    std::lock_guard lock(mu_);
    cursors_dirty_ = true;  // try again on the next tick
  }
  return ok;
}

void FileJournal::publish_gauges() {
  std::lock_guard lock(mu_);
  metrics_.bytes.set(static_cast<double>(bytes_));
  metrics_.segments.set(static_cast<double>(segments_.size()));
  metrics_.pending_bytes.set(static_cast<double>(pending_bytes_));
  metrics_.last_seq.set(static_cast<double>(durable_seq_));
}

}  // namespace

Result<std::unique_ptr<Journal>> open_file_journal(const JournalOptions& options) {
  if (options.dir.empty()) return make_error("journal: no directory given");
  auto journal = std::make_unique<FileJournal>(options);
  if (auto st = journal->open(); !st) return st.error();
  return std::unique_ptr<Journal>(std::move(journal));
}

}  // namespace hookd
