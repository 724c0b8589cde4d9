// Dead letters: the line format as pure functions over text (round trip,
// tombstones, replacements, torn and damaged lines), then DeadLetterStore on
// a real file with a real io_context and file thread.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <future>
#include <string>
#include <vector>

#include "hookd/delivery/blocking_io_thread.h"
#include "hookd/delivery/dead_letters.h"
#include "support/support.h"

using hookd::dead_letter_line;
using hookd::DeadLetter;
using hookd::parse_dead_letters;
using hookd::tombstone_line;

namespace {

DeadLetter letter(std::string id, std::string event_json = R"({"n":1})") {
  DeadLetter d;
  d.id = std::move(id);
  d.type = "session.open";
  d.seq = 42;
  d.arrival_unix_ms = 1795515302500;
  d.time_ms = 1795515302123;
  d.dead_at = "2026-11-24T10:15:02.123Z";
  d.attempts = 8;
  d.last_error = "HTTP 503";
  d.event_json = std::move(event_json);
  return d;
}

std::vector<std::string> live_ids(std::string_view text) {
  std::vector<std::string> ids;
  for (const auto& d : parse_dead_letters(text).live)
    ids.push_back(d.id);
  return ids;
}

// A file's text and what it holds.
struct FileCase {
  const char* what;
  std::string text;
  std::vector<std::string> live;
  std::size_t stale;
};

void check_files(const std::vector<FileCase>& cases) {
  for (const auto& c : cases) {
    INFO(c.what);
    CHECK(live_ids(c.text) == c.live);
    CHECK(parse_dead_letters(c.text).stale_lines == c.stale);
  }
}

// Waits until every job posted to the file thread so far has run.
void sync(hookd::BlockingIoThread& thread) {
  std::promise<void> ran;
  thread.post([&ran] { ran.set_value(); });
  ran.get_future().wait();
}

// Runs io until `done` holds (the store's callbacks come back on io).
void run_until(boost::asio::io_context& io, const bool& done) {
  io.restart();
  auto guard = boost::asio::make_work_guard(io);
  for (int i = 0; i < 400 && !done; ++i)
    io.run_one_for(std::chrono::milliseconds(50));
  REQUIRE(done);
}

}  // namespace

TEST_CASE("dead-letter lines: every field round-trips through one line") {
  std::vector<DeadLetter> letters = {
      letter("evt_plain"),
      letter("evt_quotes", R"({"s":"a \"quoted\" word","u":"\u00e9\u4e2d"})"),
      letter("evt_zero"),
      letter("evt_big"),
  };
  letters[1].last_error = "connect: refused\nsecond line";
  letters[2].seq = 0;  // a replay when it died again
  letters[2].attempts = 0;
  letters[2].dead_at.clear();
  letters[2].last_error.clear();
  letters[3].seq = 18446744073709551615ull;
  letters[3].arrival_unix_ms = -1;
  for (const auto& d : letters) {
    INFO(d.id);
    std::string line = dead_letter_line(d);
    CHECK(line.back() == '\n');
    CHECK(line.find('\n') == line.size() - 1);  // one line, whatever the event holds
    auto scan = parse_dead_letters(line);
    CHECK(scan.stale_lines == 0);
    REQUIRE(scan.live.size() == 1);
    CHECK(scan.live[0] == d);
  }
  auto scan = parse_dead_letters(hookd::dead_letters_text(letters));
  CHECK(scan.stale_lines == 0);
  CHECK(scan.live == letters);
  CHECK(hookd::dead_letters_text({}).empty());
}

TEST_CASE("dead-letter files: tombstones and later records of the same id") {
  const std::string a = dead_letter_line(letter("a"));
  const std::string a2 = dead_letter_line(letter("a", R"({"n":2})"));
  const std::string b = dead_letter_line(letter("b"));
  check_files({
      {"two records", a + b, {"a", "b"}, 0},
      {"a tombstone removes its record (both stale)", a + b + tombstone_line("a"), {"b"}, 2},
      {"removed, then dead again", a + tombstone_line("a") + a2, {"a"}, 2},
      {"a later record replaces, keeping the first place", a + b + a2, {"a", "b"}, 1},
      {"a tombstone for an unknown id", tombstone_line("x") + b, {"b"}, 1},
      {"blank lines are nothing", "\n" + a + "\n\n" + b, {"a", "b"}, 0},
      {"an empty file", "", {}, 0},
  });
  // The replacement carries the later record's content.
  CHECK(parse_dead_letters(a + b + a2).live[0].event_json == R"({"n":2})");
}

