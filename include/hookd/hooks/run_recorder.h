// RunRecorder: what happens to a finished hook run after its child is gone.
// Its result goes to the HookResultStore (so GET /v1/events/{id} shows it
// after a restart), and the hooks cursor may pass the event once it is
// durable there. Its hook.finished event (hook_finished.h) then goes to the
// journal from the store's list of runs not yet journaled, in batches, one
// append at a time; the store notes each batch the journal took. A journal
// that refuses (full, busy, no space, failing) is asked again with back-off,
// counted in hookd_hook_finished_append_retries_total{reason}.
//
// Why the cursor does not wait for the hook.finished: a journal that is full
// because the hooks consumer lags behind frees space only when that cursor
// moves, so a cursor waiting for an append into that journal would wait
// forever. The store holds the owed events instead: a crash loses none (they
// are sent after the restart), and a repeat is dropped by the journal by id.
// Without a store, runs are not recorded and no hook.finished is journaled.
//
// Not thread-safe: call it from the runner's strand; `done` callbacks come
// back through `post`, so they run there too.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

namespace boost::asio {
class io_context;
}

namespace hookd {

class HookResultStore;
class Journal;
struct HookResultRecord;

class RunRecorder {
 public:
  // `post` runs a function on the runner's strand.
  RunRecorder(boost::asio::io_context& io, Journal& journal, std::shared_ptr<HookResultStore> store,
              std::function<void(std::function<void()>)> post);
  ~RunRecorder();
  RunRecorder(const RunRecorder&) = delete;
  RunRecorder& operator=(const RunRecorder&) = delete;

  // Sends the hook.finished events the store still owes (runs recorded
  // before a restart).
  void start();
  // `done` once the result is durable in the store (at once without one);
  // its hook.finished follows.
  void record(HookResultRecord record, std::function<void()> done);
  // A drain gave up: the results not durable yet never call `done` (their
  // events run again after a restart), and no more appends are made.
  void abandon();

  // Results whose `done` has not run yet.
  std::size_t pending() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace hookd
