// Svix list pagination over a map sorted by key (ids sort by creation time):
// `limit` items, an `iterator` to continue after the last one, a
// `prevIterator` ("-" + the first key) to go back, and `done` when nothing
// is left in the direction walked. A pure function (template); thread-safe
// as long as the map is not changed meanwhile.
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hookd::api {

struct ListQuery {
  std::size_t limit = 50;
  std::string iterator;     // as sent: "" none, "<key>" next page, "-<key>" previous page
  bool descending = false;  // the list's order
  std::optional<std::string> after_key;   // only keys above this one
  std::optional<std::string> before_key;  // only keys below this one
  // Message lists: `after` without an iterator or `before` walks upward from
  // it (oldest first), then returns the page newest first, as Svix does.
  bool walk_up_from_after = false;
};

template <typename T>
struct Page {
  std::vector<const T*> items;
  std::optional<std::string> iterator;
  std::optional<std::string> prev_iterator;
  bool done = true;
};

// `keep(item)` filters (event types, channels, archived ...).
template <typename Map, typename Keep>
Page<typename Map::mapped_type> paginate(const Map& items, const ListQuery& query, Keep keep) {
  Page<typename Map::mapped_type> page;
  const bool has_iterator = !query.iterator.empty();
  const bool previous = has_iterator && query.iterator.front() == '-';
  const std::string key = previous ? query.iterator.substr(1) : query.iterator;

  bool up = !query.descending;
  bool reverse = false;
  if (has_iterator) {
    // Next page of an ascending list or previous page of a descending one:
    // keys above the iterator; otherwise keys below it.
    up = previous == query.descending;
    reverse = previous;
  } else if (query.walk_up_from_after && query.after_key && !query.before_key) {
    up = true;
    reverse = true;
  }

  std::optional<std::string> lower = query.after_key;
  std::optional<std::string> upper = query.before_key;
  if (has_iterator && up && (!lower || key > *lower)) lower = key;
  if (has_iterator && !up && (!upper || key < *upper)) upper = key;

  const std::size_t want = query.limit + 1;  // one more tells whether more remain
  if (up) {
    auto it = lower ? items.upper_bound(*lower) : items.begin();
    for (; it != items.end() && page.items.size() < want; ++it) {
      if (upper && !(it->first < *upper)) break;
      if (keep(it->second)) page.items.push_back(&it->second);
    }
  } else {
    auto it = upper ? items.lower_bound(*upper) : items.end();
    while (it != items.begin() && page.items.size() < want) {
      --it;
      if (lower && !(*lower < it->first)) break;
      if (keep(it->second)) page.items.push_back(&it->second);
    }
  }
  page.done = page.items.size() <= query.limit;
  if (page.items.size() > query.limit) page.items.resize(query.limit);
  if (reverse) std::reverse(page.items.begin(), page.items.end());
  return page;
}

// Fills iterator / prevIterator from the keys of the first and last item.
template <typename T, typename KeyOf>
void set_iterators(Page<T>& page, KeyOf key_of) {
  if (page.items.empty()) return;
  page.iterator = key_of(*page.items.back());
  page.prev_iterator = "-" + key_of(*page.items.front());
}

}  // namespace hookd::api
