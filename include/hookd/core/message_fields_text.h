// MessageFields written in place: the length encode_message_fields (event.h)
// gives them, and the same text written into room the caller has, so the
// journal frames a message's fields without a string per record. Pure
// functions (with the other event JSON in core/event_json.cpp); thread-safe.
#pragma once

#include <cstddef>

#include "hookd/core/event.h"

namespace hookd {

std::size_t message_fields_size(const MessageFields& fields);
// Writes message_fields_size(fields) bytes at `out`; returns their end.
char* write_message_fields(char* out, const MessageFields& fields);

}  // namespace hookd
