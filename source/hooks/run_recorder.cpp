#include "hookd/hooks/run_recorder.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <vector>

#include "hookd/core/log.h"
#include "hookd/core/metrics.h"
#include "hookd/core/rfc3339.h"
#include "hookd/hooks/hook_finished.h"
#include "hookd/hooks/hook_result_store.h"
#include "hookd/journal/journal.h"

namespace hookd {
namespace {

namespace asio = boost::asio;

constexpr std::size_t kBatch = 256;  // hook.finished events per append
constexpr std::chrono::milliseconds kFirstRetry{100};
constexpr std::chrono::milliseconds kLastRetry{5000};

const char* refusal(AppendResult::Code code) {
  switch (code) {
    case AppendResult::Code::full:
      return "full";
    case AppendResult::Code::busy:
      return "busy";
    case AppendResult::Code::no_space:
      return "no_space";
    default:
      return "failed";
  }
}

struct RecorderMetrics {
  Counter& appended = metrics().counter("hookd_hook_finished_events_total",
                                        "hook.finished events the journal took (or had already)");
  Counter& retry(const char* reason) {
    return metrics().counter("hookd_hook_finished_append_retries_total",
                             "hook.finished appends the journal refused, asked again later",
                             {{"reason", reason}});
  }
};

RecorderMetrics& recorder_metrics() {
  static RecorderMetrics m;
  return m;
}

}  // namespace

struct RunRecorder::State : std::enable_shared_from_this<RunRecorder::State> {
  State(asio::io_context& io, Journal& journal, std::shared_ptr<HookResultStore> store,
        std::function<void(std::function<void()>)> post)
      : io(io), journal(journal), store(std::move(store)), post(std::move(post)) {}

  // The next batch of owed hook.finished events, unless one is on its way.
  void send() {
    if (sending || waiting || abandoned || !store) return;
    auto batch = std::make_shared<std::vector<HookResultRecord>>(store->unjournaled(kBatch));
    if (batch->empty()) return;
    std::vector<Event> events;
    events.reserve(batch->size());
    const std::int64_t now = now_unix_ms();
    for (const HookResultRecord& record : *batch)
      events.push_back(hook_finished_event(record, now));
    sending = true;
    auto self = shared_from_this();
    journal.append(std::move(events), [self, batch](AppendResult result) {
      self->post([self, batch, result = std::move(result)] { self->sent(*batch, result); });
    });
  }

  void sent(const std::vector<HookResultRecord>& batch, const AppendResult& result) {
    sending = false;
    if (abandoned) return;
    if (result.code == AppendResult::Code::ok) {  // new, or already journaled
      store->mark_journaled(batch);
      recorder_metrics().appended.inc(static_cast<double>(batch.size()));
      delay = kFirstRetry;
      send();
      return;
    }
    const char* reason = refusal(result.code);
    recorder_metrics().retry(reason).inc();
    auto wait = std::max(delay, result.retry_after);
    log::warn("hook.finished not journaled, retrying",
              {{"events", batch.size()},
               {"reason", reason},
               {"error", result.message},
               {"retry_in_ms", static_cast<std::int64_t>(wait.count())}});
    delay = std::min(delay * 2, kLastRetry);
    waiting = true;
    auto timer = std::make_shared<asio::steady_timer>(io, wait);
    auto self = shared_from_this();
    timer->async_wait([self, timer](boost::system::error_code ec) {
      if (ec) return;
      self->post([self] {
        self->waiting = false;
        self->send();
      });
    });
  }

  asio::io_context& io;
  Journal& journal;
  const std::shared_ptr<HookResultStore> store;
  const std::function<void(std::function<void()>)> post;
  std::size_t pending = 0;
  bool sending = false;  // an append is on its way
  bool waiting = false;  // a back-off timer runs
  std::chrono::milliseconds delay = kFirstRetry;
  std::atomic<bool> abandoned{false};  // set by the destructor too
};

RunRecorder::RunRecorder(asio::io_context& io, Journal& journal,
                         std::shared_ptr<HookResultStore> store,
                         std::function<void(std::function<void()>)> post)
    : state_(std::make_shared<State>(io, journal, std::move(store), std::move(post))) {
  recorder_metrics();  // the series exist from the start
}

RunRecorder::~RunRecorder() {
  state_->abandoned = true;
}

void RunRecorder::start() {
  state_->send();
}

void RunRecorder::record(HookResultRecord record, std::function<void()> done) {
  if (!state_->store) return done();
  ++state_->pending;
  auto state = state_;
  // The store calls back on its own thread once the result is on disk.
  state_->store->append(std::move(record), [state, done = std::move(done)] {
    state->post([state, done] {
      if (state->abandoned) return;
      --state->pending;
      done();
      state->send();
    });
  });
}

void RunRecorder::abandon() {
  state_->abandoned = true;
}

std::size_t RunRecorder::pending() const {
  return state_->pending;
}

}  // namespace hookd
