// The id index: hash -> seqs, where a hit is a candidate to confirm.
#include "hookd/journal/id_index.h"

#include <algorithm>
#include <catch2/catch.hpp>
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
