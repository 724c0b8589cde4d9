// UTF-8 repair for text that must go into JSON: Boost.JSON writes strings
// byte for byte, so bytes that are not UTF-8 would make the document invalid.
// Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace hookd {

// `bytes` with each byte that is not part of a well-formed UTF-8 sequence
// (RFC 3629: no overlong forms, surrogates or code points past U+10FFFF)
// replaced by U+FFFD, one per byte, as Go's encoding/json writes them.
std::string valid_utf8(std::string_view bytes);

}  // namespace hookd
