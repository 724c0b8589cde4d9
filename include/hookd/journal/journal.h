// Journal: the durable, append-only event log every consumer reads from.
//
// The interface is small on purpose (append, lookup, read from a cursor,
// commit a cursor) so that a shared backend (Redis Streams) can replace the
// embedded file journal without touching the server, hooks or delivery.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/core/event.h"
#include "hookd/core/result.h"
#include "hookd/journal/crc32c.h"  // crc32c(), as framed around every record

namespace hookd {

enum class FsyncMode { batch, always, off };

struct StoredEvent {
  std::uint64_t seq = 0;  // position in the journal, starting at 1, dense
  Event event;
  // A shared backend hands over an event another node had already failed to
  // deliver: its failed attempts so far and when the next one is due (unix
  // ms), so that the retry schedule goes on where it was. Zero: a first attempt.
  std::size_t failures = 0;
  std::int64_t retry_due_unix_ms = 0;
  // A dead letter replayed through a shared backend (SharedDeadLetters): its
  // line, which holds what to send; `event` then carries only its id.
  std::string dead_letter;
};

struct AppendResult {
  enum class Code {
    ok,        // every event is durable (per FsyncMode) or was already stored
    full,      // journal at max_bytes: nothing appended (HTTP 503)
    busy,      // too many bytes waiting for the disk: nothing appended (HTTP 429)
    failed,    // I/O error, or closed: nothing acknowledged (HTTP 503)
    no_space,  // the disk is full (ENOSPC, EDQUOT): nothing acknowledged (HTTP 507)
  };
  Code code = Code::ok;
  std::string message;
  // failed or no_space after an I/O error: when the journal tries the disk
  // again (a retry before then is refused too). Zero when it will not (closed).
  std::chrono::milliseconds retry_after{0};
  std::vector<bool> duplicate;  // per input event: id was already in the journal
};

// Called once, on the journal's own thread (or inline when rejected at once).
using AppendCallback = std::function<void(AppendResult)>;

struct JournalStats {
  std::uint64_t first_seq = 0;  // oldest retained (0 when empty)
  std::uint64_t last_seq = 0;   // newest durable
  std::uint64_t bytes = 0;      // on disk, all segments
  std::uint64_t segments = 0;
  std::uint64_t pending_bytes = 0;  // appended, not yet durable
  // False after a failed write or fsync until the disk takes writes again
  // (the journal probes it on a back-off); the reason says what failed.
  bool writable = true;
  std::string unwritable_reason;
};

class Journal {
 public:
  virtual ~Journal() = default;

  // Appends the events whose ids are new, in order; duplicates (ids already
  // stored or pending) are skipped and flagged. `done` runs once they are
  // durable. Never blocks the caller on disk I/O.
  virtual void append(std::vector<Event> events, AppendCallback done) = 0;

  // The event with this id, among those within the dedupe window (ids
  // accepted longer ago are neither found nor deduplicated).
  virtual std::optional<StoredEvent> lookup(std::string_view id) = 0;

  // Durable events with seq > after_seq, oldest first, at most `max`.
  virtual Result<std::vector<StoredEvent>> read(std::uint64_t after_seq, std::size_t max) = 0;

  // What the named consumer should work on next, in its cursor's seqs. One
  // journal on one node hands every consumer every event (read()); a shared
  // backend hands each node's consumer only its share, numbered per consumer.
  virtual Result<std::vector<StoredEvent>> read_for(std::string_view /*consumer*/,
                                                    std::uint64_t after_seq, std::size_t max) {
    return read(after_seq, max);
  }

  // Named consumers (hooks, each endpoint) keep a cursor: the highest seq
  // they have finished. Registering twice returns the stored cursor. Segments
  // are deleted once every registered cursor has passed them.
  virtual std::uint64_t register_consumer(const std::string& name) = 0;
  virtual std::uint64_t cursor(std::string_view name) const = 0;
  virtual void commit(std::string_view name, std::uint64_t seq) = 0;

  // Forgets a consumer that is gone for good (a deleted endpoint): its cursor
  // is dropped, so segments are no longer kept for it, and registering the
  // name again starts at the newest event. Not pure, so that a backend with
  // nothing to forget (or a test double) need not override it.
  virtual void unregister_consumer(const std::string& /*name*/) {}

  // The consumer's event at `seq` failed `failures` times and is tried again
  // at `due_unix_ms`. A shared backend records it beside the event, so that
  // a node taking the event over (this one died) continues the schedule; the
  // record goes when the event is committed. A local journal has no one to
  // hand over to.
  virtual void retry_scheduled(std::string_view /*consumer*/, std::uint64_t /*seq*/,
                               std::size_t /*failures*/, std::int64_t /*due_unix_ms*/) {}

  // Called on the journal thread with the newest durable seq after each
  // commit. Listeners must only post work, never block.
  virtual void on_durable(std::function<void(std::uint64_t last_seq)> listener) = 0;

  // A shared backend: `listener` gets every event any node appended (this
  // node's too), in the shared log's order from the oldest it still holds,
  // on the backend's thread, as it reads them; an event may come twice.
  // Listeners must not block. A local journal has no other writer and
  // never calls it: its events are all read().
  virtual void on_shared_events(std::function<void(const std::vector<Event>&)> /*listener*/) {}

  virtual JournalStats stats() const = 0;

  // Completes pending appends, persists cursors, stops the journal thread.
  virtual void close() = 0;
};

struct JournalOptions {
  std::filesystem::path dir;                      // e.g. <data-dir>/journal
  std::uint64_t max_bytes = 1ull << 30;           // beyond: append -> full
  std::uint64_t segment_bytes = 64ull << 20;      // roll to a new file
  std::uint64_t max_pending_bytes = 64ull << 20;  // beyond: append -> busy
  FsyncMode fsync = FsyncMode::batch;
  std::chrono::microseconds batch_window{2000};  // max linger for concurrent appenders; 0 = none
  // Ids accepted longer ago than this are forgotten by the id index: no
  // longer deduplicated nor found by lookup(), and no longer costing memory.
  // Zero: every retained id stays indexed.
  std::chrono::milliseconds dedupe_window{0};
  // Reserve each segment's disk blocks and size (fallocate) when it is
  // created, so appends allocate nothing and a group commit's fdatasync
  // commits no file-size change; a full disk then shows when a segment is
  // created. The daemon turns it on; off, a segment file is exactly its
  // records.
  bool preallocate = false;
};

// The embedded default: segment files of CRC32C-framed records under
// options.dir, recovered (torn tail truncated) on open. Throws nothing;
// start-up errors come back as Error.
Result<std::unique_ptr<Journal>> open_file_journal(const JournalOptions& options);

}  // namespace hookd
