#include "hookd/api/validation.h"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace json = boost::json;
using namespace hookd::api;

namespace {

// "" when accepted, else "loc.joined.by.dots type" of the first problem.
template <typename Read>
std::string verdict(const std::string& body, Read read) {
  ValidationItems errors;
  bool ok = read(json::parse(body), errors);
  if (ok) return errors.empty() ? "" : "accepted with errors?";
  if (errors.empty()) return "refused without a reason?";
  std::string out;
  for (const auto& part : errors.front().loc)
    out += (out.empty() ? "" : ".") + part;
  return out + " " + errors.front().type;
}

const Limits kLimits;

}  // namespace

TEST_CASE("ApplicationIn by svix-server's rules", "[api][validation]") {
  auto full = [](const json::value& v, ValidationItems& e) {
    return read_application(v, BodyKind::full, kLimits, e).has_value();
  };
  auto patch = [](const json::value& v, ValidationItems& e) {
    return read_application(v, BodyKind::patch, kLimits, e).has_value();
  };
  struct Row {
    std::string body;
    bool is_patch;
    std::string expected;
  };
  const std::vector<Row> rows = {
      {R"({"name":"a"})", false, ""},
      {R"({"name":"org1","uid":"org-1_x.y","rateLimit":5,"metadata":{"k":"v"},"extra":1})", false,
       ""},
      {R"({})", false, "body.name value_error.missing"},
      {R"({"name":""})", false, "body.name value_error"},
      {R"({"name":7})", false, "body.name value_error.jsondecode"},
      {R"({"name":"a\u0001"})", false, "body.name value_error"},
      {R"({"name":"a","uid":"app_x"})", false, "body.uid value_error"},
      {R"({"name":"a","uid":"has space"})", false, "body.uid value_error"},
      {R"({"name":"a","uid":"../etc"})", false, "body.uid value_error"},
      {R"({"name":"a","rateLimit":0})", false, "body.rateLimit value_error"},
      {R"({"name":"a","throttleRate":70000})", false, "body.rateLimit value_error"},
      {R"({"name":"a","metadata":{"k":1}})", false, "body.metadata value_error.jsondecode"},
      {R"({"name":"a","metadata":{"k":")" + std::string(5000, 'x') + R"("}})", false,
       "body.metadata value_error"},
      {R"([])", false, "body value_error.jsondecode"},
      {R"({})", true, ""},
      {R"({"uid":null})", true, ""},
      {R"({"name":null})", true, "body.name value_error"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.body.substr(0, 80), row.is_patch);
    CHECK(verdict(row.body, row.is_patch ? patch : full) == row.expected);
  }
}

