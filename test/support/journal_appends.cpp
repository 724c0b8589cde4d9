#include "support/journal_appends.h"

#include <future>
#include <stdexcept>
#include <utility>

namespace hookd::test {

Event sized_event(const std::string& id, std::size_t payload_bytes) {
  Event e;
  e.id = id;
  e.type = "session.open";
  e.timestamp = "2026-11-24T10:15:02.123Z";
  e.payload_json = "{\"data\":\"" + std::string(payload_bytes, 'p') + "\"}";
  e.arrival_unix_ms = now_unix_ms();
  return e;
}

std::unique_ptr<Journal> open_journal_or_throw(const JournalOptions& options) {
  auto opened = open_file_journal(options);
  if (!opened) throw std::runtime_error("open_file_journal: " + opened.error().message);
  return std::move(opened).value();
}

AppendResult append_and_wait(Journal& journal, std::vector<Event> events) {
  std::promise<AppendResult> promise;
  auto answer = promise.get_future();
  journal.append(std::move(events), [&](AppendResult r) { promise.set_value(std::move(r)); });
  return answer.get();
}

}  // namespace hookd::test
