// Dead letters: the events an endpoint gave up on, one JSON line each in
// <dir>/<endpoint>.dead-letters.jsonl. A delivered replay appends a
// {"removed":id} tombstone; start-up compacts removed, replaced and torn
// lines away. The line format is pure functions over text (thread-safe);
// DeadLetterStore keeps one endpoint's file and the ids in it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "hookd/core/result.h"

namespace boost::asio {
class io_context;
}

namespace hookd {

class BlockingIoThread;

struct DeadLetter {
  std::string id;
  std::string type;
  std::uint64_t seq = 0;  // journal position when it was given up; 0 for a replay
  std::int64_t arrival_unix_ms = 0;
  std::int64_t time_ms = 0;  // the event's timestamp (Splunk HEC "time")
  std::string dead_at;       // RFC 3339
  std::size_t attempts = 0;
  std::string last_error;
  std::string event_json;  // as a string: a replay sends exactly these bytes

  bool operator==(const DeadLetter&) const = default;
};

// One record as its '\n'-terminated line.
std::string dead_letter_line(const DeadLetter& letter);

// The line that removes `id` from the list.
std::string tombstone_line(std::string_view id);

struct DeadLetterScan {
  std::vector<DeadLetter> live;  // oldest first
  std::size_t stale_lines = 0;   // removed, replaced, torn or damaged: worth compacting
};

// The live records of a file's text: a later record of the same id replaces
// an earlier one, a tombstone deletes it, and a last line without its '\n'
// (torn by a crash) never became durable, so it does not count.
DeadLetterScan parse_dead_letters(std::string_view text);

// A file holding exactly `live`, for compaction.
std::string dead_letters_text(const std::vector<DeadLetter>& live);

// DeadLetterStore: one endpoint's dead-letter file and the ids in it. File
// I/O runs in order on the BlockingIoThread; callbacks come back on the
// io_context. contains() and size() are thread-safe (status requests read
// them); everything else runs on the io_context.
class DeadLetterStore : public std::enable_shared_from_this<DeadLetterStore> {
 public:
  // `endpoint` names the endpoint in errors and logs.
  DeadLetterStore(boost::asio::io_context& io, std::shared_ptr<BlockingIoThread> files,
                  std::filesystem::path file, std::string endpoint);

  // Reads the file's ids, compacting it first when it has stale lines.
  // Blocking: for start-up (or on the BlockingIoThread).
  Status load();

  // Appends `lines` durably ("" appends nothing but keeps the order), then
  // runs `done` on the io_context. The ids join the list with add().
  void append(std::string lines, std::function<void(Status)> done);

  // Adds ids whose lines are durable; returns the list's size.
  std::size_t add(const std::vector<std::string>& ids);

  // Removes delivered ids: appends their tombstones, or empties the file when
  // none is left. Returns the list's size when an id was removed. Losing a
  // tombstone to a crash only means one more replay.
  std::optional<std::size_t> remove(const std::vector<std::string>& ids);

  // The live records as the file has them, read on the BlockingIoThread.
  void read(std::function<void(std::vector<DeadLetter>)> done);

  bool contains(const std::string& id) const;
  std::size_t size() const;

 private:
  boost::asio::io_context& io_;
  std::shared_ptr<BlockingIoThread> files_;
  std::filesystem::path file_;
  std::string endpoint_;
  std::size_t appends_in_flight_ = 0;  // handed to the thread, not yet done
  mutable std::mutex mutex_;
  std::unordered_set<std::string> ids_;
};

}  // namespace hookd
