// Svix API endpoints in delivery: which messages they match (Svix's rules),
// the requests they get (body, svix-* headers, signatures by every active
// secret, custom headers), and their live settings in a delivery window.
#include <catch2/catch.hpp>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "hookd/delivery/delivery_window.h"
#include "hookd/delivery/endpoint_spec.h"
#include "hookd/delivery/event_status_log.h"
#include "hookd/delivery/formats.h"
#include "hookd/delivery/svix_endpoint.h"
#include "hookd/delivery/svix_format.h"
#include "hookd/journal/journal.h"
#include "support/support.h"

using hookd::Event;
using hookd::MessageFields;
using hookd::SvixEndpointSettings;
using Strings = std::optional<std::vector<std::string>>;

namespace {

hookd::WebhookSecret secret(const std::string& text) {
  auto parsed = hookd::WebhookSecret::parse(text);
  REQUIRE(parsed.ok());
  return *parsed;
}

const std::string kCurrent = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const std::string kOld = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

Event message(const std::string& app, const std::string& type,
              std::vector<std::string> channels = {}) {
  Event e;
  e.id = "msg_1";
  e.type = type;
  e.timestamp = "2026-11-24T10:15:02Z";
  e.payload_json = R"({"id":"sess-1","n":1})";
  e.arrival_unix_ms = 1000;
  e.message = MessageFields{app, "", std::move(channels)};
  return e;
}

}  // namespace

TEST_CASE("svix endpoints match messages by Svix's rules") {
  struct Row {
    const char* what;
    Strings filter_types;
    Strings channels;
    const char* app;
    const char* type;
    std::vector<std::string> message_channels;
    bool plain;  // a /v1/events event, no application
    bool matches;
  };
  const std::vector<std::string> none;
  const Row rows[] = {
      {"no filters: every message of the app", {}, {}, "app_a", "session.open", none, false, true},
      {"another application's message", {}, {}, "app_b", "session.open", none, false, false},
      {"a plain /v1/events event", {}, {}, "app_a", "session.open", none, true, false},
      {"type in filterTypes",
       Strings{{"session.open"}},
       {},
       "app_a",
       "session.open",
       none,
       false,
       true},
      {"type not in filterTypes",
       Strings{{"session.open"}},
       {},
       "app_a",
       "session.close",
       none,
       false,
       false},
      {"a message with channels, an endpoint without",
       {},
       {},
       "app_a",
       "a.b",
       {"prod"},
       false,
       true},
      {"a shared channel", {}, Strings{{"prod", "eu"}}, "app_a", "a.b", {"dev", "eu"}, false, true},
      {"no shared channel", {}, Strings{{"prod"}}, "app_a", "a.b", {"dev"}, false, false},
      {"no channels on the message, some on the endpoint",
       {},
       Strings{{"prod"}},
       "app_a",
       "a.b",
       none,
       false,
       false},
      {"type and channel both needed",
       Strings{{"a.b"}},
       Strings{{"prod"}},
       "app_a",
       "a.c",
       {"prod"},
       false,
       false},
  };
  for (const Row& row : rows) {
    INFO(row.what);
    SvixEndpointSettings endpoint;
    endpoint.app_id = "app_a";
    endpoint.filter_types = row.filter_types;
    endpoint.channels = row.channels;
    Event e = message(row.app, row.type, row.message_channels);
    if (row.plain) e.message.reset();
    CHECK(hookd::svix_endpoint_matches(endpoint, e) == row.matches);
    endpoint.disabled = true;  // disabled endpoints keep what they match
    CHECK(hookd::svix_endpoint_matches(endpoint, e) == row.matches);
  }
}

