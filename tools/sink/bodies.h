// hookd-sink's request bodies: gzip decoding and the events a webhook,
// splunk-hec or ndjson body holds. Pure functions, safe from any thread.
#pragma once

#include <boost/json/fwd.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hookd::sink {

struct SeenEvent {
  std::string id;
  std::string timestamp;  // the event's own "timestamp", "" when absent
};

// A Content-Encoding: gzip body, bounded so a bomb cannot exhaust memory:
// nullopt when it is not gzip or inflates beyond `limit`.
std::optional<std::string> gunzip(std::string_view in, std::size_t limit);

// The "id" / "timestamp" string of one event object, or "" when it has none.
std::string event_id(const boost::json::value& value);
std::string event_timestamp(const boost::json::value& value);

// Splunk HEC bodies are JSON objects written back to back; each "event"
// member holds one hookd event. nullopt when malformed or empty.
std::optional<std::vector<SeenEvent>> parse_hec(std::string_view body);
// One event object per line; blank lines are skipped. nullopt when a line
// is not an event with an id, or there is none.
std::optional<std::vector<SeenEvent>> parse_ndjson(std::string_view body);

}  // namespace hookd::sink
