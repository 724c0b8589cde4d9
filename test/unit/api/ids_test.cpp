#include "hookd/api/ids.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "hookd/core/rfc3339.h"

using hookd::api::id_at;
using hookd::api::id_unix_ms;
using hookd::api::is_id;
using hookd::api::new_id;

TEST_CASE("ids are the prefix and 27 base62 characters", "[api][ids]") {
  for (const char* prefix : {"app_", "ep_", "msg_", "atmpt_"}) {
    CAPTURE(prefix);
    std::string id = new_id(prefix);
    CHECK(id.rfind(prefix, 0) == 0);
    CHECK(id.size() == std::string(prefix).size() + 27);
    CHECK(is_id(id, prefix));
    CHECK(std::all_of(id.begin() + static_cast<long>(std::string(prefix).size()), id.end(),
                      [](char c) { return std::isalnum(static_cast<unsigned char>(c)); }));
  }
}

TEST_CASE("is_id refuses what new_id never makes", "[api][ids]") {
  struct Row {
    std::string id;
    bool ok;
  };
  const std::vector<Row> rows = {
      {"app_3MrjNn14vqEwN13RPhlz8sk34di", true},
      {"ep_3MrjNn14vqEwN13RPhlz8sk34di", false},    // other prefix
      {"app_3MrjNn14vqEwN13RPhlz8sk34d", false},    // 26 chars
      {"app_3MrjNn14vqEwN13RPhlz8sk34di0", false},  // 28 chars
      {"app_3MrjNn14vqEwN13RPhlz8sk34d-", false},   // not base62
      {"app_zzzzzzzzzzzzzzzzzzzzzzzzzzz", false},   // beyond 160 bits
      {"app_aWgEPTl1tmebfsQzFP4bxwgy80V", true},    // the largest body
      {"", false},
  };
  for (const Row& row : rows) {
    CAPTURE(row.id);
    CHECK(is_id(row.id, "app_") == row.ok);
  }
}

TEST_CASE("ids sort by creation time, also within one clock tick and across threads",
          "[api][ids]") {
  std::vector<std::string> ids;
  for (int i = 0; i < 5000; ++i)
    ids.push_back(new_id("msg_"));
  CHECK(std::is_sorted(ids.begin(), ids.end()));
  CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == ids.size());

  std::vector<std::vector<std::string>> per_thread(4);
  std::vector<std::thread> threads;
  for (auto& out : per_thread) {
    threads.emplace_back([&out] {
      for (int i = 0; i < 2000; ++i)
        out.push_back(new_id("msg_"));
    });
  }
  for (auto& t : threads)
    t.join();
  std::set<std::string> all;
  for (const auto& out : per_thread) {
    CHECK(std::is_sorted(out.begin(), out.end()));
    all.insert(out.begin(), out.end());
  }
  CHECK(all.size() == 8000);
}

TEST_CASE("an id tells its creation time to 1/256 s, and id_at brackets an instant", "[api][ids]") {
  std::int64_t before = hookd::now_unix_ms();
  std::string id = new_id("app_");
  std::int64_t after = hookd::now_unix_ms();
  auto ms = id_unix_ms(id, "app_");
  REQUIRE(ms);
  CHECK(*ms >= before - 4);
  CHECK(*ms <= after);

  const std::int64_t t = 1795515302123;  // 2026-11-24T10:15:02.123Z
  CHECK(id_at("msg_", t, false) < id_at("msg_", t, true));
  CHECK(id_at("msg_", t, true) < id_at("msg_", t + 10, false));
  auto low = id_unix_ms(id_at("msg_", t, false), "msg_");
  REQUIRE(low);
  CHECK(*low <= t);
  CHECK(t - *low < 4);
  CHECK_FALSE(id_unix_ms("app_x", "app_"));
}

TEST_CASE("id_at writes the 160-bit number in base62, digit for digit", "[api][ids]") {
  // Expected bodies worked out independently: the big-endian KSUID bytes
  // as one integer, written in base62 with 27 digits.
  struct Row {
    std::int64_t unix_ms;
    bool high;
    std::string id;
  };
  const std::vector<Row> rows = {
      {1795515302123, false, "msg_3MY6lBbnZDof7y0nJyAFHXhlnUW"},
      {1795515302123, true, "msg_3MY6lBdgYkJy6XFFMKU3RuCYXR1"},
      {1400000000000, false, "msg_000000000000000000000000000"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.unix_ms, row.high);
    CHECK(id_at("msg_", row.unix_ms, row.high) == row.id);
  }
}
