// Delivery attempts as the Svix attempts API keeps them: the line format,
// an endpoint's health, and the store on real files (durable before listed,
// rebuilt after a restart, torn lines cut, segments dropped by size and age).
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "hookd/api/attempt_codec.h"
#include "hookd/api/attempt_store.h"
#include "hookd/api/endpoint_health.h"
#include "hookd/api/ids.h"
#include "hookd/core/rfc3339.h"
#include "support/support.h"

using hookd::api::Attempt;
using hookd::api::AttemptFilter;
using hookd::api::AttemptStore;
using hookd::api::AttemptStoreOptions;
using hookd::api::ListQuery;
using hookd::test::wait_until;
namespace fs = std::filesystem;

namespace {

Attempt attempt(const std::string& msg, const std::string& endpoint, int code,
                std::int64_t at_ms = hookd::now_unix_ms()) {
  Attempt a;
  a.id = hookd::api::new_id("atmpt_");
  a.msg_id = msg;
  a.endpoint_id = endpoint;
  a.app_id = "app_1";
  a.url = "https://siem.example/hook";
  a.response = code == 200 ? "ok" : "down";
  a.response_status_code = code;
  a.response_duration_ms = 12;
  a.status = code >= 200 && code < 300 ? hookd::api::kAttemptSuccess : hookd::api::kAttemptFail;
  a.timestamp_ms = at_ms;
  return a;
}

std::vector<std::string> ids_of(const hookd::api::Page<Attempt>& page) {
  std::vector<std::string> out;
  for (const Attempt* a : page.items)
    out.push_back(a->id);
  return out;
}

std::unique_ptr<AttemptStore> open_store(const fs::path& dir, std::uint64_t max_bytes = 1 << 20,
                                         std::int64_t retention_ms = 3600'000) {
  auto store = AttemptStore::open(AttemptStoreOptions{dir, retention_ms, max_bytes});
  REQUIRE(store.ok());
  return std::move(store).value();
}

}  // namespace

TEST_CASE("an attempt line reads back as written") {
  Attempt a = attempt("msg_1", "ep_1", 503);
  a.response = "line\nbreak \"quoted\" é";
  a.trigger_type = hookd::api::kTriggerManual;
  std::string line = hookd::api::attempt_line(a);
  REQUIRE(line.back() == '\n');
  CHECK(std::count(line.begin(), line.end(), '\n') == 1);
  auto back = hookd::api::parse_attempt_line(std::string_view(line).substr(0, line.size() - 1));
  REQUIRE(back);
  CHECK(back->id == a.id);
  CHECK(back->response == a.response);
  CHECK(back->response_status_code == 503);
  CHECK(back->trigger_type == 1);
  CHECK(back->timestamp_ms == a.timestamp_ms);
  CHECK_FALSE(hookd::api::parse_attempt_line(line.substr(0, line.size() / 2)));
  CHECK_FALSE(hookd::api::parse_attempt_line(R"({"id":"atmpt_x"})"));
  CHECK_FALSE(hookd::api::parse_attempt_line("[]"));
}

TEST_CASE("a binary response is shown as base64, text as it is") {
  CHECK(hookd::api::attempt_response_text("ok ✓") == "ok ✓");
  CHECK(hookd::api::attempt_response_text(std::string("\xff\xfe\x00", 3)) == "//4A");
}

TEST_CASE("an endpoint is disabled only after failing without a success for the whole period") {
  struct Step {
    bool success;
    std::int64_t at;
    std::int64_t now;
    bool disable;  // with a period of 100
  };
  const Step steps[] = {
      {false, 0, 0, false},    {false, 50, 50, false},   {true, 60, 60, false},
      {false, 70, 160, false}, {false, 169, 169, false}, {false, 170, 170, true},
  };
  hookd::api::EndpointHealth health;
  for (const Step& step : steps) {
    INFO("attempt at " << step.at);
    health.record(step.success, step.at);
    CHECK(hookd::api::should_disable(health, step.now, 100) == step.disable);
  }
  CHECK(health.failing_since_ms == 70);
  CHECK_FALSE(hookd::api::should_disable(hookd::api::EndpointHealth{}, 1'000'000, 100));
}

