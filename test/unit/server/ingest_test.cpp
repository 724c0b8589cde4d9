// The ingest and operations routes over a real file journal, called through
// Router::dispatch (no sockets).
#include "hookd/server/ingest.h"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>

#include "hookd/core/event.h"
#include "hookd/core/metrics.h"
#include "support/support.h"

namespace json = boost::json;
using namespace hookd;
using hookd::test::TempDir;

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

HttpResponse call(const Router& router, const std::string& method, const std::string& path,
                  const std::string& body = "", Headers headers = {}) {
  HttpRequest request;
  request.method = method;
  request.target = path;
  request.path = path;
  for (auto& [name, value] : headers) {
    std::string lower = name;
    for (char& c : lower)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    request.headers.emplace_back(lower, value);
  }
  request.body = body;
  auto promise = std::make_shared<std::promise<HttpResponse>>();
  auto answered = std::make_shared<std::atomic<bool>>(false);
  auto future = promise->get_future();
  router.dispatch(request, [promise, answered](HttpResponse response) {
    if (!answered->exchange(true)) promise->set_value(std::move(response));
  });
  REQUIRE(future.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  return future.get();
}

HttpResponse post(const Router& router, const std::string& body, Headers headers = {}) {
  headers.emplace_back("Content-Type", "application/json");
  return call(router, "POST", "/v1/events", body, std::move(headers));
}

std::string header(const HttpResponse& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "";
}

std::vector<std::string> ids_of(const HttpResponse& response) {
  std::vector<std::string> ids;
  json::value body = json::parse(response.body);
  for (const auto& id : body.at("ids").as_array()) {
    ids.emplace_back(id.as_string().c_str());
  }
  return ids;
}

std::string error_of(const HttpResponse& response) {
  return std::string(json::parse(response.body).at("error").as_string().c_str());
}

std::unique_ptr<Journal> open_journal(const TempDir& dir, JournalOptions options = {}) {
  options.dir = dir.path() / "journal";
  auto journal = open_file_journal(options);
  REQUIRE(journal.ok());
  return std::move(journal.value());
}

double metric(const std::string& name, const Labels& labels) {
  return metrics().counter(name, "", labels).value();
}

struct Vector {
  std::string secret, id, body, signature;
  std::int64_t timestamp;
};

Vector standard_webhooks_vector() {
  auto v = json::parse(hookd::test::fixture("standard-webhooks-vector.json")).as_object();
  return Vector{std::string(v.at("secret").as_string()), std::string(v.at("id").as_string()),
                std::string(v.at("body").as_string()), std::string(v.at("signature").as_string()),
                v.at("timestamp").as_int64()};
}

// A journal that answers every append with one code, for the paths a real
// journal reaches only under load (busy).
class FixedJournal : public Journal {
 public:
  explicit FixedJournal(AppendResult::Code code) : code_(code) {}
  void append(std::vector<Event> events, AppendCallback done) override {
    AppendResult result;
    result.code = code_;
    result.message = "fixed";
    result.duplicate.assign(events.size(), false);
    done(result);
  }
  std::optional<StoredEvent> lookup(std::string_view) override { return std::nullopt; }
  Result<std::vector<StoredEvent>> read(std::uint64_t, std::size_t) override {
    return std::vector<StoredEvent>{};
  }
  std::uint64_t register_consumer(const std::string&) override { return 0; }
  std::uint64_t cursor(std::string_view) const override { return 0; }
  void commit(std::string_view, std::uint64_t) override {}
  void on_durable(std::function<void(std::uint64_t)>) override {}
  JournalStats stats() const override {
    JournalStats stats;
    stats.writable = false;
    return stats;
  }
  void close() override {}

 private:
  AppendResult::Code code_;
};

const std::string kEvent =
    R"({"id":"evt-unit-1","type":"session.open","payload":{"sid":"s1","verb":"exec"}})";

}  // namespace

