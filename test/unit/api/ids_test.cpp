#include "hookd/api/ids.h"

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
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

namespace {

// The encoding as it was before id_of_bytes divided by 62^5 with fewer
// rounds and wrote digit pairs: six rounds over all five words, one digit
// at a time. The new one must give the same bytes.
std::string old_encoding(std::string_view prefix, const std::array<unsigned char, 20>& raw) {
  constexpr char kBase62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  constexpr std::uint64_t kChunk = 62ull * 62 * 62 * 62 * 62;
  std::uint32_t words[5];
  for (std::size_t w = 0; w < 5; ++w) {
    words[w] = static_cast<std::uint32_t>(raw[4 * w]) << 24 |
               static_cast<std::uint32_t>(raw[4 * w + 1]) << 16 |
               static_cast<std::uint32_t>(raw[4 * w + 2]) << 8 | raw[4 * w + 3];
  }
  std::string out(prefix);
  out.resize(prefix.size() + 27, '0');
  for (std::size_t digit = 0; digit < 27;) {
    std::uint64_t remainder = 0;
    for (std::uint32_t& word : words) {
      std::uint64_t value = (remainder << 32) | word;
      word = static_cast<std::uint32_t>(value / kChunk);
      remainder = value % kChunk;
    }
    auto chunk = static_cast<std::uint32_t>(remainder);
    for (std::size_t i = 0; i < 5 && digit < 27; ++i, ++digit) {
      out[out.size() - 1 - digit] = kBase62[chunk % 62];
      chunk /= 62;
    }
  }
  return out;
}

}  // namespace

TEST_CASE("id_of_bytes writes what the old encoding wrote, for random and edge inputs",
          "[api][ids]") {
  std::vector<std::array<unsigned char, 20>> inputs;
  std::array<unsigned char, 20> raw{};
  inputs.push_back(raw);  // zero
  raw.fill(0xFF);
  inputs.push_back(raw);  // the largest
  for (std::size_t bit = 0; bit < 160; ++bit) {
    raw.fill(0);
    raw[bit / 8] = static_cast<unsigned char>(1u << (bit % 8));
    inputs.push_back(raw);  // one bit
    raw.fill(0xFF);
    raw[bit / 8] = static_cast<unsigned char>(~(1u << (bit % 8)));
    inputs.push_back(raw);  // all bits but one
  }
  std::mt19937_64 rng(20261202);
  for (int i = 0; i < 100000; ++i) {
    // Random bytes, some with leading zero bytes (short numbers).
    std::size_t zeros = static_cast<std::size_t>(rng() % 4 == 0 ? rng() % 20 : 0);
    for (std::size_t j = 0; j < raw.size(); ++j)
      raw[j] = j < zeros ? 0 : static_cast<unsigned char>(rng());
    inputs.push_back(raw);
  }
  std::size_t differ = 0;
  std::size_t unreadable = 0;
  for (const auto& input : inputs) {
    for (const char* prefix : {"msg_", "app_", ""}) {
      std::string got = hookd::api::id_of_bytes(prefix, input);
      if (got != old_encoding(prefix, input)) {
        if (++differ <= 5) CHECK(got == old_encoding(prefix, input));
      }
    }
    if (!is_id(hookd::api::id_of_bytes("msg_", input), "msg_")) ++unreadable;
  }
  CHECK(differ == 0);
  CHECK(unreadable == 0);
}

namespace {

// The 160-bit number of a body, big-endian, as the test reads it.
std::array<unsigned char, 20> decoded(std::string_view body) {
  static constexpr std::string_view kBase62 =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::array<unsigned char, 20> raw{};
  for (char c : body) {
    unsigned carry = static_cast<unsigned>(kBase62.find(c));
    for (std::size_t i = raw.size(); i-- > 0;) {
      unsigned value = raw[i] * 62u + carry;
      raw[i] = static_cast<unsigned char>(value & 0xFF);
      carry = value >> 8;
    }
  }
  return raw;
}

}  // namespace

TEST_CASE("an id of the same tick is the last one plus one, digit carries and all", "[api][ids]") {
  // A time before the last id's: every id counts up from the one before
  // (the digits are incremented, not encoded again).
  std::string last = new_id("msg_");
  std::size_t wrong = 0;
  for (int i = 0; i < 300000; ++i) {
    std::string next = new_id("msg_", 0);
    std::array<unsigned char, 20> expected = decoded(std::string_view(last).substr(4));
    for (std::size_t b = expected.size(); b-- > 0;) {
      if (++expected[b] != 0) break;
    }
    if (next != hookd::api::id_of_bytes("msg_", expected) || next <= last) {
      if (++wrong <= 3) CHECK(next == hookd::api::id_of_bytes("msg_", expected));
    }
    last = std::move(next);
  }
  CHECK(wrong == 0);
}
