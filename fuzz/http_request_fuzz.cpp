// The HTTP request path without sockets: the bytes a client sends, read by
// the server's own RequestParser (with the limits module_options() gives the
// daemon by default) in the order an HttpSession takes its steps, then the
// daemon's Router (ingest, ops and Svix API routes behind the access gate,
// as main() wires them; delivery's routes need a reactor and are left out)
// over a real file journal (--fsync off) in a temp dir. Every answer has a
// valid status, errors carry a JSON object, the head the server writes
// parses back to the same status and body, an event acknowledged by
// POST /v1/events is then found, by the journal and by GET /v1/events/{id},
// and so is a Svix message (202) by the journal and GET .../msg/{id}.
#include <unistd.h>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "hookd/api/service.h"
#include "hookd/core/config.h"
#include "hookd/core/log.h"
#include "hookd/daemon/module_options.h"
#include "hookd/server/ingest.h"
#include "hookd/server/route_access.h"
#include "request_parser.h"   // source/server: the session's parsing steps, no I/O
#include "response_writer.h"  // source/server: the bytes the session writes

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;

constexpr const char* kAdminToken = "fuzz-admin-token";
constexpr const char* kApiToken = "fuzz-api-token";
// A client pipelines a few requests at most; more only slows each input.
constexpr int kMaxRequests = 8;

// The daemon's parts, once per process: the journal and the API store keep
// what earlier inputs stored, as a running daemon would.
struct Daemon {
  std::filesystem::path dir;
  hookd::ModuleOptions options;
  std::unique_ptr<hookd::Journal> journal;
  std::unique_ptr<hookd::api::ApiService> api;
  hookd::Router router;
};

Daemon* daemon_instance = nullptr;

void shut_down() {
  if (!daemon_instance) return;
  daemon_instance->journal->close();
  std::error_code ignored;
  std::filesystem::remove_all(daemon_instance->dir, ignored);
}