TEST_CASE("attempts are listed newest first by message and by endpoint, and survive a restart") {
  hookd::test::TempDir dir;
  std::vector<Attempt> made;
  {
    auto store = open_store(dir.path());
    for (int i = 0; i < 5; ++i) {
      made.push_back(
          attempt(i < 3 ? "msg_a" : "msg_b", i % 2 ? "ep_2" : "ep_1", i == 1 ? 500 : 200));
      store->append(made.back());
    }
    REQUIRE(wait_until([&] { return store->size() == 5; }));

    std::vector<Attempt> storage;
    auto page = store->list_by_message("msg_a", ListQuery{}, AttemptFilter{}, storage);
    CHECK(ids_of(page) == std::vector<std::string>{made[2].id, made[1].id, made[0].id});
    CHECK(page.done);
    CHECK(page.items[1]->response == "down");
    AttemptFilter failed;
    failed.status = hookd::api::kAttemptFail;
    CHECK(ids_of(store->list_by_message("msg_a", ListQuery{}, failed, storage)) ==
          std::vector<std::string>{made[1].id});
    AttemptFilter only_ep1;
    only_ep1.endpoint_id = "ep_1";
    CHECK(ids_of(store->list_by_message("msg_a", ListQuery{}, only_ep1, storage)) ==
          std::vector<std::string>{made[2].id, made[0].id});
    AttemptFilter class_5xx;
    class_5xx.status_code_class = 500;
    CHECK(ids_of(store->list_by_endpoint("ep_2", ListQuery{}, class_5xx, storage)) ==
          std::vector<std::string>{made[1].id});

    // Paging: two at a time to the end.
    ListQuery two;
    two.limit = 2;
    auto first = store->list_by_endpoint("ep_1", two, AttemptFilter{}, storage);
    CHECK(ids_of(first) == std::vector<std::string>{made[4].id, made[2].id});
    CHECK_FALSE(first.done);
    two.iterator = *first.iterator;
    std::vector<Attempt> more;
    auto second = store->list_by_endpoint("ep_1", two, AttemptFilter{}, more);
    CHECK(ids_of(second) == std::vector<std::string>{made[0].id});
    CHECK(second.done);
    CHECK(store->attempted("msg_b", "ep_2"));
    CHECK_FALSE(store->attempted("msg_b", "ep_9"));
    CHECK_FALSE(store->health("ep_2").failing_since_ms);  // made[3] succeeded after made[1]
  }
  // A torn last line (a crash mid-write) is cut off at the next start.
  fs::path segment;
  for (const auto& entry : fs::directory_iterator(dir.path()))
    segment = entry.path();
  hookd::test::write_file(segment, hookd::test::read_file(segment) + R"({"id":"atmpt_torn)");
  auto store = open_store(dir.path());
  CHECK(store->size() == 5);
  std::vector<Attempt> storage;
  auto page = store->list_by_message("msg_b", ListQuery{}, AttemptFilter{}, storage);
  CHECK(ids_of(page) == std::vector<std::string>{made[4].id, made[3].id});
  CHECK(hookd::test::read_file(segment).back() == '\n');
  store->append(attempt("msg_c", "ep_1", 200));
  REQUIRE(wait_until([&] { return store->size() == 6; }));
}

TEST_CASE("old attempts go: whole segments past the byte cap or the retention") {
  hookd::test::TempDir dir;
  const std::int64_t now = hookd::now_unix_ms();
  {
    // 64 KiB cap: segments of 64 KiB; attempts of about 1.3 KiB.
    auto store = open_store(dir.path(), 64 << 10);
    for (int i = 0; i < 200; ++i) {
      Attempt a = attempt("msg_" + std::to_string(i), "ep_1", 200);
      a.response = std::string(1024, 'x');
      store->append(a);
      REQUIRE(wait_until([&] { return store->attempted("msg_" + std::to_string(i), "ep_1"); }));
    }
    CHECK(store->bytes() <= (64 << 10) + (64 << 10) + 2048);  // the cap, plus the segment written
    CHECK_FALSE(store->attempted("msg_0", "ep_1"));           // the oldest went
    CHECK(store->attempted("msg_199", "ep_1"));
  }
  hookd::test::TempDir aged;
  {
    auto store = open_store(aged.path(), 1 << 20, 10 * 3600'000);
    store->append(attempt("msg_old", "ep_1", 200, now - 2 * 3600'000));
    REQUIRE(wait_until([&] { return store->size() == 1; }));
  }
  // Started again with a shorter retention, the two-hour-old attempt goes.
  auto store = open_store(aged.path(), 1 << 20, 3600'000);
  CHECK(store->size() == 0);
  CHECK(store->bytes() == 0);
}
