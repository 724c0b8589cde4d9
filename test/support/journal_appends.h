// Test support for the file journal: events of a chosen id and size, opening
// a journal, and an append that waits for its answer.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "hookd/journal/journal.h"

namespace hookd::test {

// A session.open event `id` whose payload is about `payload_bytes` long,
// arrived now.
Event sized_event(const std::string& id, std::size_t payload_bytes = 100);

// Throws std::runtime_error with the journal's message when it cannot open.
std::unique_ptr<Journal> open_journal_or_throw(const JournalOptions& options);

// Appends and blocks until the journal answers.
AppendResult append_and_wait(Journal& journal, std::vector<Event> events);

}  // namespace hookd::test
