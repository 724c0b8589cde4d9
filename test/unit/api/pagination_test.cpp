#include "hookd/api/pagination.h"

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

using hookd::api::ListQuery;
using hookd::api::paginate;
using hookd::api::set_iterators;

namespace {

// Keys "k01".."k07", each mapped to itself.
std::map<std::string, std::string> seven() {
  std::map<std::string, std::string> items;
  for (int i = 1; i <= 7; ++i) {
    std::string key = "k0" + std::to_string(i);
    items[key] = key;
  }
  return items;
}

struct Result {
  std::vector<std::string> keys;
  std::string iterator, prev;
  bool done;
};

Result run(const ListQuery& query) {
  auto items = seven();
  auto page = paginate(items, query, [](const std::string& v) { return v != "k04"; });
  set_iterators(page, [](const std::string& v) { return v; });
  Result out;
  for (const std::string* item : page.items)
    out.keys.push_back(*item);
  out.iterator = page.iterator.value_or("null");
  out.prev = page.prev_iterator.value_or("null");
  out.done = page.done;
  return out;
}

ListQuery q(std::size_t limit, std::string iterator, bool descending) {
  ListQuery query;
  query.limit = limit;
  query.iterator = std::move(iterator);
  query.descending = descending;
  return query;
}

}  // namespace

TEST_CASE("pages walk the sorted keys as Svix does, skipping filtered items", "[api][pagination]") {
  struct Row {
    const char* what;
    ListQuery query;
    std::vector<std::string> keys;
    std::string iterator, prev;
    bool done;
  };
  ListQuery after = q(2, "", true);
  after.after_key = "k02";
  after.walk_up_from_after = true;
  ListQuery before = q(10, "", true);
  before.before_key = "k03";
  ListQuery window = q(10, "", false);
  window.after_key = "k01";
  window.before_key = "k06";
  const std::vector<Row> rows = {
      {"ascending first page", q(2, "", false), {"k01", "k02"}, "k02", "-k01", false},
      {"ascending next page", q(2, "k02", false), {"k03", "k05"}, "k05", "-k03", false},
      {"ascending last page", q(2, "k05", false), {"k06", "k07"}, "k07", "-k06", true},
      {"ascending past the end", q(2, "k07", false), {}, "null", "null", true},
      {"ascending previous page", q(2, "-k05", false), {"k02", "k03"}, "k03", "-k02", false},
      {"ascending previous to the start", q(2, "-k02", false), {"k01"}, "k01", "-k01", true},
      {"descending first page", q(3, "", true), {"k07", "k06", "k05"}, "k05", "-k07", false},
      {"descending next page", q(3, "k05", true), {"k03", "k02", "k01"}, "k01", "-k03", true},
      {"descending previous page", q(2, "-k03", true), {"k06", "k05"}, "k05", "-k06", false},
      {"everything in one page",
       q(250, "", false),
       {"k01", "k02", "k03", "k05", "k06", "k07"},
       "k07",
       "-k01",
       true},
      {"after walks up, answers newest first", after, {"k05", "k03"}, "k03", "-k05", false},
      {"before", before, {"k02", "k01"}, "k01", "-k02", true},
      {"after and before", window, {"k02", "k03", "k05"}, "k05", "-k02", true},
      {"iterator not a key", q(2, "k035", false), {"k05", "k06"}, "k06", "-k05", false},
  };
  for (const Row& row : rows) {
    CAPTURE(row.what);
    Result got = run(row.query);
    CHECK(got.keys == row.keys);
    CHECK(got.iterator == row.iterator);
    CHECK(got.prev == row.prev);
    CHECK(got.done == row.done);
  }
}

TEST_CASE("following iterators visits every item once, in either order", "[api][pagination]") {
  for (bool descending : {false, true}) {
    for (std::size_t limit : {1, 2, 3, 5, 6, 7, 50}) {
      CAPTURE(descending, limit);
      std::vector<std::string> seen;
      std::string iterator;
      for (int guard = 0; guard < 20; ++guard) {
        Result page = run(q(limit, iterator, descending));
        seen.insert(seen.end(), page.keys.begin(), page.keys.end());
        if (page.done) break;
        iterator = page.iterator;
      }
      std::vector<std::string> expected = {"k01", "k02", "k03", "k05", "k06", "k07"};
      if (descending) std::reverse(expected.begin(), expected.end());
      CHECK(seen == expected);
    }
  }
}