TEST_CASE("a svix request carries the payload and every active secret's signature") {
  SvixEndpointSettings endpoint;
  endpoint.id = "ep_1";
  endpoint.app_id = "app_a";
  endpoint.url = "https://siem.example/hook";
  const std::int64_t now_ms = 1'800'000'000'000;
  endpoint.secrets = {
      {secret(kCurrent), 0},
      {secret(kOld), now_ms + 3600'000},
      {secret("whsec_" + hookd::base64_encode("expired secret, long enough")), now_ms - 1}};
  endpoint.headers = {{"X-Team", "sec"},
                      {"Content-Type", "application/cloudevents+json"},
                      {"svix-id", "forged"},
                      {"Content-Length", "1"}};
  Event e = message("app_a", "session.open");
  hookd::RenderedEvent rendered = hookd::render_event_for(
      [&] {
        hookd::EndpointSpec spec;
        spec.svix = std::make_shared<hookd::SvixEndpointLink>(endpoint);
        return spec;
      }(),
      e);
  CHECK(rendered.json == e.payload_json);  // the payload alone, not the envelope

  auto request = hookd::svix_request(endpoint, rendered, now_ms, "hookd/test", std::nullopt);
  CHECK(request.body == e.payload_json);
  auto header = [&](const std::string& name) {
    std::vector<std::string> values;
    for (const auto& [n, v] : request.headers) {
      if (n == name) values.push_back(v);
    }
    return values;
  };
  CHECK(header("svix-id") == std::vector<std::string>{"msg_1"});
  CHECK(header("svix-timestamp") == std::vector<std::string>{"1800000000"});
  CHECK(header("X-Team") == std::vector<std::string>{"sec"});
  CHECK(header("content-type") == std::vector<std::string>{"application/cloudevents+json"});
  CHECK(header("user-agent") == std::vector<std::string>{"hookd/test"});
  CHECK(header("Content-Length").empty());
  CHECK(header("svix-id").size() == 1);

  const std::string signature = header("svix-signature").at(0);
  CHECK(std::count(signature.begin(), signature.end(), ' ') == 1);  // the expired one is left out
  for (const std::string& key : {kCurrent, kOld}) {
    INFO(key);
    CHECK(secret(key).verify("msg_1", "1800000000", signature, request.body, now_ms / 1000).ok());
  }
  // A signature is over id.timestamp.body: another body fails.
  CHECK_FALSE(secret(kCurrent).verify("msg_1", "1800000000", signature, "{}", now_ms / 1000).ok());
}

TEST_CASE("an API endpoint's window holds its application's messages and obeys live settings") {
  hookd::test::TempDir dir;
  hookd::JournalOptions options;
  options.dir = dir.path() / "journal";
  auto journal = hookd::open_file_journal(options);
  REQUIRE(journal.ok());
  auto append = [&](Event e, const std::string& id) {
    e.id = id;
    std::promise<hookd::AppendResult> done;
    (*journal)->append({e}, [&](hookd::AppendResult r) { done.set_value(std::move(r)); });
    REQUIRE(done.get_future().get().code == hookd::AppendResult::Code::ok);
  };
  append(message("app_a", "session.open"), "msg_a1");
  append(message("app_b", "session.open"), "msg_b1");
  Event plain = message("app_a", "session.open");
  plain.message.reset();
  append(plain, "plain-1");
  append(message("app_a", "session.close"), "msg_a2");

  SvixEndpointSettings settings;
  settings.id = "ep_1";
  settings.app_id = "app_a";
  settings.filter_types = std::vector<std::string>{"session.open"};
  auto link = std::make_shared<hookd::SvixEndpointLink>(settings);
  hookd::EndpointSpec spec;
  spec.name = "ep_1";
  spec.svix = link;
  hookd::EventStatusLog log(100, 5);
  hookd::DeliveryWindow window(100);
  window.start_at(0);
  window.fill(**journal, spec, log);
  CHECK(window.held() == 1);  // msg_a1 only
  auto batch = window.next_batch(1);
  REQUIRE(batch);
  CHECK(batch->events.at(0).event.id == "msg_a1");
  CHECK(batch->events.at(0).event.json == R"({"id":"sess-1","n":1})");
  CHECK_FALSE(spec.paused());

  // Live: the filter widened and the endpoint disabled by the API.
  settings.filter_types.reset();
  settings.disabled = true;
  link->set(settings);
  CHECK(spec.paused());
  append(message("app_a", "session.close"), "msg_a3");
  window.fill(**journal, spec, log);
  auto next = window.next_batch(1);
  REQUIRE(next);
  CHECK(next->events.at(0).event.id == "msg_a3");  // msg_a2 was read under the old filter

  // A manual send: no seq (the cursor is not involved), marked manual.
  hookd::PendingEvent resend;
  resend.event = hookd::render_event_for(spec, message("app_a", "session.close"));
  window.queue_manual(std::move(resend));
  window.fill(**journal, spec, log);
  auto manual = window.next_batch(1);
  REQUIRE(manual);
  CHECK(manual->events.at(0).manual);
  CHECK(manual->events.at(0).seq == 0);
  CHECK(window.live()->replay.load() == 1);
  window.finish(*manual, false);
  CHECK(window.live()->replay.load() == 0);
}
