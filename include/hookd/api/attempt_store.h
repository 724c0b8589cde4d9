// AttemptStore: every delivery attempt to an API endpoint, kept durably so
// the attempts API answers after a restart.
//
// Attempts are appended, one line each (attempt_codec.h), to segment files
// <dir>/<number>.jsonl by the store's own thread, which fdatasyncs each
// batch before the attempts become visible: callers never wait on the disk.
// An index in memory (by message, by endpoint) points at the lines; a list
// reads its page's lines back from the files. Whole segments go, oldest
// first, once their newest attempt is older than the retention or the files
// pass the byte cap. The index, and each endpoint's health, are rebuilt
// from the files at start-up; a torn last line is cut off. Thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hookd/api/endpoint_health.h"
#include "hookd/api/model.h"
#include "hookd/api/pagination.h"
#include "hookd/core/result.h"

namespace hookd::api {

struct AttemptStoreOptions {
  std::filesystem::path dir;  // <data-dir>/api/attempts
  std::int64_t retention_ms = 30LL * 24 * 3600 * 1000;
  std::uint64_t max_bytes = 256ull << 20;
};

// What a list keeps besides its key: Svix's query filters.
struct AttemptFilter {
  std::optional<int> status;             // MessageStatus
  std::optional<int> status_code_class;  // 0 (no answer), 100, 200, 300, 400, 500
  std::string endpoint_id;               // "": every endpoint
  // The message's own filters (event types, channel); empty: every message.
  std::function<bool(const std::string& msg_id)> message;
};

class AttemptStore {
 public:
  // Reads the segments (blocking: start-up) and starts the writer thread.
  static Result<std::unique_ptr<AttemptStore>> open(AttemptStoreOptions options);
  ~AttemptStore();  // writes what is queued first
  AttemptStore(const AttemptStore&) = delete;
  AttemptStore& operator=(const AttemptStore&) = delete;

  // Queues an attempt (its id already set; a response that is not UTF-8
  // text is kept as base64); from any thread.
  void append(Attempt attempt);
  // Runs on the store's thread for each attempt once it is durable and
  // listed. Set before the first append; must not block for long.
  void on_recorded(std::function<void(const Attempt&)> listener);

  // One page, newest first, as Svix lists attempts. The items point into
  // `storage`.
  Page<Attempt> list_by_message(const std::string& msg_id, ListQuery query,
                                const AttemptFilter& filter, std::vector<Attempt>& storage) const;
  Page<Attempt> list_by_endpoint(const std::string& endpoint_id, ListQuery query,
                                 const AttemptFilter& filter, std::vector<Attempt>& storage) const;
  // Whether the endpoint has any attempt of the message.
  bool attempted(const std::string& msg_id, const std::string& endpoint_id) const;

  EndpointHealth health(const std::string& endpoint_id) const;
  // Starts the endpoint's failure clock again (it was just disabled).
  void reset_health(const std::string& endpoint_id);

  std::size_t size() const;
  std::uint64_t bytes() const;

 private:
  struct Impl;
  explicit AttemptStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hookd::api
