// json_needs_escaping: a quote, a backslash or a control byte anywhere (in a
// whole 8-byte word or in the tail) is found; nothing else is, including
// bytes just beside them and UTF-8. The message fields the journal frames
// come out the same with the fast path as with the byte loop's escapes.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>

#include "hookd/core/event.h"
#include "hookd/core/message_fields_text.h"
#include "hookd/core/text.h"

TEST_CASE("json_needs_escaping finds every escaped byte at every position") {
  const std::string plain = "app_2pQ8Zr1xYc3L9mKa7VbN0tHw_é-~ !#[]";
  CHECK_FALSE(hookd::json_needs_escaping(""));
  CHECK_FALSE(hookd::json_needs_escaping(plain));
  for (char neighbour : {'!', '#', '[', ']', '\x7F', '\x20', '\x80', '\xFF'}) {
    CHECK_FALSE(hookd::json_needs_escaping(std::string(19, neighbour)));
  }
  for (char bad : {'"', '\\', '\0', '\x01', '\n', '\x1F'}) {
    for (std::size_t at = 0; at < 19; ++at) {
      std::string text(19, 'a');
      text[at] = bad;
      INFO("byte " << static_cast<int>(bad) << " at " << at);
      CHECK(hookd::json_needs_escaping(text));
      CHECK(hookd::json_needs_escaping(std::string_view(text).substr(0, at + 1)));
      CHECK_FALSE(hookd::json_needs_escaping(std::string_view(text).substr(0, at)));
    }
  }
}

TEST_CASE("message fields are sized and written alike with and without escapes") {
  struct Case {
    hookd::MessageFields fields;
    std::string text;
  };
  const Case cases[] = {
      {{"app_2pQ8Zr1xYc3L9mKa7VbN0tHw", "", {}},
       R"({"app":"app_2pQ8Zr1xYc3L9mKa7VbN0tHw","eventId":"","channels":[]})"},
      {{"app_1", "evt-\"quoted\"\\x", {"a", "b\n"}},
       R"({"app":"app_1","eventId":"evt-\"quoted\"\\x","channels":["a","b\u000a"]})"},
  };
  for (const Case& c : cases) {
    CHECK(hookd::message_fields_size(c.fields) == c.text.size());
    CHECK(hookd::encode_message_fields(c.fields) == c.text);
  }
}

TEST_CASE("write_json_quoted writes what Boost.JSON's serializer writes, in the size it said") {
  std::string every_byte;
  for (int c = 0; c < 256; ++c)
    every_byte += static_cast<char>(c);
  // Every control, quote and backslash, plus plain text and UTF-8 around them.
  const std::string cases[] = {"", "msg_2pQ8Zr1xYc3L9mKa7VbN0tHw", "a\"b\\c\nd\te\x01\x1f",
                               "caf\xC3\xA9 \"\xE2\x82\xAC\"", every_byte.substr(0, 0x80)};
  for (const std::string& text : cases) {
    std::string out(hookd::json_quoted_size(text), '\0');
    char* end = hookd::write_json_quoted(out.data(), text);
    CHECK(end == out.data() + out.size());
    // Boost writes some controls as \n, \t and the like: compare the values.
    CHECK(boost::json::parse(out) == boost::json::parse(hookd::json_quote(text)));
  }
}