TEST_CASE("POST /v1/events accepts an event durably and is idempotent", "[ingest]") {
  TempDir dir;
  auto journal = open_journal(dir);
  Router router;
  add_event_routes(router, *journal, IngestOptions{});

  double accepted_before = metric("hookd_events_accepted_total", {{"type", "session.open"}});
  auto first = post(router, kEvent);
  CHECK(first.status == 202);
  CHECK(first.content_type == "application/json");
  CHECK(ids_of(first) == std::vector<std::string>{"evt-unit-1"});
  CHECK(metric("hookd_events_accepted_total", {{"type", "session.open"}}) == accepted_before + 1);

  double duplicates_before = metric("hookd_events_duplicate_total", {});
  auto again = post(router, kEvent);
  CHECK(again.status == 200);
  CHECK(ids_of(again) == std::vector<std::string>{"evt-unit-1"});
  CHECK(metric("hookd_events_duplicate_total", {}) == duplicates_before + 1);

  // One new event and one known: 202, ids in request order.
  auto mixed =
      post(router, R"([{"id":"evt-unit-2","type":"session.close","payload":{}},)" + kEvent + "]");
  CHECK(mixed.status == 202);
  CHECK(ids_of(mixed) == std::vector<std::string>{"evt-unit-2", "evt-unit-1"});
  // The body is written by hand, not through a JSON DOM: compact, as before.
  CHECK(mixed.body == R"({"ids":["evt-unit-2","evt-unit-1"]})");
  CHECK(metric("hookd_events_accepted_total", {{"type", "session.close"}}) >= 1);

  // No id: one is generated.
  auto generated = post(router, R"({"type":"session.open","payload":{}})");
  CHECK(generated.status == 202);
  REQUIRE(ids_of(generated).size() == 1);
  CHECK(valid_event_id(ids_of(generated)[0]));
  journal->close();
}

TEST_CASE("POST /v1/events takes the fixture batch", "[ingest]") {
  TempDir dir;
  auto journal = open_journal(dir);
  Router router;
  add_event_routes(router, *journal, IngestOptions{});
  std::string batch = hookd::test::fixture("events-batch.json");
  auto response = post(router, batch);
  CHECK(response.status == 202);
  auto ids = ids_of(response);
  CHECK(ids.size() == json::parse(batch).as_array().size());
  for (const auto& id : ids)
    CHECK(journal->lookup(id).has_value());
  journal->close();
}

TEST_CASE("POST /v1/events checks the content type", "[ingest]") {
  TempDir dir;
  auto journal = open_journal(dir);
  Router router;
  add_event_routes(router, *journal, IngestOptions{});
  double before = metric("hookd_ingest_rejected_total", {{"reason", "content_type"}});
  CHECK(call(router, "POST", "/v1/events", kEvent).status == 415);
  CHECK(call(router, "POST", "/v1/events", kEvent, {{"Content-Type", "text/plain"}}).status == 415);
  CHECK(
      call(router, "POST", "/v1/events", kEvent, {{"Content-Type", "application/jsonx"}}).status ==
      415);
  CHECK(metric("hookd_ingest_rejected_total", {{"reason", "content_type"}}) == before + 3);
  CHECK(call(router, "POST", "/v1/events", kEvent,
             {{"Content-Type", " Application/JSON ; charset=UTF-8"}})
            .status == 202);
  journal->close();
}

