// CEF records: the escaping rules of the CEF specification for header
// fields and extension values, and the Hoop session fields mapped to CEF
// keys from both payload shapes (runbook hook payload, Svix webhook payload).
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "hookd/core/event.h"
#include "hookd/delivery/cef_format.h"
#include "support/support.h"

namespace {

// Splits a CEF record into its 7 header fields (unescaped) and extension
// pairs (unescaped), written here from the specification's rules.
struct Parsed {
  std::vector<std::string> header;
  std::map<std::string, std::string> ext;
};

Parsed parse_cef(const std::string& record) {
  Parsed p;
  std::string field;
  std::size_t i = 0;
  while (i < record.size() && p.header.size() < 7) {
    char c = record[i];
    if (c == '\\' && i + 1 < record.size()) {
      field += record[i + 1];
      i += 2;
      continue;
    }
    if (c == '|') {
      p.header.push_back(field);
      field.clear();
    } else {
      field += c;
    }
    ++i;
  }
  // Extension: key=value pairs; a key starts after a space and ends at an
  // unescaped '='.
  std::string rest = record.substr(i);
  std::vector<std::pair<std::size_t, std::size_t>> keys;  // (start of key, position of '=')
  for (std::size_t j = 0; j < rest.size(); ++j) {
    if (rest[j] == '\\') {
      ++j;
      continue;
    }
    if (rest[j] == '=') {
      std::size_t k = j;
      while (k > 0 && rest[k - 1] != ' ')
        --k;
      keys.emplace_back(k, j);
    }
  }
  for (std::size_t n = 0; n < keys.size(); ++n) {
    std::string key = rest.substr(keys[n].first, keys[n].second - keys[n].first);
    std::size_t end = n + 1 < keys.size() ? keys[n + 1].first - 1 : rest.size();
    std::string raw = rest.substr(keys[n].second + 1, end - keys[n].second - 1);
    std::string value;
    for (std::size_t j = 0; j < raw.size(); ++j) {
      if (raw[j] == '\\' && j + 1 < raw.size()) {
        char e = raw[++j];
        value += e == 'n' ? '\n' : e == 'r' ? '\r' : e;
      } else {
        value += raw[j];
      }
    }
    p.ext[key] = value;
  }
  return p;
}

std::string event_json(const std::string& fixture) {
  auto events = hookd::parse_events(hookd::test::fixture(fixture));
  REQUIRE(events.ok());
  return hookd::to_json(events->front());
}

}  // namespace

TEST_CASE("CEF header fields escape the pipe and the backslash, and drop line breaks") {
  struct Case {
    std::string in, out;
  };
  const std::vector<Case> cases = {
      {"hookd", "hookd"},   {"a|b", R"(a\|b)"},   {R"(a\b)", R"(a\\b)"},
      {"a=b", "a=b"},  // '=' needs no escape in the header
      {"a\nb\rc", "a b c"}, {R"(|\)", R"(\|\\)"}, {"", ""},
  };
  for (const auto& c : cases) {
    INFO(c.in);
    CHECK(hookd::cef_header_escape(c.in) == c.out);
  }
}

TEST_CASE("CEF extension values escape equals, backslash and line breaks") {
  struct Case {
    std::string in, out;
  };
  const std::vector<Case> cases = {
      {"plain text", "plain text"}, {"a=b", R"(a\=b)"},
      {R"(C:\dir)", R"(C:\\dir)"},  {"line1\nline2", R"(line1\nline2)"},
      {"cr\r", R"(cr\r)"},          {"a|b", "a|b"},  // the pipe needs no escape in the extension
      {R"(\=)", R"(\\\=)"},         {"", ""},
  };
  for (const auto& c : cases) {
    INFO(c.in);
    CHECK(hookd::cef_extension_escape(c.in) == c.out);
  }
}

