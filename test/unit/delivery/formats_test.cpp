// RequestBuilder: one endpoint's requests built from events rendered once,
// byte for byte what the per-call functions build, and which header wins
// when an endpoint's extra headers name one hookd sets.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "hookd/delivery/formats.h"

using hookd::EndpointSpec;
using hookd::Event;
using hookd::OutgoingRequest;
using hookd::RequestBuilder;

namespace {

EndpointSpec spec_of(const std::string& text) {
  auto spec = hookd::parse_endpoint_spec(text);
  INFO(text << ": " << (spec ? "" : spec.error().message));
  REQUIRE(spec.ok());
  return spec.value();
}

Event event(std::string id, std::string timestamp, std::int64_t arrival_ms) {
  Event e;
  e.id = std::move(id);
  e.type = "session.open";
  e.timestamp = std::move(timestamp);
  e.payload_json = R"({"sid":"s-1"})";
  e.arrival_unix_ms = arrival_ms;
  return e;
}

std::vector<std::string> values(const OutgoingRequest& req, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [k, v] : req.headers) {
    if (k.size() != name.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < k.size(); ++i)
      same = same && std::tolower(static_cast<unsigned char>(k[i])) ==
                         std::tolower(static_cast<unsigned char>(name[i]));
    if (same) out.push_back(v);
  }
  return out;
}

}  // namespace

TEST_CASE("rendered events: the JSON once, the time from the timestamp or the arrival") {
  struct Case {
    const char* timestamp;
    std::int64_t arrival_ms;
    std::int64_t time_ms;
  };
  const std::vector<Case> cases = {
      {"2026-11-24T10:15:02.123Z", 5, 1795515302123},
      {"2026-11-24T10:15:02Z", 5, 1795515302000},
      {"yesterday", 1795515303100, 1795515303100},
      {"", 7, 7},
  };
  for (const auto& c : cases) {
    INFO('"' << c.timestamp << '"');
    Event e = event("evt_1", c.timestamp, c.arrival_ms);
    CHECK(hookd::event_time_ms(e) == c.time_ms);
    hookd::RenderedEvent r = hookd::render_event(e);
    CHECK(r.id == "evt_1");
    CHECK(r.type == "session.open");
    CHECK(r.json == hookd::to_json(e));
    CHECK(r.time_ms == c.time_ms);
  }
}

TEST_CASE("request builder: the same bytes as the one-off request functions") {
  const std::vector<Event> events = {event("evt_a", "2026-11-24T10:15:02.123Z", 1),
                                     event("evt_b", "2026-11-24T10:15:03Z", 2)};
  for (const char* text : {
           "name=w,url=https://u:p@h/in,secret=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
           "name=w,url=https://h/in,header=X-Key: 1",
           "name=s,url=https://h/in,format=splunk-hec,token=T",
           "name=s,url=https://h/in,format=splunk-hec,gzip=on",
           "name=n,url=http://h/in,format=ndjson,header=X-Key: 2",
           "name=n,url=http://u:p@h/in,format=ndjson,gzip=on",
       }) {
    INFO(text);
    EndpointSpec spec = spec_of(text);
    RequestBuilder builder(spec, "hookd/test", "edge-1");
    OutgoingRequest built;
    OutgoingRequest expected;
    if (spec.format == hookd::EndpointFormat::webhook) {
      built = builder.webhook(hookd::render_event(events[0]), 1700000000);
      expected = hookd::make_webhook_request(spec, events[0], 1700000000, "hookd/test");
    } else {
      std::string body;
      for (const auto& e : events)
        builder.append_to_batch(body, hookd::render_event(e));
      built = builder.batch_request(builder.encode_batch(body));
      expected = hookd::make_batch_request(spec, events, "edge-1", "hookd/test");
    }
    CHECK(built.method == expected.method);
    CHECK(built.target == expected.target);
    CHECK(built.headers == expected.headers);
    CHECK(built.body == expected.body);
  }
}

TEST_CASE("request builder: which Authorization and Content-Type go out") {
  struct Case {
    const char* spec;
    const char* authorization;  // "" = none
    const char* content_type;
  };
  const std::vector<Case> cases = {
      {"name=a,url=https://h/", "", "application/json"},
      {"name=a,url=https://u:p@h/", "Basic dTpw", "application/json"},
      {"name=a,url=https://u:p@h/,header=Authorization: Bearer X", "Bearer X", "application/json"},
      {"name=a,url=https://h/,header=content-type: text/plain", "", "text/plain"},
      {"name=a,url=https://u:p@h/,format=splunk-hec,token=T", "Splunk T", "application/json"},
      {"name=a,url=https://u:p@h/,format=splunk-hec", "Basic dTpw", "application/json"},
      {"name=a,url=https://h/,format=splunk-hec,token=T,header=Authorization: Other", "Other",
       "application/json"},
      {"name=a,url=https://h/,format=ndjson", "", "application/x-ndjson"},
  };
  const hookd::RenderedEvent e = hookd::render_event(event("evt_a", "2026-11-24T10:15:02Z", 1));
  for (const auto& c : cases) {
    INFO(c.spec);
    EndpointSpec spec = spec_of(c.spec);
    RequestBuilder builder(spec, "hookd/test", "edge-1");
    OutgoingRequest req;
    if (spec.format == hookd::EndpointFormat::webhook) {
      req = builder.webhook(e, 1700000000);
    } else {
      std::string body;
      builder.append_to_batch(body, e);
      req = builder.batch_request(builder.encode_batch(body));
    }
    // Each header at most once, whichever side set it.
    auto auth = values(req, "authorization");
    REQUIRE(auth.size() == (*c.authorization ? 1u : 0u));
    if (*c.authorization) CHECK(auth[0] == c.authorization);
    CHECK(values(req, "content-type") == std::vector<std::string>{c.content_type});
    CHECK(values(req, "user-agent") == std::vector<std::string>{"hookd/test"});
  }
}

TEST_CASE("request builder: a batch body is the events in order, one per line") {
  const std::vector<Event> events = {event("evt_a", "2026-11-24T10:15:02.123Z", 1),
                                     event("evt_b", "2026-11-24T10:15:03Z", 2),
                                     event("evt_c", "bad", 1795515304005)};
  RequestBuilder ndjson(spec_of("name=n,url=http://h/,format=ndjson"), "ua", "edge-1");
  RequestBuilder splunk(spec_of("name=s,url=http://h/,format=splunk-hec"), "ua", "edge-1");
  std::string nd;
  std::string hec;
  for (const auto& e : events) {
    ndjson.append_to_batch(nd, hookd::render_event(e));
    splunk.append_to_batch(hec, hookd::render_event(e));
  }
  CHECK(nd == hookd::ndjson_body(events));
  CHECK(hec == hookd::splunk_hec_body(events, "edge-1"));
  CHECK(hec.find("{\"time\":1795515304.005,") != std::string::npos);  // arrival, in seconds
  CHECK(ndjson.encode_batch(nd) == nd);                               // gzip is off
}
