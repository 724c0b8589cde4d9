// The Lua scripts the Redis Streams backend runs: each is one atomic step on
// the server. Private to source/queue.
#pragma once

namespace hookd::redis_scripts {

// Dedupe and append, atomically, for a batch of events.
// KEYS[1] stream; ARGV[1] dedupe window (s), ARGV[2] MAXLEN bound, ARGV[3]
// key prefix for ids, then per event: id, e, a, m (see stream_entry.h).
// Returns one integer per event: 1 when its id was seen within the window.
extern const char* const kAppend;

// Moves entries delivered too often to the dead-letter stream (acking them,
// dropping their retry notes), then claims what stayed idle too long for
// this consumer.
// KEYS[1] stream, KEYS[2] dead-letter stream, KEYS[3] the group's retry
// hash; ARGV[1] group, ARGV[2] consumer, ARGV[3] min idle (ms), ARGV[4] max
// deliveries, ARGV[5] count, ARGV[6] XAUTOCLAIM start id. Returns {next
// start, claimed entries, dead-lettered count, {entry id, retry note}...}
// (the notes of claimed entries that have one).
extern const char* const kClaim;

// Trims the stream below the oldest entry some group has not acknowledged.
// KEYS[1] stream. Returns the number of entries removed.
extern const char* const kTrim;

// Resets the idle time of entries this consumer still works on (so no other
// node claims them), without counting a delivery; entries another consumer
// owns by now are left alone. KEYS[1] stream; ARGV[1] group, ARGV[2]
// consumer, then the entry ids. Returns how many were refreshed.
extern const char* const kHeartbeat;

// Acknowledges entries of a group and drops their retry notes.
// KEYS[1] stream, KEYS[2] the group's retry hash; ARGV[1] group, then the
// entry ids. Returns the number acknowledged.
extern const char* const kAck;

// Adds dead letters to a consumer's list (or removes them) and keeps the
// list's size in the consumer's tally hash (field dead_letters), which
// GET /v1/endpoints shows. KEYS[1] the list (a hash: id -> line), KEYS[2]
// the tally hash; ARGV[1] "add" then id, line pairs, or "remove" then ids.
// Returns the list's size.
extern const char* const kDeadLettersChange;

// Takes the dead letters whose arrival_unix_ms is within [ARGV[2], ARGV[3]]
// ("" unbounded) out of the list and appends each to the stream for group
// ARGV[1] alone (fields i, d, o: stream_entry.h), in one step, so that each
// is re-queued once however many nodes replay at once. KEYS as for
// kDeadLettersAdd, KEYS[3] the stream; ARGV[4] the MAXLEN bound. Returns how
// many were re-queued.
extern const char* const kDeadLettersReplay;

}  // namespace hookd::redis_scripts
