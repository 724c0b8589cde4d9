// valid_utf8: well-formed UTF-8 passes unchanged; every byte of an ill-formed
// sequence becomes one U+FFFD, as Go's encoding/json writes it.
#include "hookd/core/utf8.h"

#include <catch2/catch.hpp>
#include <string>

TEST_CASE("valid_utf8 keeps UTF-8 and replaces each other byte with U+FFFD") {
  const std::string r = "\xEF\xBF\xBD";  // U+FFFD
  struct Case {
    const char* what;
    std::string in;
    std::string out;
  };
  const Case cases[] = {
      {"empty", "", ""},
      {"ASCII with controls", std::string("a\0\x01\x7F", 4), std::string("a\0\x01\x7F", 4)},
      {"two-byte e-acute", "caf\xC3\xA9", "caf\xC3\xA9"},
      {"three-byte, lowest and highest", "\xE0\xA0\x80\xEF\xBF\xBF", "\xE0\xA0\x80\xEF\xBF\xBF"},
      {"four-byte, lowest and U+10FFFF", "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF",
       "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF"},
      {"a Latin-1 byte", "caf\xE9", "caf" + r},
      {"a lone continuation byte", "\x80", r},
      {"overlong two-byte NUL", "\xC0\x80", r + r},
      {"overlong three-byte", "\xE0\x9F\xBF", r + r + r},
      {"overlong four-byte", "\xF0\x8F\xBF\xBF", r + r + r + r},
      {"a UTF-16 surrogate", "\xED\xA0\x80", r + r + r},
      {"past U+10FFFF", "\xF4\x90\x80\x80", r + r + r + r},
      {"F5 and up never start a sequence", "\xF5\xFF", r + r},
      {"truncated at the end", "a\xE2\x82", "a" + r + r},
      {"truncated before ASCII", "\xE2\x82z", r + r + "z"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    CHECK(hookd::valid_utf8(c.in) == c.out);
  }
}
