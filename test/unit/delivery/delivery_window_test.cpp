// DeliveryWindow over a real file journal: what an endpoint holds in memory,
// in what order it sends, and how far its cursor may go.
#include <catch2/catch.hpp>
#include <future>
#include <string>
#include <vector>

#include "hookd/delivery/delivery_window.h"
#include "hookd/delivery/endpoint_spec.h"
#include "hookd/delivery/event_status_log.h"
#include "hookd/journal/journal.h"
#include "support/support.h"

using hookd::BatchPtr;
using hookd::DeliveryWindow;
using hookd::EventStatusLog;
using Clock = DeliveryWindow::Clock;

namespace {

// Six events: seq 2 and 5 are session.close, which the endpoint filters out.
// Event i arrived at i * 1000 ms.
struct Fixture {
  hookd::test::TempDir dir;
  std::unique_ptr<hookd::Journal> journal;
  hookd::EndpointSpec spec;
  EventStatusLog log{100, 5};

  Fixture() {
    hookd::JournalOptions options;
    options.dir = dir.path() / "journal";
    auto j = hookd::open_file_journal(options);
    REQUIRE(j.ok());
    journal = std::move(j).value();
    spec.name = "ep";
    spec.events = {"session.open"};
    for (int i = 1; i <= 6; ++i)
      append(i, i == 2 || i == 5 ? "session.close" : "session.open");
  }

  void append(int i, const std::string& type) {
    hookd::Event e;
    e.id = "evt_" + std::to_string(i);
    e.type = type;
    e.timestamp = "2026-11-24T10:15:02Z";
    e.payload_json = "{}";
    e.arrival_unix_ms = i * 1000;
    std::promise<hookd::AppendResult> done;
    journal->append({e}, [&](hookd::AppendResult r) { done.set_value(std::move(r)); });
    REQUIRE(done.get_future().get().code == hookd::AppendResult::Code::ok);
  }

  // What GET /v1/events/{id} would show for event i, before any attempt.
  bool shows(int i, std::string_view state) const {
    return log.status_json("evt_" + std::to_string(i), hookd::DeliveryState::delivered) ==
           R"({"state":")" + std::string(state) + R"(","attempts":[]})";
  }
};

std::vector<std::uint64_t> seqs(const BatchPtr& batch) {
  std::vector<std::uint64_t> out;
  if (batch) {
    for (const auto& e : batch->events)
      out.push_back(e.seq);
  }
  return out;
}

}  // namespace

TEST_CASE("delivery window: the cursor passes an event only once it is finished") {
  Fixture f;
  DeliveryWindow window(100);
  window.start_at(0);
  auto filled = window.fill(*f.journal, f.spec, f.log);
  CHECK_FALSE(filled.more);
  CHECK_FALSE(filled.read_error);
  CHECK(window.read_seq() == 6);
  CHECK(window.held() == 4);  // the filtered ones are not held
  CHECK(f.shows(1, "pending"));
  CHECK(f.shows(2, "filtered"));
  CHECK(f.shows(5, "filtered"));
  CHECK_FALSE(window.advance_cursor());  // seq 1 is not finished

  BatchPtr first = window.next_batch(1);
  BatchPtr second = window.next_batch(2);
  BatchPtr third = window.next_batch(10);
  CHECK(seqs(first) == std::vector<std::uint64_t>{1});
  CHECK(seqs(second) == std::vector<std::uint64_t>{3, 4});
  CHECK(seqs(third) == std::vector<std::uint64_t>{6});
  CHECK(window.next_batch(10) == nullptr);
  CHECK(window.held() == 4);  // in flight still counts

  struct Step {
    BatchPtr finished;
    bool moved;
    std::uint64_t cursor;
    std::size_t held;
  };
  const std::vector<Step> steps = {
      {second, false, 0, 2},  // 3 and 4 done, 1 is not
      {first, true, 5, 1},    // 1..5 done (2 and 5 filtered)
      {third, true, 6, 0},
  };
  for (const auto& step : steps) {
    INFO("after finishing " << step.finished->events.front().seq);
    window.finish(*step.finished, false);
    CHECK(window.advance_cursor() == step.moved);
    CHECK(window.cursor() == step.cursor);
    CHECK(window.held() == step.held);
  }
  CHECK_FALSE(window.advance_cursor());

  // A restart at the committed cursor reads on after it.
  DeliveryWindow again(100);
  again.start_at(4);
  again.fill(*f.journal, f.spec, f.log);
  CHECK(again.held() == 1);
  CHECK(seqs(again.next_batch(10)) == std::vector<std::uint64_t>{6});
}

