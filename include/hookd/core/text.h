// Small text conversions every module needs for its error messages and its
// hand-written JSON. Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace hookd {

// The message of an errno value ("No such file or directory").
std::string errno_text(int err);

// `text` as a JSON string literal, quotes and escapes included.
std::string json_quote(std::string_view text);

// Whether `text` holds a byte a JSON string must escape ('"', '\\', or a
// control below 0x20), tested eight bytes at a time: ids, types, timestamps
// and app ids never do, so writers size and copy them without a byte loop.
bool json_needs_escaping(std::string_view text);

}  // namespace hookd
