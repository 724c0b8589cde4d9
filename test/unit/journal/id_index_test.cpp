// The id index: hash -> seqs, where a hit is a candidate to confirm.
#include "hookd/journal/id_index.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

using hookd::journal_detail::id_hash;
using hookd::journal_detail::IdIndex;

namespace {

std::vector<std::uint64_t> sorted(std::vector<std::uint64_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST_CASE("the id index keeps every seq of a hash until each is removed", "[journal][index]") {
  IdIndex index;
  CHECK(index.candidates(7).empty());

  index.add(7, 1);
  index.add(9, 2);
  index.add(7, 3);  // another id with the same hash
  CHECK(index.size() == 3);
  CHECK(sorted(index.candidates(7)) == std::vector<std::uint64_t>{1, 3});
  CHECK(index.candidates(9) == std::vector<std::uint64_t>{2});
  CHECK(index.candidates(8).empty());

  index.remove(7, 2);  // not indexed under this hash: nothing happens
  index.remove(5, 1);
  CHECK(index.size() == 3);

  index.remove(7, 1);
  CHECK(index.candidates(7) == std::vector<std::uint64_t>{3});
  index.remove(7, 3);
  index.remove(9, 2);
  CHECK(index.size() == 0);
  CHECK(index.candidates(7).empty());
}

TEST_CASE("id_hash depends only on the id", "[journal][index]") {
  CHECK(id_hash("evt-1") == id_hash(std::string("evt-1")));
  CHECK(id_hash("evt-1") != id_hash("evt-2"));
  CHECK(id_hash("") != id_hash("evt-1"));
}

TEST_CASE("a large index resizes a few slots at a time and finds every record meanwhile",
          "[journal][index]") {
  IdIndex index;
  std::vector<std::uint64_t> hashes;
  bool saw_resize = false;
  std::size_t resizing_calls = 0;
  // Distinct hashes spread like id_hash's: past the at-once size the table
  // grows while adds go on, and every record stays a candidate of its hash.
  for (std::uint64_t seq = 1; seq <= 100'000; ++seq) {
    const std::uint64_t hash = id_hash("evt-" + std::to_string(seq));
    hashes.push_back(hash);
    index.add(hash, seq);
    if (index.resizing()) {
      saw_resize = true;
      ++resizing_calls;
      if (resizing_calls % 61 == 0) {
        for (std::uint64_t s = 1; s <= seq; s += 97) {
          const auto got = index.candidates(hashes[s - 1]);
          REQUIRE(std::find(got.begin(), got.end(), s) != got.end());
        }
      }
    }
  }
  CHECK(saw_resize);
  CHECK(index.size() == 100'000);
  // Removed while the table shrinks: each gone at once, the others kept.
  for (std::uint64_t seq = 1; seq <= 100'000; ++seq) {
    index.remove(hashes[seq - 1], seq);
    const auto gone = index.candidates(hashes[seq - 1]);
    REQUIRE(std::find(gone.begin(), gone.end(), seq) == gone.end());
    if (seq % 1'009 == 0 && seq < 100'000) {
      const auto kept = index.candidates(hashes[seq]);
      REQUIRE(std::find(kept.begin(), kept.end(), seq + 1) != kept.end());
    }
  }
  CHECK(index.size() == 0);
  CHECK_FALSE(index.resizing());
  CHECK(index.capacity() <= 128);
}