TEST_CASE("POST /v1/events answers 400 naming the problem", "[ingest]") {
  TempDir dir;
  auto journal = open_journal(dir);
  Router router;
  IngestOptions options;
  options.max_events_per_request = 2;
  add_event_routes(router, *journal, options);

  auto bad_json = post(router, "{\"type\":");
  CHECK(bad_json.status == 400);
  CHECK(error_of(bad_json).find("JSON") != std::string::npos);

  auto no_type = post(router, R"({"payload":{}})");
  CHECK(no_type.status == 400);
  CHECK(error_of(no_type).find("type") != std::string::npos);

  auto bad_id = post(router, R"({"id":"a b","type":"x.y","payload":{}})");
  CHECK(bad_id.status == 400);
  CHECK(error_of(bad_id).find("id") != std::string::npos);

  CHECK(post(router, "[]").status == 400);
  CHECK(post(router, "").status == 400);

  auto too_many = post(router, R"([{"type":"a.b","payload":{}},{"type":"a.b","payload":{}},)"
                               R"({"type":"a.b","payload":{}}])");
  CHECK(too_many.status == 400);
  CHECK(journal->stats().last_seq == 0);
  journal->close();
}

TEST_CASE("POST /v1/events verifies Standard Webhooks signatures", "[ingest]") {
  TempDir dir;
  auto journal = open_journal(dir);
  Router router;
  Vector vector = standard_webhooks_vector();
  auto secret = WebhookSecret::parse(vector.secret);
  REQUIRE(secret.ok());
  IngestOptions options;
  options.inbound_secrets = {secret.value()};
  add_event_routes(router, *journal, options);

  std::int64_t now = now_unix_ms() / 1000;
  auto signed_headers = [&](const std::string& prefix, const std::string& id,
                            std::int64_t timestamp, const std::string& body) {
    return Headers{{prefix + "id", id},
                   {prefix + "timestamp", std::to_string(timestamp)},
                   {prefix + "signature", secret->sign(id, timestamp, body)}};
  };

  SECTION("the published vector, as published, is too old") {
    auto response = post(router, vector.body,
                         {{"webhook-id", vector.id},
                          {"webhook-timestamp", std::to_string(vector.timestamp)},
                          {"webhook-signature", vector.signature}});
    CHECK(response.status == 401);
    CHECK(error_of(response).find("too old") != std::string::npos);
  }

  SECTION("the vector's message with a fresh timestamp passes the signature check") {
    // Its body is not an event, so the request gets as far as parsing.
    auto response =
        post(router, vector.body, signed_headers("webhook-", vector.id, now, vector.body));
    CHECK(response.status == 400);
  }

  SECTION("a signed event takes webhook-id as its id") {
    std::string body = R"({"type":"session.open","payload":{"sid":"s9"}})";
    auto response = post(router, body, signed_headers("webhook-", vector.id, now, body));
    CHECK(response.status == 202);
    CHECK(ids_of(response) == std::vector<std::string>{vector.id});
    CHECK(journal->lookup(vector.id).has_value());

    // A sender's retry: same id, fresh signature -> 200, nothing new.
    auto retry = post(router, body, signed_headers("webhook-", vector.id, now + 1, body));
    CHECK(retry.status == 200);
    CHECK(ids_of(retry) == std::vector<std::string>{vector.id});
  }

  SECTION("svix- header spellings") {
    std::string body = R"({"type":"session.close","payload":{}})";
    auto response = post(router, body, signed_headers("svix-", "msg_svix1", now, body));
    CHECK(response.status == 202);
    CHECK(ids_of(response) == std::vector<std::string>{"msg_svix1"});
  }

  SECTION("an id in the body wins over webhook-id") {
    auto response = post(router, kEvent, signed_headers("webhook-", "msg_other", now, kEvent));
    CHECK(response.status == 202);
    CHECK(ids_of(response) == std::vector<std::string>{"evt-unit-1"});
  }

  SECTION("rejections") {
    double before = metric("hookd_ingest_rejected_total", {{"reason", "signature"}});
    auto headers = signed_headers("webhook-", "msg_1", now, kEvent);

    auto unsigned_request = post(router, kEvent);
    CHECK(unsigned_request.status == 401);
    CHECK(error_of(unsigned_request).find("missing webhook-id") != std::string::npos);

    auto no_signature = post(router, kEvent, {headers[0], headers[1]});
    CHECK(no_signature.status == 401);
    CHECK(error_of(no_signature).find("signature") != std::string::npos);

    auto tampered = post(router, kEvent + " ", headers);
    CHECK(tampered.status == 401);
    CHECK(error_of(tampered).find("no matching signature") != std::string::npos);

    auto other_id = headers;
    other_id[0].second = "msg_2";
    CHECK(post(router, kEvent, other_id).status == 401);

    auto old = post(router, kEvent, signed_headers("webhook-", "msg_1", now - 600, kEvent));
    CHECK(old.status == 401);
    CHECK(error_of(old).find("too old") != std::string::npos);

    auto future = post(router, kEvent, signed_headers("webhook-", "msg_1", now + 600, kEvent));
    CHECK(future.status == 401);
    CHECK(error_of(future).find("too new") != std::string::npos);

    auto wrong_secret = WebhookSecret::parse("whsec_" + base64_encode("another secret key"));
    REQUIRE(wrong_secret.ok());
    auto forged = headers;
    forged[2].second = wrong_secret->sign("msg_1", now, kEvent);
    CHECK(post(router, kEvent, forged).status == 401);

    CHECK(metric("hookd_ingest_rejected_total", {{"reason", "signature"}}) == before + 7);
    CHECK(journal->stats().last_seq == 0);
  }
  journal->close();
}

