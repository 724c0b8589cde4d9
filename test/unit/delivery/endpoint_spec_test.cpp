// The rules an endpoint's text follows: names (they key files and cursors),
// header names, the headers hookd keeps for itself, and credentials in URLs.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "hookd/core/signature.h"
#include "hookd/delivery/endpoint_spec.h"

TEST_CASE("endpoint names are safe file names of 1-64 characters") {
  struct Case {
    std::string name;
    bool valid;
  };
  const std::vector<Case> cases = {
      {"siem", true},
      {"Splunk_HEC-2.eu", true},
      {std::string(64, 'x'), true},
      {"a", true},
      {"...", true},
      {"", false},
      {std::string(65, 'x'), false},
      {".", false},
      {"..", false},
      {"a/b", false},
      {"a b", false},
      {"a,b", false},
      {"a=b", false},
      {"caf\xc3\xa9", false},
      {"a\nb", false},
  };
  for (const auto& c : cases) {
    INFO('"' << c.name << '"');
    CHECK(hookd::valid_endpoint_name(c.name) == c.valid);
  }
}

TEST_CASE("header names are RFC 9110 tokens, and some belong to hookd") {
  struct Case {
    const char* name;
    bool token;
    bool reserved;
  };
  const std::vector<Case> cases = {
      {"X-Api-Key", true, false},
      {"Authorization", true, false},  // may replace the URL's Basic credentials
      {"Content-Type", true, false},
      {"x!#$%&'*+-.^_`|~y", true, false},
      {"webhook-signature", true, true},
      {"Webhook-Id", true, true},
      {"WEBHOOK-TIMESTAMP", true, true},
      {"Content-Length", true, true},
      {"content-encoding", true, true},
      {"Transfer-Encoding", true, true},
      {"Host", true, true},
      {"Connection", true, true},
      {"", false, false},
      {"X Key", false, false},
      {"X:Key", false, false},
      {"X\"Key", false, false},
      {"X(Key)", false, false},
  };
  for (const auto& c : cases) {
    INFO('"' << c.name << '"');
    CHECK(hookd::valid_header_name(c.name) == c.token);
    CHECK(hookd::reserved_header(c.name) == c.reserved);
  }
}

TEST_CASE("credentials in an endpoint URL become Basic auth and are never shown") {
  struct Case {
    const char* url;
    const char* shown;
    std::optional<std::string> user_password;  // before base64
  };
  const std::vector<Case> cases = {
      {"https://siem.example.com/in", "https://siem.example.com/in", std::nullopt},
      {"https://user:pw@siem.example.com/in", "https://siem.example.com/in",
       std::string("user:pw")},
      {"https://user@siem.example.com:8443/in?x=1", "https://siem.example.com:8443/in?x=1",
       std::string("user:")},
      {"http://us%40er:p%3Aw%20d@127.0.0.1:9/", "http://127.0.0.1:9/", std::string("us@er:p:w d")},
      {"http://:secret@[::1]:9/x", "http://[::1]:9/x", std::string(":secret")},
      {"not a url", "not a url", std::nullopt},
      // Not URLs (a space), but the user info is still taken out.
      {"https://us er:p w@siem.example.com/in", "https://siem.example.com/in", std::nullopt},
      {"https://user:p w@", "https://", std::nullopt},
      {"no scheme user:pw@host", "no scheme user:pw@host", std::nullopt},
  };
  for (const auto& c : cases) {
    INFO(c.url);
    CHECK(hookd::redact_url(c.url) == c.shown);
    auto auth = hookd::basic_auth_from_url(c.url);
    REQUIRE(auth.has_value() == c.user_password.has_value());
    if (auth) CHECK(*auth == "Basic " + hookd::base64_encode(*c.user_password));
  }
}

TEST_CASE("endpoint spec errors show no URL user info and no entry that is not key=value") {
  const std::string secret = "hunter2-spec-secret";
  const std::string whsec = "whsec_" + hookd::base64_encode("spec-test-webhook-secret");
  struct Case {
    std::string spec;
    std::string expected;  // part of the message
  };
  const std::vector<Case> cases = {
      {"name=s,url=https://user:" + secret + " x@siem/in", R"("https://siem/in" is not a URL)"},
      {"name=s,url=https://user:" + secret + "@/in", R"("https:///in" has no host)"},
      {"name=s,url=syslog+tcp://user:" + secret + "@siem:99999",
       R"("syslog+tcp://siem:99999" has a bad port)"},
      {"name=s,url=file://user:" + secret + "@/", "does not name a file"},
      {"name=s,url=ftp://user:" + secret + "@siem/", "must be http://"},
      {"url=https://user:" + secret + "@siem/,secret=" + whsec,
       R"(endpoint with keys "url", "secret": missing key "name")"},
      {secret, R"(endpoint with keys (none): missing key "name")"},
      {"name=s,url=https://siem/,header=Authorization: Bearer abc," + secret,
       R"(endpoint "s": entry 4 is not key=value)"},
      {"name=s,url=https://siem/,format=splunk-hec,token=abc," + secret + ",batch=5",
       R"(endpoint "s": entry 5 is not key=value)"},
  };
  for (const auto& c : cases) {
    auto parsed = hookd::parse_endpoint_spec(c.spec);
    REQUIRE_FALSE(parsed.ok());
    const std::string& message = parsed.error().message;
    INFO(c.spec << " -> " << message);
    CHECK(message.find(c.expected) != std::string::npos);
    CHECK(message.find(secret) == std::string::npos);
    CHECK(message.find(whsec) == std::string::npos);
  }
}

TEST_CASE("an endpoint accepts the event types it lists, or all with *") {
  hookd::EndpointSpec spec;
  CHECK(spec.accepts("session.open"));  // the default is "*"
  spec.events = {"session.open", "review.approved"};
  CHECK(spec.accepts("session.open"));
  CHECK(spec.accepts("review.approved"));
  CHECK_FALSE(spec.accepts("session.close"));
  CHECK_FALSE(spec.accepts("session"));
  spec.events = {};
  CHECK_FALSE(spec.accepts("session.open"));
  // hookd's own hook.* events go only where they are named.
  spec.events = {"*"};
  CHECK_FALSE(spec.accepts("hook.finished"));
  spec.events = {"*", "hook.finished"};
  CHECK(spec.accepts("hook.finished"));
  CHECK(spec.accepts("session.open"));
  for (auto f : {hookd::EndpointFormat::webhook, hookd::EndpointFormat::splunk_hec,
                 hookd::EndpointFormat::ndjson}) {
    auto parsed = hookd::parse_endpoint_spec("name=x,url=http://h/,format=" +
                                             std::string(hookd::format_name(f)));
    REQUIRE(parsed.ok());
    CHECK(parsed->format == f);
  }
}