TEST_CASE("delivery window: never holds more than its limit") {
  Fixture f;
  DeliveryWindow window(2);
  window.start_at(0);
  window.fill(*f.journal, f.spec, f.log);
  CHECK(window.held() == 2);
  CHECK(window.read_seq() == 3);  // 1, 2 (filtered), 3
  window.fill(*f.journal, f.spec, f.log);
  CHECK(window.read_seq() == 3);
  BatchPtr batch = window.next_batch(1);
  window.finish(*batch, false);
  window.fill(*f.journal, f.spec, f.log);
  CHECK(window.held() == 2);
  CHECK(window.read_seq() == 4);

  DeliveryWindow smallest(0);  // a limit of 0 means 1
  smallest.start_at(0);
  smallest.fill(*f.journal, f.spec, f.log);
  CHECK(smallest.held() == 1);
}

TEST_CASE("delivery window: retries wait for their time, then go before new events") {
  Fixture f;
  DeliveryWindow window(100);
  window.start_at(0);
  window.fill(*f.journal, f.spec, f.log);
  const Clock::time_point now = Clock::now();
  BatchPtr failed = window.next_batch(1);
  window.retry_at(now + std::chrono::seconds(10), failed);
  CHECK(window.next_retry() == now + std::chrono::seconds(10));
  CHECK(window.next_attempt_in(now) == Clock::duration::zero());  // new events are ready

  BatchPtr rest = window.next_batch(10);
  CHECK(seqs(rest) == std::vector<std::uint64_t>{3, 4, 6});
  CHECK(window.next_attempt_in(now) == std::chrono::seconds(10));
  CHECK(window.next_attempt_in(now + std::chrono::seconds(30)) == Clock::duration::zero());

  window.release_due(now + std::chrono::seconds(9));
  CHECK(window.next_batch(10) == nullptr);
  window.release_due(now + std::chrono::seconds(10));
  CHECK_FALSE(window.next_retry().has_value());
  CHECK(window.next_batch(10) == failed);  // the same batch, as a unit

  window.retry_first(rest);
  window.retry_first(failed);
  CHECK(window.next_batch(1) == failed);
  CHECK(window.next_batch(1) == rest);
  CHECK(window.next_batch(1) == nullptr);
  CHECK_FALSE(window.next_attempt_in(now).has_value());
}

TEST_CASE("delivery window: a replay since a time re-sends finished events once") {
  Fixture f;
  DeliveryWindow window(100);
  window.start_at(0);
  window.fill(*f.journal, f.spec, f.log);
  window.finish(*window.next_batch(1), false);  // 1
  window.finish(*window.next_batch(1), false);  // 3
  window.advance_cursor();
  CHECK(window.cursor() == 3);

  hookd::SinceScan scan = window.replay_since(1, 2500);
  CHECK(scan.after == 0);
  CHECK(scan.end == 6);
  f.append(7, "session.open");  // after the scan began: read as a new event
  window.fill(*f.journal, f.spec, f.log);
  // 3 again (arrived at 3000, finished); 4 and 6 are still unfinished; 1 is too old.
  CHECK(window.live()->replay == 1);
  BatchPtr all = window.next_batch(10);
  CHECK(seqs(all) == std::vector<std::uint64_t>{4, 6, 0, 7});
  CHECK(all->events[2].event.id == "evt_3");
  window.finish(*all, false);
  CHECK(window.live()->replay == 0);
  CHECK(window.advance_cursor());
  CHECK(window.cursor() == 7);
}

TEST_CASE("delivery window: dead letters are replayed once at a time") {
  Fixture f;
  DeliveryWindow window(100);
  window.start_at(6);
  auto letters = [] {
    std::vector<hookd::PendingEvent> out;
    for (const char* id : {"x", "y", "z"}) {
      hookd::PendingEvent e;
      e.event.id = id;
      e.from_dead_letters = true;
      out.push_back(std::move(e));
    }
    return out;
  };
  auto is_dead = [](const std::string& id) { return id != "z"; };
  CHECK(window.queue_replays(letters(), is_dead) == 2);  // z is no longer listed
  CHECK(window.queue_replays(letters(), is_dead) == 0);  // x and y are on their way
  CHECK(window.live()->replay == 2);
  window.fill(*f.journal, f.spec, f.log);
  BatchPtr replayed = window.next_batch(10);
  REQUIRE(seqs(replayed) == std::vector<std::uint64_t>{0, 0});
  window.finish(*replayed, false);
  CHECK(window.live()->replay == 0);
  CHECK(window.queue_replays(letters(), is_dead) == 2);  // delivered: may be replayed again
  window.fill(*f.journal, f.spec, f.log);
  window.finish(*window.next_batch(10), true);
  CHECK(window.queue_replays(letters(), is_dead) == 2);  // given up again: likewise
  CHECK_FALSE(window.advance_cursor());                  // replays never move the cursor
  CHECK(window.cursor() == 6);
}