TEST_CASE("CEF maps a runbook-shaped session.open onto suser, act, dhost, msg and cs fields") {
  const std::string json = event_json("session-open.event.json");
  const std::string record = hookd::cef_message(json, 1795515302000, "0.1.0");
  INFO(record);
  Parsed p = parse_cef(record);
  REQUIRE(p.header.size() == 7);
  CHECK(p.header[0] == "CEF:0");
  CHECK(p.header[1] == "hoop.dev");
  CHECK(p.header[2] == "hookd");
  CHECK(p.header[3] == "0.1.0");
  CHECK(p.header[4] == "session.open");
  CHECK(p.header[5] == "session open");
  CHECK(p.header[6] == "3");
  CHECK(p.ext["rt"] == "1795515302000");
  CHECK(p.ext["externalId"] == "evt_01JD8Z6T9V7Q2M4K8R3N5P1X0A");
  CHECK(p.ext["act"] == "exec");
  CHECK(p.ext["suser"] == "alice@example.com");
  CHECK(p.ext["dhost"] == "pg-prod-readonly");
  CHECK(p.ext["msg"] ==
        "SELECT id, email FROM customers WHERE created_at > now() - interval '1 day';");
  CHECK(p.ext["cs1Label"] == "sessionId");
  CHECK(p.ext["cs1"] == "9b3e2c1a-47d5-4f6e-8a90-1c2b3d4e5f60");
  CHECK(p.ext["cs2Label"] == "connectionType");
  CHECK(p.ext["cs2"] == "database");
  CHECK(p.ext["cs5"] == "dba-team,security");
  CHECK(p.ext["cs6"] == "session.open");
  CHECK(p.ext.count("outcome") == 0);
}

TEST_CASE("CEF maps session.close: outcome is the exit code and msg the output") {
  const std::string json = event_json("session-close.event.json");
  Parsed p = parse_cef(hookd::cef_message(json, 1, "v"));
  CHECK(p.header[4] == "session.close");
  CHECK(p.header[6] == "3");  // exit code 0
  CHECK(p.ext["outcome"] == "0");
  CHECK(p.ext["act"] == "session.close");
  CHECK(p.ext["msg"] ==
        " id |       email\n----+-------------------\n 42 | bob@example.com\n(1 row)\n");
  CHECK(p.ext["cs1"] == "9b3e2c1a-47d5-4f6e-8a90-1c2b3d4e5f60");
}

TEST_CASE("CEF maps Svix webhook payloads: flat fields, base64 input, failed close") {
  const std::string open =
      R"({"id":"m1","type":"session.open","timestamp":"2026-11-24T10:15:02Z","payload":)" +
      std::string(R"({"event_type":"session.open","id":"sess-1","user_id":"google|1",)"
                  R"("user_email":"john@example.com","connection":"pg|prod=1",)"
                  R"("connection_type":"database","input":"U0VMRUNUIDE7",)"
                  R"("review":{"status":"PROCESSING"},"command":["psql","-v"],"verb":"exec"}})");
  Parsed p = parse_cef(hookd::cef_message(open, 5, "v"));
  CHECK(p.ext["suser"] == "john@example.com");
  CHECK(p.ext["suid"] == "google|1");
  CHECK(p.ext["dhost"] == "pg|prod=1");  // '=' escaped on the wire, read back whole
  CHECK(p.ext["msg"] == "SELECT 1;");
  CHECK(p.ext["cs1"] == "sess-1");
  CHECK(p.ext["cs3"] == "psql -v");
  CHECK(p.ext["cs4"] == "PROCESSING");

  const std::string close =
      R"({"id":"m2","type":"session.close","timestamp":"2026-11-24T10:15:09Z","payload":)"
      R"({"event_type":"session.close","id":"sess-1","exit_code":1,)"
      R"("exit_err":"ERROR: permission denied\nfor table"}})";
  Parsed c = parse_cef(hookd::cef_message(close, 5, "v"));
  CHECK(c.header[6] == "5");  // a session that failed
  CHECK(c.ext["outcome"] == "1");
  CHECK(c.ext["msg"] == "ERROR: permission denied\nfor table");
}

TEST_CASE("CEF for an event of another type names it, and escapes a hostile type") {
  const std::string json =
      R"({"id":"e|1","type":"review.create","timestamp":"2026-11-24T10:15:02Z","payload":{"x":1}})";
  Parsed p = parse_cef(hookd::cef_message(json, 7, "1|2"));
  CHECK(p.header[3] == "1|2");
  CHECK(p.header[4] == "review.create");
  CHECK(p.ext["externalId"] == "e|1");
  CHECK(p.ext["act"] == "review.create");
  CHECK(p.ext.count("suser") == 0);
}