TEST_CASE("dead-letter files: a torn last line or a damaged one never counts") {
  const std::string a = dead_letter_line(letter("a"));
  const std::string b = dead_letter_line(letter("b"));
  auto torn = [](std::string line) { return line.substr(0, line.size() - 1); };
  check_files({
      {"a record without its newline (torn by a crash)", a + torn(b), {"a"}, 1},
      {"a torn tombstone removes nothing", a + torn(tombstone_line("a")), {"a"}, 1},
      {"half a line", a + b.substr(0, b.size() / 2), {"a"}, 1},
      {"not JSON", a + "{not json\n" + b, {"a", "b"}, 1},
      {"not an object", a + "[1,2]\n", {"a"}, 1},
      {"no event", a + R"({"id":"x"})" + "\n", {"a"}, 1},
      {"an id that is not a string", std::string(R"({"id":5,"event":"{}"})") + "\n" + b, {"b"}, 1},
      {"an event that is not a string", std::string(R"({"id":"x","event":{}})") + "\n", {}, 1},
  });
  // Optional fields of the wrong type fall back to their defaults.
  auto scan = parse_dead_letters(R"({"id":"x","event":"{}","seq":"7","attempts":-2,"type":1})"
                                 "\n");
  CHECK(scan.stale_lines == 0);
  REQUIRE(scan.live.size() == 1);
  CHECK(scan.live[0].seq == 0);
  CHECK(scan.live[0].attempts == 0);
  CHECK(scan.live[0].type.empty());
}

TEST_CASE("dead-letter store: load compacts, appends, tombstones, truncates") {
  hookd::test::TempDir dir;
  const auto file = dir.path() / "ep.dead-letters.jsonl";
  const std::string a = dead_letter_line(letter("a"));
  const std::string b = dead_letter_line(letter("b"));
  const std::string c = dead_letter_line(letter("c"));
  boost::asio::io_context io;
  auto thread = std::make_shared<hookd::BlockingIoThread>();
  auto store = std::make_shared<hookd::DeadLetterStore>(io, thread, file, "ep");

  SECTION("a missing file is an empty list") {
    REQUIRE(store->load().ok());
    CHECK(store->size() == 0);
    CHECK_FALSE(std::filesystem::exists(file));
  }

  SECTION("a file without stale lines is left as it is") {
    const std::string other_order = R"({"event":"{}","id":"z"})"
                                    "\n";
    hookd::test::write_file(file, other_order + a);
    REQUIRE(store->load().ok());
    CHECK(hookd::test::read_file(file) == other_order + a);
    CHECK(store->contains("z"));
    CHECK(store->contains("a"));
  }

  SECTION("the lifecycle of a list") {
    hookd::test::write_file(file, a + b + tombstone_line("a") + a.substr(0, 10));
    REQUIRE(store->load().ok());
    CHECK(hookd::test::read_file(file) == b);  // compacted: the tombstone pair and the torn tail
    CHECK(store->size() == 1);
    CHECK(store->contains("b"));
    CHECK_FALSE(store->contains("a"));

    bool appended = false;
    store->append(c, [&](hookd::Status st) {
      CHECK(st.ok());
      appended = true;
    });
    run_until(io, appended);
    CHECK(hookd::test::read_file(file) == b + c);
    CHECK_FALSE(store->contains("c"));  // listed once add() says so
    CHECK(store->add({"c"}) == 2);

    CHECK(store->remove({"b", "not-there"}) == std::optional<std::size_t>(1));
    CHECK(store->remove({"b"}) == std::nullopt);  // nothing left to remove
    sync(*thread);
    CHECK(hookd::test::read_file(file) == b + c + tombstone_line("b"));
    CHECK(live_ids(hookd::test::read_file(file)) == std::vector<std::string>{"c"});

    std::vector<DeadLetter> read;
    bool was_read = false;
    store->read([&](std::vector<DeadLetter> live) {
      read = std::move(live);
      was_read = true;
    });
    run_until(io, was_read);
    REQUIRE(read.size() == 1);
    CHECK(read[0] == letter("c"));

    // The last one gone: the file is emptied rather than grown.
    CHECK(store->remove({"c"}) == std::optional<std::size_t>(0));
    sync(*thread);
    CHECK(hookd::test::read_file(file).empty());
  }

  SECTION("never emptied while an append is on its way") {
    REQUIRE(store->load().ok());
    bool first = false;
    store->append(a, [&](hookd::Status) { first = true; });
    run_until(io, first);
    store->add({"a"});
    bool second = false;
    store->append(b, [&](hookd::Status) { second = true; });  // its callback has not run
    CHECK(store->remove({"a"}) == std::optional<std::size_t>(0));
    sync(*thread);
    CHECK(hookd::test::read_file(file) == a + b + tombstone_line("a"));
    run_until(io, second);
    CHECK(live_ids(hookd::test::read_file(file)) == std::vector<std::string>{"b"});
  }
  thread->stop();
}
