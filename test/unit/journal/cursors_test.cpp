// Consumer cursors: the cursor file's format, the rules of registering,
// advancing and dropping a consumer, and unregister_consumer on a real
// journal.
#include "hookd/journal/cursors.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "hookd/journal/journal.h"
#include "support/support.h"

namespace {

using hookd::journal_detail::ConsumerCursors;
using hookd::journal_detail::CursorSnapshot;
using hookd::journal_detail::decode_cursor_file;
using hookd::journal_detail::encode_cursor_file;
using hookd::test::TempDir;
namespace fs = std::filesystem;

std::optional<CursorSnapshot> file_cursors(const fs::path& file) {
  return decode_cursor_file(hookd::test::read_file(file));
}

}  // namespace

TEST_CASE("the cursor file decodes what it encodes and skips what is not a seq",
          "[journal][cursors]") {
  const CursorSnapshot cursors{
      {"hooks", 7}, {"endpoint:siem-1.example/x y\"z", 0}, {"big", 1ull << 62}};
  const std::string text = encode_cursor_file(cursors);
  CHECK(text.back() == '\n');
  CHECK(text.find("\"version\":1") != std::string::npos);
  CHECK(decode_cursor_file(text) == cursors);

  struct Case {
    const char* name;
    std::string text;
    std::optional<CursorSnapshot> want;
  };
  const std::vector<Case> cases{
      {"no consumers", R"({"version":1,"consumers":{}})", CursorSnapshot{}},
      {"not JSON", "{\"version\":1,\"consumers\":{\"hooks\":", std::nullopt},
      {"empty file", "", std::nullopt},
      {"an array", "[1,2]", std::nullopt},
      {"no consumers member", R"({"version":1})", std::nullopt},
      {"consumers not an object", R"({"consumers":[["hooks",3]]})", std::nullopt},
      {"entries that are not a seq are skipped",
       R"({"consumers":{"a":3,"b":"4","c":-1,"d":null,"e":2.5,"f":6.0}})",
       CursorSnapshot{{"a", 3}, {"f", 6}}},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    CHECK(decode_cursor_file(c.text) == c.want);
  }
}

TEST_CASE("a new consumer starts at the given seq and is in the file at once",
          "[journal][cursors]") {
  TempDir tmp;
  const auto file = tmp.path() / "cursors.json";
  ConsumerCursors cursors(file);
  CHECK(cursors.min_registered() == std::nullopt);

  auto first = cursors.register_consumer("hooks", 10);
  CHECK(first.cursor == 10);
  CHECK(first.newly_held);
  CHECK(first.value->load() == 10);
  CHECK(file_cursors(file) == CursorSnapshot{{"hooks", 10}});
  CHECK_FALSE(cursors.dirty());

  auto again = cursors.register_consumer("hooks", 99);  // known: keeps its cursor
  CHECK(again.cursor == 10);
  CHECK_FALSE(again.newly_held);

  CHECK(cursors.advance("hooks", 12));
  CHECK_FALSE(cursors.advance("hooks", 11));  // never backwards
  CHECK_FALSE(cursors.advance("hooks", 12));
  CHECK_FALSE(cursors.advance("nobody", 5));
  CHECK(cursors.cursor("hooks") == 12);
  CHECK(first.value->load() == 12);
  CHECK(cursors.cursor("nobody") == 0);
  CHECK(cursors.dirty());
  CHECK(file_cursors(file) == CursorSnapshot{{"hooks", 10}});  // until persisted

  cursors.register_consumer("siem", 11);
  CHECK(cursors.min_registered() == 11);
  cursors.persist();
  CHECK_FALSE(cursors.dirty());
  CHECK(file_cursors(file) == CursorSnapshot{{"hooks", 12}, {"siem", 11}});
}

