// Svix-style object ids: a prefix ("app_", "ep_", "msg_", "atmpt_") and a
// 27-character base62 KSUID body whose first bytes are the creation time, so
// sorting ids sorts by creation time. Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hookd::api {

inline constexpr std::size_t kIdBodyLength = 27;
// The KSUID behind a body: 160 bits, big-endian.
inline constexpr std::size_t kIdBytes = 20;

// A new id. Ids made by this process never repeat and never sort before an
// earlier one, even within the same clock tick.
std::string new_id(std::string_view prefix);
// The same, for a caller that read the clock already (`now_unix_ms`, as
// now_unix_ms() gives it).
std::string new_id(std::string_view prefix, std::int64_t now_unix_ms);

// The id a new object made at `unix_ms` would get with an all-zero (`high`
// false) or all-one (`high` true) random part: the bounds of that instant,
// for `before`/`after` filters on lists ordered by id.
std::string id_at(std::string_view prefix, std::int64_t unix_ms, bool high);

// `prefix` and the body of these KSUID bytes: the 160-bit number in base62,
// 27 digits (what new_id and id_at write; for tests of the encoding).
std::string id_of_bytes(std::string_view prefix, const std::array<unsigned char, kIdBytes>& bytes);

// `prefix` followed by a well-formed body.
bool is_id(std::string_view id, std::string_view prefix);

// The creation time of a well-formed id (to 1/256 s), or nullopt.
std::optional<std::int64_t> id_unix_ms(std::string_view id, std::string_view prefix);

}  // namespace hookd::api