TEST_CASE("POST /v1/events maps journal refusals to 503, 429 and 500", "[ingest]") {
  SECTION("full journal -> 503 with Retry-After") {
    TempDir dir;
    JournalOptions journal_options;
    journal_options.max_bytes = 1;  // the first append fits, then it is full
    auto journal = open_journal(dir, journal_options);
    Router router;
    IngestOptions options;
    options.retry_after_seconds = 7;
    add_event_routes(router, *journal, options);
    CHECK(post(router, kEvent).status == 202);
    auto full = post(router, R"({"type":"session.open","payload":{}})");
    CHECK(full.status == 503);
    CHECK(header(full, "Retry-After") == "7");
    CHECK(error_of(full).find("full") != std::string::npos);
    journal->close();
  }
  SECTION("closed journal -> 500") {
    TempDir dir;
    auto journal = open_journal(dir);
    Router router;
    add_event_routes(router, *journal, IngestOptions{});
    journal->close();
    CHECK(post(router, kEvent).status == 500);
  }
  SECTION("busy journal -> 429 with Retry-After") {
    FixedJournal journal(AppendResult::Code::busy);
    Router router;
    add_event_routes(router, journal, IngestOptions{});
    double before = metric("hookd_ingest_rejected_total", {{"reason", "busy"}});
    auto busy = post(router, kEvent);
    CHECK(busy.status == 429);
    CHECK(header(busy, "Retry-After") == "1");
    CHECK(metric("hookd_ingest_rejected_total", {{"reason", "busy"}}) == before + 1);
  }
}

