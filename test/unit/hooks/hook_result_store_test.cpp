// The durable hook results: what a restart reads back, a torn tail cut off,
// and the retention and byte cap that bound them. Real files in a temporary
// directory, the store's real writer thread.
#include "hookd/hooks/hook_result_store.h"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <vector>

#include "hookd/core/metrics.h"
#include "hookd/core/rfc3339.h"
#include "support/support.h"

namespace fs = std::filesystem;
using hookd::HookResultRecord;
using hookd::HookResultStore;
using hookd::HookResultStoreOptions;
using hookd::test::TempDir;

namespace {

HookResultRecord record_of(const std::string& event_id, int exit_code,
                           std::int64_t finished_unix_ms = hookd::now_unix_ms(),
                           const std::string& output = "done\n") {
  HookResultRecord record;
  record.event_id = event_id;
  record.arrival_unix_ms = 1700000000000;
  record.finished_unix_ms = finished_unix_ms;
  record.event_type = "session.open";
  record.sid = "sid-" + event_id;
  boost::json::object status;
  status["script"] = "session-open.runbook.py";
  status["outcome"] = exit_code == 0 ? "ok" : "failed";
  status["exit_code"] = exit_code;
  status["output"] = output;
  record.status_json = boost::json::serialize(status);
  return record;
}

std::unique_ptr<HookResultStore> open_store(
    const fs::path& dir, std::chrono::milliseconds retention = std::chrono::hours(1),
    std::uint64_t max_bytes = 64ull << 20) {
  auto opened = HookResultStore::open(HookResultStoreOptions{dir, retention, max_bytes});
  INFO((opened ? std::string() : opened.error().message));
  REQUIRE(opened.ok());
  return std::move(opened).value();
}

// Appends and waits until the record is durable.
void append_durably(HookResultStore& store, HookResultRecord record) {
  std::promise<void> durable;
  auto future = durable.get_future();
  store.append(std::move(record), [&durable] { durable.set_value(); });
  REQUIRE(future.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
}

std::string outcome(const HookResultStore& store, const std::string& event_id) {
  auto json = store.status_json(event_id);
  if (!json) return "none";
  return std::string(boost::json::parse(*json).as_object().at("outcome").as_string());
}

std::vector<fs::path> segments(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir))
    files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

TEST_CASE("hook results survive a reopen", "[hook_result_store]") {
  TempDir dir;
  {
    auto store = open_store(dir.path());
    append_durably(*store, record_of("evt-a", 0));
    append_durably(*store, record_of("evt-b", 3));
    CHECK(outcome(*store, "evt-a") == "ok");
    CHECK(store->entries() == 2);
  }
  auto store = open_store(dir.path());
  CHECK(store->entries() == 2);
  CHECK(outcome(*store, "evt-a") == "ok");
  CHECK(outcome(*store, "evt-b") == "failed");
  CHECK(outcome(*store, "evt-c") == "none");
  auto recorded = store->finished_run("evt-b", 1700000000000);
  REQUIRE(recorded.has_value());
  CHECK(recorded->event_type == "session.open");
  CHECK(recorded->sid == std::optional<std::string>("sid-evt-b"));
  CHECK(boost::json::parse(recorded->status_json).as_object().at("exit_code") == 3);
  // Another arrival of the same id has not run.
  CHECK_FALSE(store->finished_run("evt-b", 1700000000001).has_value());
  CHECK(store->bytes() > 0);

  // A later run of the event is the one shown, after a reopen too.
  append_durably(*store, record_of("evt-b", 0));
  CHECK(outcome(*store, "evt-b") == "ok");
  store.reset();
  CHECK(outcome(*open_store(dir.path()), "evt-b") == "ok");
}

TEST_CASE("a full group commit is written at once, not after its window", "[hook_result_store]") {
  TempDir dir;
  HookResultStoreOptions options{dir.path(), std::chrono::hours(1), 64ull << 20};
  options.commit_window = std::chrono::hours(1);  // only the max can end this batch
  options.commit_max = 3;
  auto opened = HookResultStore::open(options);
  REQUIRE(opened.ok());
  auto store = std::move(opened).value();
  auto& records = hookd::metrics().histogram("hookd_hook_results_commit_records", "", {});
  const double sum_before = records.sum();
  const std::uint64_t count_before = records.count();
  store->append(record_of("evt-1", 0));
  store->append(record_of("evt-2", 0));
  // Two of three: the writer waits for the third (or an hour).
  CHECK(outcome(*store, "evt-1") == "none");
  append_durably(*store, record_of("evt-3", 3));
  CHECK(outcome(*store, "evt-1") == "ok");
  CHECK(outcome(*store, "evt-3") == "failed");
  CHECK(records.count() == count_before + 1);
  CHECK(records.sum() == sum_before + 3);
}

TEST_CASE("hook results with no commit window are written one batch at a time",
          "[hook_result_store]") {
  TempDir dir;
  HookResultStoreOptions options{dir.path(), std::chrono::hours(1), 64ull << 20};
  options.commit_window = std::chrono::milliseconds(0);
  options.commit_max = 1000;  // never reached: nothing waits for more
  auto opened = HookResultStore::open(options);
  REQUIRE(opened.ok());
  auto store = std::move(opened).value();
  append_durably(*store, record_of("evt-a", 0));
  CHECK(outcome(*store, "evt-a") == "ok");
}

TEST_CASE("a torn hook results tail is cut off and writing goes on", "[hook_result_store]") {
  TempDir dir;
  {
    auto store = open_store(dir.path());
    append_durably(*store, record_of("evt-1", 0));
    append_durably(*store, record_of("evt-2", 0));
  }
  auto files = segments(dir.path());
  REQUIRE(files.size() == 1);
  const auto intact = fs::file_size(files[0]);
  std::string torn = hookd::encode_hook_result(record_of("evt-torn", 0));
  {
    std::ofstream out(files[0], std::ios::binary | std::ios::app);
    out << torn.substr(0, torn.size() / 2);  // a crash in the middle of a write
  }
  {
    auto store = open_store(dir.path());
    CHECK(store->entries() == 2);
    CHECK(outcome(*store, "evt-torn") == "none");
    CHECK(fs::file_size(files[0]) == intact);
    append_durably(*store, record_of("evt-3", 3));
  }
  auto store = open_store(dir.path());
  CHECK(store->entries() == 3);
  CHECK(outcome(*store, "evt-2") == "ok");
  CHECK(outcome(*store, "evt-3") == "failed");
}

TEST_CASE("a hook result frame with a wrong checksum is not a record", "[hook_result_store]") {
  std::string bytes = hookd::encode_hook_result(record_of("evt-x", 0));
  auto decoded = hookd::decode_hook_result(bytes);
  REQUIRE(decoded.record.has_value());
  CHECK(decoded.size == bytes.size());
  CHECK(decoded.record->event_id == "evt-x");
  auto marker = hookd::decode_hook_result(hookd::encode_hook_result(record_of("evt-x", 0), true));
  REQUIRE(marker.record.has_value());
  CHECK(marker.journaled_marker);
  CHECK(marker.record->arrival_unix_ms == 1700000000000);
  CHECK_FALSE(decoded.journaled_marker);
  bytes[bytes.size() - 3] ^= 0x20;
  CHECK_FALSE(hookd::decode_hook_result(bytes).record.has_value());
  CHECK_FALSE(hookd::decode_hook_result(std::string_view(bytes).substr(0, 6)).record.has_value());
}

TEST_CASE("hook results older than the retention are dropped", "[hook_result_store]") {
  TempDir dir;
  using std::chrono::minutes;
  const std::int64_t half_an_hour_ago = hookd::now_unix_ms() - 30 * 60 * 1000;
  {
    auto store = open_store(dir.path(), minutes(60));
    append_durably(*store, record_of("evt-old-1", 0, half_an_hour_ago));
    append_durably(*store, record_of("evt-old-2", 3, half_an_hour_ago));
    store->trim();
    CHECK(store->entries() == 2);  // within the hour
  }
  {
    // Reopened with ten minutes: they go at once; new ones stay.
    auto store = open_store(dir.path(), minutes(10));
    CHECK(store->entries() == 0);
    CHECK(outcome(*store, "evt-old-1") == "none");
    append_durably(*store, record_of("evt-new", 0));
    store->trim();
    CHECK(outcome(*store, "evt-new") == "ok");
  }
  auto store = open_store(dir.path(), minutes(10));
  CHECK(store->entries() == 1);
  CHECK(outcome(*store, "evt-new") == "ok");
}

TEST_CASE("hook results stay under their byte cap, oldest dropped first", "[hook_result_store]") {
  TempDir dir;
  const std::uint64_t cap = 64 << 10;
  const std::string output(1000, 'x');
  auto store = open_store(dir.path(), std::chrono::hours(1), cap);
  for (int i = 0; i < 200; ++i) {
    append_durably(*store, record_of("evt-" + std::to_string(i), 0, hookd::now_unix_ms(), output));
  }
  store->trim();
  CHECK(store->bytes() <= cap);
  CHECK(store->entries() < 200);
  CHECK(outcome(*store, "evt-199") == "ok");
  CHECK(outcome(*store, "evt-0") == "none");
  std::uint64_t on_disk = 0;
  for (const auto& file : segments(dir.path()))
    on_disk += fs::file_size(file);
  CHECK(on_disk == store->bytes());

  const auto kept = store->entries();
  store.reset();
  auto reopened = open_store(dir.path(), std::chrono::hours(1), cap);
  CHECK(reopened->entries() == kept);
  CHECK(outcome(*reopened, "evt-199") == "ok");
}

TEST_CASE("hook results hand out the runs whose hook.finished is owed", "[hook_result_store]") {
  TempDir dir;
  auto ids_of = [](const std::vector<HookResultRecord>& records) {
    std::vector<std::string> ids;
    for (const auto& record : records)
      ids.push_back(record.event_id);
    return ids;
  };
  {
    auto store = open_store(dir.path());
    for (const char* id : {"evt-1", "evt-2", "evt-3"})
      append_durably(*store, record_of(id, 0));
    CHECK(ids_of(store->unjournaled(10)) == std::vector<std::string>{"evt-1", "evt-2", "evt-3"});
    CHECK(ids_of(store->unjournaled(2)) == std::vector<std::string>{"evt-1", "evt-2"});
    store->mark_journaled(store->unjournaled(2));
    CHECK(ids_of(store->unjournaled(10)) == std::vector<std::string>{"evt-3"});
    // A marker for another arrival of the event changes nothing.
    HookResultRecord other = record_of("evt-3", 0);
    other.arrival_unix_ms += 1;
    store->mark_journaled({other});
    CHECK(ids_of(store->unjournaled(10)) == std::vector<std::string>{"evt-3"});
  }
  // The markers were written before the store closed: still known after a reopen.
  auto store = open_store(dir.path());
  CHECK(store->entries() == 3);
  CHECK(ids_of(store->unjournaled(10)) == std::vector<std::string>{"evt-3"});
  // A later arrival of a journaled event is owed again.
  HookResultRecord again = record_of("evt-1", 3);
  again.arrival_unix_ms += 5000;
  append_durably(*store, again);
  CHECK(ids_of(store->unjournaled(10)) == std::vector<std::string>{"evt-3", "evt-1"});
  CHECK(outcome(*store, "evt-1") == "failed");
}