TEST_CASE("EndpointIn by svix-server's rules, bounded", "[api][validation]") {
  Limits limits;
  limits.max_filter_types = 3;
  limits.max_headers = 2;
  auto full = [&limits](const json::value& v, ValidationItems& e) {
    return read_endpoint(v, BodyKind::full, limits, e).has_value();
  };
  const std::string secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
  struct Row {
    std::string body;
    std::string expected;
  };
  const std::vector<Row> rows = {
      {R"({"url":"https://siem.example.com/in"})", ""},
      {R"({"url":"http://127.0.0.1:9000/x","filterTypes":["session.open"],"channels":["a"],)"
       R"("uid":"ep-1","version":2,"disabled":true,"secret":")" +
           secret + R"(","headers":{"X-Team":"sec"}})",
       ""},
      {R"({"url":"http://h/","eventTypes":["a.b"]})", ""},
      {R"({})", "body.url value_error.missing"},
      {R"({"url":"ftp://h/x"})", "body.url value_error"},
      {R"({"url":"not a url"})", "body.url value_error"},
      {R"({"url":"http://"})", "body.url value_error"},
      {R"({"url":"https://h/","filterTypes":[]})", "body.filterTypes value_error"},
      {R"({"url":"https://h/","filterTypes":["a","b","c","d"]})", "body.filterTypes value_error"},
      {R"({"url":"https://h/","filterTypes":["a","a","a","a","b"]})", ""},
      {R"({"url":"https://h/","filterTypes":["bad name"]})", "body.filterTypes.[0] value_error"},
      {R"({"url":"https://h/","filterTypes":"a"})", "body.filterTypes value_error.jsondecode"},
      {R"({"url":"https://h/","channels":[]})", "body.channels value_error"},
      {R"({"url":"https://h/","channels":["1","2","3","4","5","6","7","8","9","10","11"]})",
       "body.channels value_error"},
      {R"({"url":"https://h/","uid":"ep_1"})", "body.uid value_error"},
      {R"({"url":"https://h/","version":0})", "body.version value_error"},
      {R"({"url":"https://h/","secret":"whsec_short"})", "body.secret value_error"},
      {R"({"url":"https://h/","headers":{"Content-Type":"x"}})",
       "body.headers.Content-Type value_error"},
      {R"({"url":"https://h/","headers":{"svix-id":"x"}})", "body.headers.svix-id value_error"},
      {R"({"url":"https://h/","headers":{"X-A":"1\n2"}})", "body.headers.X-A value_error"},
      {R"({"url":"https://h/","headers":{"X-A":"1","x-a":"2"}})", "body.headers.x-a value_error"},
      {R"({"url":"https://h/","headers":{"A":"1","B":"2","C":"3"}})", "body.headers value_error"},
      {R"({"url":"https://h/","headers":{"X-A":7}})", "body.headers.X-A value_error.jsondecode"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.body.substr(0, 100));
    CHECK(verdict(row.body, full) == row.expected);
  }

  ValidationItems errors;
  auto input =
      read_endpoint(json::parse(R"({"url":"http://h/","secret":")" + secret.substr(6) + R"("})"),
                    BodyKind::full, limits, errors);
  REQUIRE(input);
  CHECK(input->secret.value == secret);  // bare base64 gets the prefix
}

TEST_CASE("MessageIn by svix-server's rules", "[api][validation]") {
  auto read = [](const json::value& v, ValidationItems& e) {
    return read_message(v, kLimits, e).has_value();
  };
  struct Row {
    std::string body;
    std::string expected;
  };
  const std::vector<Row> rows = {
      {R"({"eventType":"session.open","payload":{"a":1}})", ""},
      {R"({"eventType":"session.open","eventId":"3f0c8e52-9a41","payload":{},"channels":["p1"]})",
       ""},
      {R"({"eventType":"a.b","data":{}})", ""},
      {R"({"payload":{}})", "body.eventType value_error.missing"},
      {R"({"eventType":"a.b"})", "body.payload value_error.missing"},
      {R"({"eventType":"a.b","payload":[1]})", "body.payload value_error"},
      {R"({"eventType":"a.b","payload":"x"})", "body.payload value_error"},
      {R"({"eventType":"a..b","payload":{}})", "body.eventType value_error"},
      {R"({"eventType":"a b","payload":{}})", "body.eventType value_error"},
      {R"({"eventType":"a.b","eventId":"msg_1","payload":{}})", "body.eventId value_error"},
      {R"({"eventType":"a.b","eventId":"x/y","payload":{}})", "body.eventId value_error"},
      {R"({"eventType":"a.b","payload":{},"channels":["1","2","3","4","5","6"]})",
       "body.channels value_error"},
      {R"({"eventType":"a.b","payload":{},"payloadRetentionPeriod":1})",
       "body.payloadRetentionPeriod value_error"},
      {R"({"eventType":"a.b","payload":{"n":[1e999]}})", "body.payload value_error"},
      {R"({"eventType":"a.b","payload":{},"application":{"uid":"o"}})",
       "body.application.name value_error.missing"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.body);
    CHECK(verdict(row.body, read) == row.expected);
  }
}

TEST_CASE("secrets, URLs and header sensitivity", "[api][validation]") {
  CHECK(normalise_secret("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"));
  CHECK_FALSE(normalise_secret("whsec_"));
  CHECK_FALSE(normalise_secret("whsec_!!!!"));
  CHECK_FALSE(normalise_secret("whsec_" + std::string(120, 'A')));
  std::string generated = generate_secret();
  CHECK(generated.rfind("whsec_", 0) == 0);
  CHECK(normalise_secret(generated) == generated);
  CHECK(generated != generate_secret());

  CHECK(valid_endpoint_url("https://a.example/x?y=1"));
  CHECK(valid_endpoint_url("HTTP://[::1]:8080/"));
  CHECK_FALSE(valid_endpoint_url("https:/x"));
  CHECK_FALSE(valid_endpoint_url("javascript:alert(1)"));
  CHECK_FALSE(valid_endpoint_url(""));

  CHECK(sensitive_header("Authorization"));
  CHECK(sensitive_header("X-API-KEY"));
  CHECK_FALSE(sensitive_header("X-Team"));
}

TEST_CASE("EndpointSecretRotateIn", "[api][validation]") {
  ValidationItems errors;
  CHECK(read_rotate(json::parse("{}"), errors) == std::optional<std::string>(""));
  CHECK(read_rotate(json::parse(R"({"key":null})"), errors) == std::optional<std::string>(""));
  CHECK(read_rotate(json::value(nullptr), errors) == std::optional<std::string>(""));
  CHECK(errors.empty());
  CHECK(read_rotate(json::parse(R"({"key":"whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"})"), errors) ==
        std::optional<std::string>("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"));
  CHECK_FALSE(read_rotate(json::parse(R"({"key":5})"), errors));
  CHECK_FALSE(read_rotate(json::parse(R"({"key":"whsec_x"})"), errors));
  CHECK(errors.size() == 2);
}

// Found by fuzz/svix_bodies: a deleteHeaders that is not an array of strings
// was reported as a problem, yet the patch was accepted (as no change).
TEST_CASE("EndpointHeadersPatchIn refuses what it reports", "[api][validation]") {
  auto patch = [](const json::value& body, ValidationItems& errors) {
    return read_headers_patch(body, kLimits, errors).has_value();
  };
  CHECK(verdict(R"({"deleteHeaders":"X-A"})", patch) ==
        "body.deleteHeaders value_error.jsondecode");
  CHECK(verdict(R"({"deleteHeaders":[1]})", patch) == "body.deleteHeaders value_error.jsondecode");
  CHECK(verdict(R"({"headers":{"X-A":"1"},"deleteHeaders":{}})", patch) ==
        "body.deleteHeaders value_error.jsondecode");
  CHECK(verdict(R"({"deleteHeaders":null})", patch).empty());
  CHECK(verdict(R"({"headers":{"X-A":null},"deleteHeaders":["X-B"]})", patch).empty());
}