TEST_CASE("hookd_events_accepted_total bounds its type label", "[ingest]") {
  TempDir dir;
  auto journal = open_journal(dir);
  Router router;
  IngestOptions options;
  options.max_type_labels = 2;
  add_event_routes(router, *journal, options);
  double other_before = metric("hookd_events_accepted_total", {{"type", "other"}});
  for (const char* type : {"bound.one", "bound.two", "bound.three", "bound.four"}) {
    CHECK(post(router, std::string(R"({"type":")") + type + R"(","payload":{}})").status == 202);
  }
  CHECK(metric("hookd_events_accepted_total", {{"type", "bound.one"}}) == 1);
  CHECK(metric("hookd_events_accepted_total", {{"type", "bound.two"}}) == 1);
  CHECK(metric("hookd_events_accepted_total", {{"type", "other"}}) == other_before + 2);
  CHECK(metrics().render().find("bound.three") == std::string::npos);
  journal->close();
}

TEST_CASE("GET /v1/events/{id} returns the stored event and its views", "[ingest]") {
  TempDir dir;
  auto journal = open_journal(dir);
  Router router;
  std::vector<std::pair<std::string, EventStatusView>> views;
  views.emplace_back("hook", [](const hookd::StoredEvent& stored) -> std::optional<std::string> {
    if (stored.event.id == "evt-unit-1") return R"({"outcome":"running","exit_code":null})";
    return std::nullopt;
  });
  views.emplace_back("broken", [](const hookd::StoredEvent&) -> std::optional<std::string> {
    return "{not json";
  });
  add_event_routes(router, *journal, IngestOptions{}, std::move(views));
  std::int64_t before = now_unix_ms();
  REQUIRE(post(router, kEvent).status == 202);

  auto found = call(router, "GET", "/v1/events/evt-unit-1");
  REQUIRE(found.status == 200);
  auto body = json::parse(found.body).as_object();
  CHECK(body.at("id") == "evt-unit-1");
  CHECK(body.at("type") == "session.open");
  CHECK(body.at("payload") == json::parse(R"({"sid":"s1","verb":"exec"})"));
  CHECK(body.at("state") == "processing");  // from the hook view's outcome
  CHECK(body.at("seq").to_number<std::uint64_t>() == 1);
  CHECK(body.at("hook").at("outcome") == "running");
  CHECK_FALSE(body.contains("broken"));
  REQUIRE(body.at("timestamp").is_string());
  auto accepted_at = parse_rfc3339(std::string(body.at("accepted_at").as_string()));
  REQUIRE(accepted_at.has_value());
  CHECK(*accepted_at >= before - 1000);

  auto missing = call(router, "GET", "/v1/events/evt-nope");
  CHECK(missing.status == 404);
  CHECK(error_of(missing).find("evt-nope") != std::string::npos);
  CHECK(call(router, "GET", "/v1/events/bad%20id").status == 404);
  CHECK(call(router, "DELETE", "/v1/events/evt-unit-1").status == 405);
  journal->close();
}

TEST_CASE("health, readiness and metrics routes", "[ingest]") {
  TempDir dir;
  auto journal = open_journal(dir);
  Router router;
  bool runbooks_ready = true;
  std::vector<ReadinessCheck> checks;
  checks.push_back({"runbooks", [&](std::string& detail) {
                      detail = R"({"commit":"abc"})";
                      return runbooks_ready;
                    }});
  checks.push_back({"plain", [](std::string&) { return true; }});
  add_event_routes(router, *journal, IngestOptions{});
  add_ops_routes(router, *journal, std::move(checks));

  auto health = call(router, "GET", "/healthz");
  CHECK(health.status == 200);
  CHECK(json::parse(health.body) == json::parse(R"({"status":"ok"})"));

  auto ready = call(router, "GET", "/readyz");
  CHECK(ready.status == 200);
  auto body = json::parse(ready.body).as_object();
  CHECK(body.at("ready") == true);
  CHECK(body.at("journal").at("writable") == true);
  CHECK(body.at("runbooks").at("commit") == "abc");
  CHECK(body.at("plain") == true);

  runbooks_ready = false;
  auto not_ready = call(router, "GET", "/readyz");
  CHECK(not_ready.status == 503);
  CHECK(json::parse(not_ready.body).at("ready") == false);

  REQUIRE(post(router, kEvent).status == 202);
  auto scrape = call(router, "GET", "/metrics");
  CHECK(scrape.status == 200);
  CHECK(scrape.content_type == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(scrape.body.find("hookd_events_accepted_total{type=\"session.open\"}") !=
        std::string::npos);
  journal->close();
}

TEST_CASE("/readyz is 503 when the journal is not writable", "[ingest]") {
  FixedJournal journal(AppendResult::Code::failed);
  Router router;
  add_ops_routes(router, journal);
  auto ready = call(router, "GET", "/readyz");
  CHECK(ready.status == 503);
  CHECK(json::parse(ready.body).at("journal").at("writable") == false);
}