TEST_CASE("cursors from the file hold no segments until registered, and are pulled back",
          "[journal][cursors]") {
  TempDir tmp;
  const auto file = tmp.path() / "cursors.json";
  hookd::test::write_file(file, R"({"version":1,"consumers":{"hooks":50,"siem":2}})");
  ConsumerCursors cursors(file);
  cursors.load(30);
  CHECK(cursors.cursor("hooks") == 30);  // past the last recovered seq
  CHECK(cursors.cursor("siem") == 2);
  CHECK(cursors.dirty());
  CHECK(cursors.min_registered() == std::nullopt);

  auto hooks = cursors.register_consumer("hooks", 30);
  CHECK(hooks.newly_held);
  CHECK(hooks.cursor == 30);
  CHECK(cursors.min_registered() == 30);

  ConsumerCursors unreadable(tmp.path() / "bad.json");
  hookd::test::write_file(tmp.path() / "bad.json", "not json");
  unreadable.load(30);
  CHECK(unreadable.cursor("hooks") == 0);
  ConsumerCursors missing(tmp.path() / "missing.json");
  missing.load(30);
  CHECK_FALSE(missing.dirty());
}

TEST_CASE("an unregistered consumer is gone from memory and the file", "[journal][cursors]") {
  TempDir tmp;
  const auto file = tmp.path() / "cursors.json";
  ConsumerCursors cursors(file);
  cursors.register_consumer("hooks", 3);
  cursors.register_consumer("endpoint:gone", 1);
  CHECK(cursors.min_registered() == 1);

  CHECK(cursors.unregister("endpoint:gone"));
  CHECK_FALSE(cursors.unregister("endpoint:gone"));
  CHECK(cursors.cursor("endpoint:gone") == 0);
  CHECK(cursors.min_registered() == 3);
  CHECK(file_cursors(file) == CursorSnapshot{{"hooks", 3}});

  auto back = cursors.register_consumer("endpoint:gone", 8);  // a new consumer
  CHECK(back.cursor == 8);
  CHECK(back.newly_held);
}

TEST_CASE("unregister_consumer lets go of the segments kept for it", "[journal][cursors]") {
  TempDir tmp;
  hookd::JournalOptions options;
  options.dir = tmp.path() / "journal";
  options.segment_bytes = 1000;
  auto opened = hookd::open_file_journal(options);
  REQUIRE(opened.ok());
  auto journal = std::move(opened).value();
  int next_id = 1;
  auto append = [&](int count) {
    std::vector<hookd::Event> events;
    for (int i = 0; i < count; ++i) {
      hookd::Event e;
      e.id = "u" + std::to_string(next_id++);
      e.type = "session.open";
      e.payload_json = "{\"data\":\"" + std::string(200, 'x') + "\"}";
      events.push_back(std::move(e));
    }
    std::promise<hookd::AppendResult> done;
    journal->append(std::move(events), [&](hookd::AppendResult r) { done.set_value(r); });
    return done.get_future().get().code;
  };

  CHECK(journal->register_consumer("hooks") == 0);
  CHECK(journal->register_consumer("endpoint:deleted") == 0);
  REQUIRE(append(20) == hookd::AppendResult::Code::ok);
  const auto segments = journal->stats().segments;
  REQUIRE(segments >= 4);

  journal->commit("hooks", 20);
  // The journal thread applies retention after each batch: two more batches
  // and the commit above has been acted on. The deleted endpoint's cursor (0)
  // still holds every segment.
  REQUIRE(append(1) == hookd::AppendResult::Code::ok);
  REQUIRE(append(1) == hookd::AppendResult::Code::ok);
  CHECK(journal->stats().first_seq == 1);
  CHECK(journal->stats().segments >= segments);

  journal->unregister_consumer("endpoint:deleted");
  journal->unregister_consumer("never-registered");  // nothing to forget
  CHECK(journal->cursor("endpoint:deleted") == 0);
  journal->commit("hooks", 22);
  REQUIRE(hookd::test::wait_until([&] { return journal->stats().segments == 1; }));
  CHECK(journal->stats().last_seq == 22);
  CHECK(journal->cursor("hooks") == 22);

  // Registered again, it is a new consumer: it starts at the newest event.
  CHECK(journal->register_consumer("endpoint:deleted") == 22);
  journal->unregister_consumer("endpoint:deleted");
  journal->close();
  const auto text = hookd::test::read_file(options.dir / "cursors.json");
  CHECK(decode_cursor_file(text) == CursorSnapshot{{"hooks", 22}});
}
