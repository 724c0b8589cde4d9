// ConsumerBuffer: node-local seqs over stream entries, and commits that
// hand back exactly the stream ids to acknowledge.
#include <catch2/catch.hpp>

#include "hookd/queue/consumer_buffer.h"

using namespace hookd;

namespace {

Event event(const std::string& id) {
  Event e;
  e.id = id;
  e.type = "session.open";
  e.payload_json = "{}";
  return e;
}

}  // namespace

TEST_CASE("entries get dense seqs and read after a seq") {
  ConsumerBuffer buffer;
  CHECK(buffer.add("1-0", event("a")));
  CHECK(buffer.add("1-1", event("b")));
  CHECK(buffer.add("2-0", event("c")));
  CHECK(buffer.last_seq() == 3);
  auto all = buffer.read(0, 10);
  REQUIRE(all.size() == 3);
  CHECK(all[0].seq == 1);
  CHECK(all[0].event.id == "a");
  CHECK(all[2].seq == 3);
  auto later = buffer.read(1, 1);
  REQUIRE(later.size() == 1);
  CHECK(later[0].event.id == "b");
  CHECK(buffer.read(3, 10).empty());
}

TEST_CASE("an entry already held is not added twice") {
  ConsumerBuffer buffer;
  CHECK(buffer.add("5-0", event("a")));
  CHECK_FALSE(buffer.add("5-0", event("a")));
  CHECK(buffer.size() == 1);
  CHECK(buffer.last_seq() == 1);
}

TEST_CASE("commit returns the ids at or below the seq and drops them") {
  ConsumerBuffer buffer;
  buffer.add("1-0", event("a"));
  buffer.add("1-1", event("b"));
  buffer.add("2-0", event("c"));
  CHECK(buffer.commit(2) == std::vector<std::string>{"1-0", "1-1"});
  CHECK(buffer.cursor() == 2);
  CHECK(buffer.size() == 1);
  CHECK(buffer.held_ids() == std::vector<std::string>{"2-0"});
  CHECK(buffer.commit(2).empty());  // not again
  CHECK(buffer.commit(1).empty());  // never backwards
  // Until Redis confirms the XACK, Redis may list the entry as still
  // pending here (a reconnect reads those again): not new work.
  CHECK_FALSE(buffer.add("1-0", event("a")));
  // Once confirmed, the same entry handed over again (claimed back after
  // this node was thought dead) is new work.
  buffer.acknowledged({"1-0", "1-1"});
  CHECK(buffer.add("1-0", event("a")));
  CHECK(buffer.read(2, 10).size() == 2);
  CHECK(buffer.commit(99) == std::vector<std::string>{"2-0", "1-0"});
  CHECK(buffer.cursor() == 4);
}

TEST_CASE("a retry note handed over with an entry is read with it") {
  ConsumerBuffer buffer;
  CHECK(buffer.add("1-0", event("fresh")));
  CHECK(buffer.add("1-1", event("retried"), RetryNote{2, 5000}));
  auto all = buffer.read(0, 10);
  REQUIRE(all.size() == 2);
  CHECK(all[0].failures == 0);
  CHECK(all[1].failures == 2);
  CHECK(all[1].retry_due_unix_ms == 5000);
  CHECK(buffer.stream_id_at(2) == "1-1");
  buffer.commit(1);
  CHECK(buffer.stream_id_at(1).empty());
  CHECK(buffer.stream_id_at(2) == "1-1");
}

TEST_CASE("a replayed dead letter's line is read with its entry") {
  ConsumerBuffer buffer;
  CHECK(buffer.add("1-0", event("fresh")));
  Event replayed;
  replayed.id = "dead-1";
  CHECK(buffer.add("1-1", replayed, RetryNote{}, "{\"id\":\"dead-1\"}\n"));
  auto all = buffer.read(0, 10);
  REQUIRE(all.size() == 2);
  CHECK(all[0].dead_letter.empty());
  CHECK(all[1].event.id == "dead-1");
  CHECK(all[1].dead_letter == "{\"id\":\"dead-1\"}\n");
  CHECK(buffer.commit(2) == std::vector<std::string>{"1-0", "1-1"});
}