Daemon& running_daemon() {
  if (daemon_instance) return *daemon_instance;
  hookd::log::configure(hookd::log::Level::error, hookd::log::Format::text);
  auto* d = new Daemon;  // lives for the process (shut_down() at exit)
  // tmpfs when there is one: the API store syncs every change it makes.
  std::string dir_template =
      std::string(std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp") +
      "/hookd-http-fuzz-XXXXXX";
  FUZZ_CHECK(::mkdtemp(dir_template.data()) != nullptr);
  d->dir = dir_template;
  hookd::Config config;
  config.data_dir = d->dir;
  config.fsync = "off";
  config.admin_token = kAdminToken;
  config.api_tokens = {kApiToken};
  auto options = hookd::module_options(config);
  FUZZ_CHECK(options.ok());
  d->options = std::move(options).value();
  std::filesystem::create_directories(d->options.journal.dir);
  std::filesystem::create_directories(d->options.api.dir);
  auto journal = hookd::open_file_journal(d->options.journal);
  FUZZ_CHECK(journal.ok());
  d->journal = std::move(journal).value();
  hookd::add_event_routes(d->router, *d->journal, d->options.ingest);
  hookd::add_ops_routes(d->router, *d->journal);
  auto api = hookd::api::ApiService::open(d->options.api, *d->journal);
  FUZZ_CHECK(api.ok());
  d->api = std::move(api).value();
  d->api->add_routes(d->router);
  d->router.set_gate(hookd::make_access_gate(d->options.access));
  daemon_instance = d;
  std::atexit(shut_down);
  return *d;
}

// The router's answer; handlers answer from other threads (the journal's,
// the API store's writer), exactly once.
hookd::HttpResponse dispatch(hookd::HttpRequest& request) {
  auto answer = std::make_shared<std::promise<hookd::HttpResponse>>();
  auto future = answer->get_future();
  running_daemon().router.dispatch(
      request, [answer](hookd::HttpResponse response) { answer->set_value(std::move(response)); });
  FUZZ_CHECK(future.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  return future.get();
}

bool is_json_object(std::string_view text) {
  json::error_code ec;
  json::value value = json::parse(text, ec);
  return !ec && value.is_object();
}

// The head ResponseBuffers writes and the body after it read back, by
// Beast's response parser, as the same status, length and body.
void check_wire_form(hookd::HttpResponse response, unsigned version, bool head, bool keep_alive) {
  const int status = response.status;
  const std::string body = response.body;
  hookd::ResponseBuffers out;
  auto buffers = out.prepare(std::move(response), version, head, keep_alive);
  std::string wire;
  for (const auto& buffer : buffers)
    wire.append(static_cast<const char*>(buffer.data()), buffer.size());
  out.release();

  http::response_parser<http::string_body> parser;
  parser.body_limit(64ull << 20);
  parser.skip(head);
  parser.eager(true);  // the body too, in the same put
  beast::error_code ec;
  std::size_t used = parser.put(boost::asio::buffer(wire), ec);
  FUZZ_CHECK(!ec);
  FUZZ_CHECK(parser.is_done());
  FUZZ_CHECK(used == wire.size());
  const auto& message = parser.get();
  FUZZ_CHECK(message.result_int() == static_cast<unsigned>(status));
  FUZZ_CHECK(message.version() == (version >= 11 ? 11u : 10u));
  if (!head && status != 204 && status != 304) FUZZ_CHECK(message.body() == body);
  if (head || status == 204 || status == 304) FUZZ_CHECK(message.body().empty());
}

// An acknowledged event is found by the journal and served by the router.
void check_readable(const std::string& id) {
  FUZZ_CHECK(running_daemon().journal->lookup(id).has_value());
  hookd::HttpRequest get;
  get.method = "GET";
  // Ids are [A-Za-z0-9_.:-]: nothing in them needs percent-encoding.
  get.target = get.path = "/v1/events/" + id;
  get.headers = {{"authorization", std::string("Bearer ") + kAdminToken}};
  hookd::HttpResponse response = dispatch(get);
  FUZZ_CHECK(response.status == 200);
  json::error_code ec;
  json::value value = json::parse(response.body, ec);
  FUZZ_CHECK(!ec && value.is_object());
  const json::value* got = value.as_object().if_contains("id");
  FUZZ_CHECK(got && got->is_string() && got->as_string() == id);
}

// A message the Svix API accepted (202) is a journal event, and the API
// serves it under the path it was posted to.
void check_message_readable(const hookd::HttpRequest& request, const std::string& body) {
  json::value value = json::parse(body);
  const json::value* id = value.as_object().if_contains("id");
  FUZZ_CHECK(id && id->is_string());
  const std::string msg_id(id->as_string());
  FUZZ_CHECK(running_daemon().journal->lookup(msg_id).has_value());
  hookd::HttpRequest get;
  get.method = "GET";
  get.path = request.path;
  if (get.path.back() != '/') get.path += '/';
  get.path += msg_id;
  get.target = get.path;
  get.headers = {{"authorization", std::string("Bearer ") + kApiToken}};
  hookd::HttpResponse response = dispatch(get);
  FUZZ_CHECK(response.status == 200);
  json::value served = json::parse(response.body);
  FUZZ_CHECK(served.is_object() && served.as_object().if_contains("id") &&
             served.as_object().at("id") == json::string_view(msg_id));
}

void check_answer(const hookd::HttpRequest& request, const hookd::HttpResponse& response) {
  FUZZ_CHECK(response.status >= 200 && response.status <= 599);
  if (response.status >= 400) {
    FUZZ_CHECK(response.content_type.rfind("application/json", 0) == 0);
    FUZZ_CHECK(is_json_object(response.body));
  } else if (response.content_type.rfind("application/json", 0) == 0 && !response.body.empty()) {
    json::error_code ec;
    json::parse(response.body, ec);
    FUZZ_CHECK(!ec);
  }
  if (request.method == "POST" && request.path == "/v1/events" &&
      (response.status == 200 || response.status == 202)) {
    json::value value = json::parse(response.body);
    const json::value* ids = value.as_object().if_contains("ids");
    FUZZ_CHECK(ids && ids->is_array() && !ids->as_array().empty());
    for (const json::value& id : ids->as_array()) {
      FUZZ_CHECK(id.is_string());
      check_readable(std::string(id.as_string()));
    }
  }
  if (request.method == "POST" && response.status == 202) {
    // add_route registers each pattern with and without a trailing slash.
    const std::string route{running_daemon().router.match("POST", request.path)};
    if (route == "/api/v1/app/{app}/msg" || route == "/api/v1/app/{app}/msg/") {
      check_message_readable(request, response.body);
    }
  }
}

// An answer the session gives before routing (and then closes).
void check_refusal(int status) {
  hookd::HttpResponse refusal = hookd::HttpResponse::error(status, "refused");
  FUZZ_CHECK(is_json_object(refusal.body));
  check_wire_form(std::move(refusal), 11, false, false);
}

// What an HttpSession does with a read or parse error once the client has
// sent everything (EOF): an answer, or a quiet close.
void read_failed(beast::error_code ec) {
  switch (hookd::classify_read_error(ec)) {
    case hookd::ReadFailure::body_limit:
      return check_refusal(413);
    case hookd::ReadFailure::header_limit:
      return check_refusal(431);
    case hookd::ReadFailure::malformed:
      return check_refusal(400);
    default:
      return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Daemon& d = running_daemon();
  hookd::RequestParser parser(d.options.server);
  auto space = parser.buffer().prepare(size);
  if (size > 0) std::memcpy(space.data(), data, size);
  parser.buffer().commit(size);

  std::string body_capacity;
  hookd::HttpRequest request;
  for (int n = 0; n < kMaxRequests && parser.buffer().size() > 0; ++n) {
    parser.begin(body_capacity);
    switch (parser.scan_header()) {
      case hookd::RequestParser::HeaderScan::too_big:
        return check_refusal(431), 0;
      case hookd::RequestParser::HeaderScan::incomplete: {
        // The client stopped inside the header.
        auto ec = parser.parse_buffered();
        read_failed(ec ? ec : beast::error_code(http::error::partial_message));
        return 0;
      }
      case hookd::RequestParser::HeaderScan::complete:
        break;
    }
    if (auto ec = parser.parse_header()) return read_failed(ec), 0;
    if (!parser.header_done()) return check_refusal(400), 0;
    if (auto [status, problem] = parser.framing_problem(); status != 0) {
      FUZZ_CHECK(status >= 400 && status <= 599 && !problem.empty());
      return check_refusal(status), 0;
    }
    if (auto ec = parser.parse_body_buffered()) return read_failed(ec), 0;
    if (!parser.done()) return read_failed(http::error::partial_message), 0;
    const hookd::RequestFacts facts = parser.facts();
    if (!hookd::to_http_request(parser.message(), request)) return check_refusal(400), 0;
    parser.reset();

    hookd::HttpResponse response = dispatch(request);
    // HOOKD_FUZZ_TRACE=1 when replaying an input: what each request got.
    static const bool trace = std::getenv("HOOKD_FUZZ_TRACE") != nullptr;
    if (trace) {
      std::fprintf(stderr, "%s %s -> %d %s\n", request.method.c_str(), request.target.c_str(),
                   response.status, response.body.substr(0, 200).c_str());
    }
    check_answer(request, response);
    check_wire_form(std::move(response), facts.version, facts.head, facts.keep_alive);
    body_capacity = std::move(request.body);
    if (!facts.keep_alive) return 0;
  }
  return 0;
}
