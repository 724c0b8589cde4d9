// RFC 5424 messages and their framing, checked field by field against the
// grammar of RFC 5424 section 6 and the octet counting of RFC 6587 / 5425.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "hookd/delivery/endpoint_spec.h"
#include "hookd/delivery/syslog_message.h"

using hookd::SyslogHeader;

TEST_CASE("syslog PRI is facility times 8 plus severity, facilities by name or number") {
  struct Case {
    std::string facility;
    int number;
    int severity;
    int pri;
  };
  const std::vector<Case> cases = {
      {"kern", 0, 0, 0},      {"user", 1, 6, 14},      {"daemon", 3, 6, 30},
      {"auth", 4, 5, 37},     {"authpriv", 10, 6, 86}, {"local0", 16, 6, 134},
      {"local7", 23, 7, 191}, {"16", 16, 6, 134},      {"0", 0, 6, 6},
  };
  for (const auto& c : cases) {
    INFO(c.facility);
    auto f = hookd::parse_syslog_facility(c.facility);
    REQUIRE(f);
    CHECK(*f == c.number);
    CHECK(hookd::syslog_pri(*f, c.severity) == c.pri);
  }
  for (const char* bad : {"", "local8", "24", "-1", "Local0", "user ", "1.5"}) {
    INFO(bad);
    CHECK_FALSE(hookd::parse_syslog_facility(bad));
  }
}

TEST_CASE("SD-PARAM values escape the quote, the backslash and the closing bracket") {
  struct Case {
    std::string in, out;
  };
  const std::vector<Case> cases = {
      {"evt_01", "evt_01"},           {R"(a"b)", R"(a\"b)"},
      {R"(a\b)", R"(a\\b)"},          {"a]b", R"(a\]b)"},
      {R"("\])", R"(\"\\\])"},        {"[=", "[="},  // only the three characters RFC 5424 names
      {"caf\xc3\xa9", "caf\xc3\xa9"}, {"", ""},
  };
  for (const auto& c : cases) {
    INFO(c.in);
    CHECK(hookd::sd_param_escape(c.in) == c.out);
  }
  CHECK(hookd::hookd_structured_data("evt_1", "session.open") ==
        R"([hookd@32473 id="evt_1" type="session.open"])");
  CHECK(hookd::hookd_structured_data(R"(e"]\)", "t") == R"([hookd@32473 id="e\"\]\\" type="t"])");
}

TEST_CASE("syslog header fields are printable US-ASCII of bounded length, or the NILVALUE") {
  struct Case {
    std::string in;
    std::size_t max;
    std::string out;
  };
  const std::vector<Case> cases = {
      {"hookd", 48, "hookd"},
      {"", 48, "-"},
      {"two words", 48, "two_words"},
      {"tab\there", 48, "tab_here"},
      {"caf\xc3\xa9", 48, "caf__"},
      {std::string(40, 'a'), 32, std::string(32, 'a')},
      {"session.open", 32, "session.open"},
      {"~!", 2, "~!"},
  };
  for (const auto& c : cases) {
    INFO(c.in);
    CHECK(hookd::syslog_header_field(c.in, c.max) == c.out);
  }
}

TEST_CASE("an RFC 5424 message puts every header field in its place") {
  SyslogHeader h;
  h.facility = 16;
  h.hostname = "edge-1";
  h.app_name = "hookd";
  h.procid = "4242";
  // 2026-11-24T10:15:02.123Z
  const std::int64_t t = 1795515302123;
  struct Case {
    int severity;
    std::string msgid, sd, msg, expected;
  };
  const std::vector<Case> cases = {
      {6, "session.open", R"([hookd@32473 id="e1" type="session.open"])", R"({"id":"e1"})",
       R"(<134>1 2026-11-24T10:15:02.123Z edge-1 hookd 4242 session.open [hookd@32473 id="e1" type="session.open"] {"id":"e1"})"},
      {3, "x", "", "", "<131>1 2026-11-24T10:15:02.123Z edge-1 hookd 4242 x -"},
      {6, "", "[a@1 b=\"c\"]", "text",
       "<134>1 2026-11-24T10:15:02.123Z edge-1 hookd 4242 - [a@1 b=\"c\"] text"},
      {6, std::string(40, 'm'), "", "m",
       "<134>1 2026-11-24T10:15:02.123Z edge-1 hookd 4242 " + std::string(32, 'm') + " - m"},
  };
  for (const auto& c : cases) {
    INFO(c.expected);
    CHECK(hookd::rfc5424_message(h, c.severity, t, c.msgid, c.sd, c.msg) == c.expected);
  }
  SyslogHeader nil;
  nil.app_name = "";
  CHECK(hookd::rfc5424_message(nil, 6, 0, "t", "", "m") ==
        "<134>1 1970-01-01T00:00:00.000Z - - - t - m");
}

TEST_CASE("octet counting frames a message with its byte length and one space") {
  struct Case {
    std::string message, framed;
  };
  const std::vector<Case> cases = {
      {"<134>1 - - - - - -", "18 <134>1 - - - - - -"},
      {"", "0 "},
      {"a\nb", "3 a\nb"},                // line breaks need no escaping in this framing
      {"caf\xc3\xa9", "5 caf\xc3\xa9"},  // bytes, not characters
      {std::string(1000, 'x'), "1000 " + std::string(1000, 'x')},
  };
  for (const auto& c : cases) {
    INFO(c.message.size());
    CHECK(hookd::octet_frame(c.message) == c.framed);
  }
}
