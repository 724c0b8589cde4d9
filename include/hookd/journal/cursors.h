// Named consumer cursors of the file journal: the highest seq each consumer
// (hooks, each endpoint) has finished, which of them registered in this
// process (only those hold segments), and their file:
//   cursors.json: {"version":1,"consumers":{"<name>":<seq>,...}}
// Thread-safe. persist(), and registering or dropping a consumer, block on
// fsync: the journal thread persists the others in the background.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace hookd::journal_detail {

// name -> cursor, as in the file.
using CursorSnapshot = std::map<std::string, std::uint64_t, std::less<>>;

std::string encode_cursor_file(const CursorSnapshot& cursors);
// nullopt when the text is not a cursor file; entries that are not a seq are
// skipped.
std::optional<CursorSnapshot> decode_cursor_file(std::string_view text);

class ConsumerCursors {
 public:
  struct Registration {
    std::uint64_t cursor = 0;
    bool newly_held = false;  // first registration in this process
    // The live cursor, for a lag gauge read at scrape time.
    std::shared_ptr<const std::atomic<std::uint64_t>> value;
  };

  explicit ConsumerCursors(std::filesystem::path file);

  // Reads the file. A cursor past `last_seq` is pulled back to it: only
  // possible when records a consumer saw were lost (fsync off and a power
  // cut), and the seqs will be reused, so the consumer must see them. No file:
  // nothing to read; an unreadable one is logged and ignored.
  void load(std::uint64_t last_seq);

  // Registers `name`. A consumer not known yet starts at `start`, and that
  // starting point is in the file before this returns: otherwise a crash
  // within the persist interval would restart it at a later "newest event"
  // and skip what came between.
  Registration register_consumer(const std::string& name, std::uint64_t start);

  // Drops the consumer and its cursor, from the file too before this returns
  // (a crash must not bring the old cursor back for a consumer registered
  // later under the same name). False when it was not known.
  bool unregister(std::string_view name);

  // 0 for an unknown name.
  std::uint64_t cursor(std::string_view name) const;

  // Moves the cursor forward to `seq`; false when it is unknown or already
  // there.
  bool advance(std::string_view name, std::uint64_t seq);

  // The lowest cursor of the consumers registered in this process; nullopt
  // when there are none.
  std::optional<std::uint64_t> min_registered() const;

  // Changed since last persisted.
  bool dirty() const;
  std::chrono::steady_clock::time_point last_persist() const;

  // Writes the file atomically; on failure it stays dirty (and is logged).
  void persist();

 private:
  struct Consumer {
    std::shared_ptr<std::atomic<std::uint64_t>> cursor =
        std::make_shared<std::atomic<std::uint64_t>>(0);
    bool registered = false;  // in this process
  };

  const std::filesystem::path file_;
  std::mutex persist_mu_;  // one writer of the file at a time
  mutable std::mutex mu_;
  std::map<std::string, Consumer, std::less<>> consumers_;
  bool dirty_ = false;
  std::chrono::steady_clock::time_point last_persist_{};
};

}  // namespace hookd::journal_detail
