// HookResultStore: the finished hook runs, kept durably so GET /v1/events/{id}
// shows a run's outcome after a restart (or a kill -9), so the runner knows
// which arrivals already ran to the end, and so each run's hook.finished
// event is journaled eventually: the store remembers which ones the journal
// has taken (a small "journaled" record) and hands out the others.
//
// Each finished run is one CRC32C-framed record appended to segment files
// <dir>/<number>.log by the store's own thread, which fdatasyncs a batch
// (what arrives within --hook-result-commit-window of its first record: one sync for the results of
// runs that end close together) before the records become visible and their
// callbacks run: callers never wait on the disk. The latest record of each
// event is also held in memory (so --hook-result-max-bytes bounds memory as
// well as disk). Whole segments go, oldest first, once their newest record
// is older than the retention or the files pass the byte cap. Opening reads
// the segments back; a torn tail (a crash mid-write) is cut off. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/core/result.h"

namespace hookd {

struct HookResultStoreOptions {
  std::filesystem::path dir;  // <data-dir>/hooks/results
  std::chrono::milliseconds retention{30LL * 24 * 3600 * 1000};
  std::uint64_t max_bytes = 64ull << 20;
  // Group commit: after the first record of a batch the writer lets more
  // gather this long, or until this many are queued, then syncs them once.
  std::chrono::milliseconds commit_window{2};
  std::size_t commit_max = 64;
};

// One finished run (never an interrupted one: that runs again).
struct HookResultRecord {
  std::string event_id;
  std::int64_t arrival_unix_ms = 0;  // with event_id: which arrival of the event ran
  std::int64_t finished_unix_ms = 0;
  std::string event_type;
  std::optional<std::string> sid;  // the Hoop session id, when the payload has one
  std::string status_json;         // the run as GET /v1/events/{id} shows it (hook_results.h)
};

// The record's bytes: [u32 length][u32 crc32c][JSON of the record], where the
// CRC covers the JSON. With `journaled_marker`, the record only says that the
// hook.finished of (event_id, arrival_unix_ms) is in the journal. Pure
// functions, exposed for the tests.
std::string encode_hook_result(const HookResultRecord& record, bool journaled_marker = false);
struct DecodedHookResult {
  std::optional<HookResultRecord> record;  // nullopt: no whole, valid record here
  bool journaled_marker = false;           // then only event_id and arrival are set
  std::size_t size = 0;                    // bytes the record took
};
DecodedHookResult decode_hook_result(std::string_view bytes);

class HookResultStore {
 public:
  // Reads the segments (blocking: start-up), drops what the retention or the
  // byte cap no longer allow, and starts the writer thread.
  static Result<std::unique_ptr<HookResultStore>> open(HookResultStoreOptions options);
  ~HookResultStore();  // writes what is queued first (or gives up on a failing disk)
  HookResultStore(const HookResultStore&) = delete;
  HookResultStore& operator=(const HookResultStore&) = delete;

  // Queues the record; from any thread. `durable` runs on the store's thread
  // once it is on disk and visible. A failing write is retried with back-off
  // (hookd_hook_results_write_errors_total), so `durable` may run late, or
  // not at all when the store is destroyed first.
  void append(HookResultRecord record, std::function<void()> durable = nullptr);

  // The latest recorded run of the event (its status JSON), or nullopt.
  std::optional<std::string> status_json(std::string_view event_id) const;
  // The latest record of the event, if it is of this arrival.
  std::optional<HookResultRecord> finished_run(std::string_view event_id,
                                               std::int64_t arrival_unix_ms) const;

  // Up to `max` kept runs whose hook.finished the journal has not taken yet,
  // oldest first.
  std::vector<HookResultRecord> unjournaled(std::size_t max) const;
  // The journal holds the hook.finished of these runs: they are no longer
  // handed out, and a marker record says so after a restart (should it be
  // lost to a crash, they are sent again, and the journal drops the repeat).
  void mark_journaled(const std::vector<HookResultRecord>& records);

  // Drops the segments the retention or the byte cap no longer allow, as
  // the writer thread does after each batch and once a minute when idle.
  void trim();

  std::size_t entries() const;
  std::uint64_t bytes() const;

 private:
  struct Impl;
  explicit HookResultStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hookd
