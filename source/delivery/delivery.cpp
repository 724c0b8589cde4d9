#include "hookd/delivery/delivery.h"

#include <openssl/crypto.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <cstring>
#include <set>

#include "hookd/core/ascii.h"
#include "hookd/core/log.h"
#include "hookd/core/text.h"
#include "hookd/delivery/blocking_io_thread.h"
#include "hookd/delivery/endpoint_list.h"
#include "hookd/delivery/endpoint_worker.h"
#include "hookd/delivery/endpoint_workers.h"
#include "hookd/journal/journal.h"

namespace hookd {

namespace json = boost::json;

namespace {

constexpr auto kTick = std::chrono::seconds(1);

std::string this_host() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') std::strcpy(name, "hookd");
  return name;
}

json::object endpoint_json(const EndpointSummary& s) {
  json::object o;
  o["name"] = s.name;
  o["url"] = s.url;
  o["format"] = format_name(s.format);
  json::array events;
  for (const auto& e : s.events)
    events.emplace_back(e);
  o["events"] = std::move(events);
  o["state"] = s.disabled ? "disabled" : "active";
  if (s.disabled) {
    o["disabled_reason"] = s.disabled_reason;
    o["disabled_at"] = s.disabled_at;
  }
  o["cursor"] = s.cursor;
  o["backlog"] = s.backlog;
  o["in_flight"] = s.in_flight;
  o["dead_letters"] = s.dead_letters;
  o["last_error"] = s.last_error.empty() ? json::value(nullptr) : json::value(s.last_error);
  o["last_status"] = s.last_status == 0 ? json::value(nullptr) : json::value(s.last_status);
  o["next_attempt_at"] = s.next_attempt_unix_ms
                             ? json::value(format_rfc3339(*s.next_attempt_unix_ms))
                             : json::value(nullptr);
  o["delivered_total"] = s.delivered_total;
  o["failed_total"] = s.failed_total;
  return o;
}

struct ReplayRequest {
  bool dead_letters = true;
  std::optional<std::int64_t> since_ms;
};

// {} , {"dead_letters":bool} , {"since":"<RFC 3339>"} or both; the error is the 400 text.
Result<ReplayRequest> parse_replay_request(std::string_view body) {
  ReplayRequest r;
  if (trim_ows(body).empty()) return r;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) {
    return make_error("body must be {} , {\"dead_letters\":true} or {\"since\":\"<RFC 3339>\"}");
  }
  bool dl_given = false;
  for (const auto& kv : v.as_object()) {
    if (kv.key() == "dead_letters") {
      if (!kv.value().is_bool()) return make_error("dead_letters: must be a boolean");
      r.dead_letters = kv.value().as_bool();
      dl_given = true;
    } else if (kv.key() == "since") {
      if (!kv.value().is_string()) return make_error("since: must be an RFC 3339 time");
      r.since_ms = parse_rfc3339(kv.value().as_string());
      if (!r.since_ms) return make_error("since: must be an RFC 3339 time");
    } else {
      return make_error("unknown key " + json_quote(kv.key()));
    }
  }
  if (r.since_ms && !dl_given) r.dead_letters = false;
  return r;
}

}  // namespace

struct Delivery::Impl : std::enable_shared_from_this<Delivery::Impl> {
  Impl(boost::asio::io_context& io_context, Journal& j, DeliveryOptions opts)
      : io(io_context),
        journal(j),
        admin_token(std::move(opts.admin_token)),
        endpoint_flags(std::move(opts.endpoint_flags)),
        endpoints_file(std::move(opts.endpoints_file)) {
    context.io = &io;
    context.journal = &journal;
    context.last_seq = last_seq;
    context.dir = opts.dir;
    context.retry =
        RetryPolicy(std::move(opts.retry_schedule), opts.jitter, opts.min_backoff_throttled);
    context.window = opts.window;
    context.status_events = opts.status_events;
    context.max_attempts_shown = opts.max_attempts_shown;
    context.shared_tally = opts.shared_tally;
    context.shared_dead_letters = opts.shared_dead_letters;
    context.user_agent =
        opts.user_agent.empty() ? std::string("hookd/") + HOOKD_VERSION : opts.user_agent;
    context.host = this_host();
    // An endpoints file may add endpoints later, so it needs the machinery too.
    if (!opts.endpoints.empty() || !endpoints_file.empty()) {
      context.files = std::make_shared<BlockingIoThread>();
    }
    workers = std::make_shared<EndpointWorkers>(context);
    for (auto& spec : opts.endpoints)
      workers->add(std::move(spec));
  }

  boost::asio::io_context& io;
  Journal& journal;
  const std::string admin_token;
  const std::vector<std::string> endpoint_flags;
  const std::filesystem::path endpoints_file;
  std::shared_ptr<std::atomic<std::uint64_t>> last_seq =
      std::make_shared<std::atomic<std::uint64_t>>(0);
  EndpointWorkerContext context;
  std::unique_ptr<boost::asio::steady_timer> tick_timer;
  std::shared_ptr<std::atomic<bool>> wake_posted = std::make_shared<std::atomic<bool>>(false);
  bool started = false;
  bool stopping = false;

  // Routes and status_json read the list from any reactor, and endpoints
  // may come and go at runtime.
  std::shared_ptr<EndpointWorkers> workers;

  std::vector<std::shared_ptr<EndpointWorker>> all_workers() const { return workers->list(); }

  std::shared_ptr<EndpointWorker> find(std::string_view name) const { return workers->find(name); }

  Status start() {
    if (started) return Ok{};
    const auto list = all_workers();
    std::set<std::string> names;
    for (const auto& w : list) {
      if (!names.insert(w->spec().name).second) {
        return make_error("endpoint " + json_quote(w->spec().name) + ": key \"name\": given twice");
      }
    }
    const bool runs = !list.empty() || !endpoints_file.empty();
    if (runs) {
      std::error_code ec;
      std::filesystem::create_directories(context.dir, ec);
      if (ec) return make_error("delivery dir " + context.dir.string() + ": " + ec.message());
    }
    if (Status st = workers->start_all(); !st) return st;
    started = true;
    if (!runs) return Ok{};
    tick_timer = std::make_unique<boost::asio::steady_timer>(io);
    *last_seq = journal.stats().last_seq;

    std::weak_ptr<Impl> weak = weak_from_this();
    auto flag = wake_posted;
    auto last = last_seq;
    boost::asio::io_context* ctx = &io;
    journal.on_durable([weak, flag, last, ctx](std::uint64_t seq) {
      std::uint64_t cur = last->load();
      while (seq > cur && !last->compare_exchange_weak(cur, seq)) {
      }
      if (weak.expired() || flag->exchange(true)) return;
      boost::asio::post(*ctx, [weak, flag] {
        flag->store(false);
        if (auto self = weak.lock()) self->wake_all();
      });
    });
    arm_tick();
    boost::asio::post(io, [weak] {
      if (auto self = weak.lock()) self->wake_all();
    });
    return Ok{};
  }

  void wake_all() {
    if (stopping) return;
    for (const auto& w : all_workers())
      w->wake();
  }

  void arm_tick() {
    std::weak_ptr<Impl> weak = weak_from_this();
    tick_timer->expires_after(kTick);
    tick_timer->async_wait([weak](boost::system::error_code ec) {
      if (ec) return;
      auto self = weak.lock();
      if (!self || self->stopping) return;
      // A safety net for missed wake-ups, and a retry for journal read errors.
      std::uint64_t seq = self->journal.stats().last_seq;
      std::uint64_t cur = self->last_seq->load();
      if (seq > cur) self->last_seq->store(seq);
      self->wake_all();
      self->arm_tick();
    });
  }

  void stop(std::function<void()> done) {
    if (stopping || !started) {
      stopping = true;
      done();
      return;
    }
    stopping = true;
    if (tick_timer) tick_timer->cancel();
    // Each worker finishes its pending dead-letter writes and commits its
    // cursor; `done` runs after the last.
    workers->stop_all(std::move(done));
  }

  // SIGHUP; runs on io.
  void reload() {
    if (stopping || !started || !context.files) return;
    workers->reopen_all();
    if (endpoints_file.empty()) return;
    std::weak_ptr<Impl> weak = weak_from_this();
    boost::asio::io_context* ctx = &io;
    context.files->post([weak, ctx, flags = endpoint_flags, file = endpoints_file] {
      auto wanted = load_endpoint_list(flags, file);
      boost::asio::post(*ctx, [weak, wanted = std::move(wanted)] {
        auto self = weak.lock();
        if (!self || self->stopping) return;
        if (!wanted) {
          log::error("delivery: reload refused, the endpoints stay as they are",
                     {{"error", wanted.error().message}});
          return;
        }
        self->workers->apply(*wanted);
        self->wake_all();
      });
    });
  }

  bool authorize(const HttpRequest& req, const Responder& respond) const {
    if (admin_token.empty()) {
      respond(HttpResponse::error(
          403, "admin routes are off: start hookd with --admin-token to use /v1/endpoints"));
      return false;
    }
    std::string_view h = trim_ows(req.header("authorization"));
    std::string_view scheme = h.substr(0, std::min<std::size_t>(h.size(), 7));
    std::string_view token = h.size() > 7 ? trim_ows(h.substr(7)) : std::string_view();
    bool ok = ascii_iequals(scheme, "bearer ") && token.size() == admin_token.size() &&
              CRYPTO_memcmp(token.data(), admin_token.data(), token.size()) == 0;
    if (!ok) {
      HttpResponse r = HttpResponse::error(401, "missing or wrong admin bearer token");
      r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"hookd\"");
      respond(std::move(r));
    }
    return ok;
  }

  // GET /v1/endpoints; runs on io.
  std::string endpoints_json() const {
    json::array out;
    const std::uint64_t last = std::max(last_seq->load(), journal.stats().last_seq);
    for (const auto& w : all_workers())
      out.push_back(endpoint_json(w->summary(last)));
    return json::serialize(out);
  }

  // POST /v1/endpoints/{name}/replay; runs on io.
  void replay(EndpointWorker& worker, const ReplayRequest& request, Responder respond) {
    json::object answer;
    answer["endpoint"] = worker.spec().name;
    if (request.since_ms) {
      SinceReplay scan = worker.replay_since(*request.since_ms);
      answer["since"] = format_rfc3339(*request.since_ms);
      answer["from_seq"] = scan.from_seq;
      answer["to_seq"] = scan.to_seq;
    }
    if (!request.dead_letters) {
      worker.wake();
      respond(HttpResponse::json(202, json::serialize(answer)));
      return;
    }
    worker.replay_dead_letters([answer = std::move(answer),
                                respond = std::move(respond)](Result<std::size_t> queued) mutable {
      if (!queued) return respond(HttpResponse::error(503, queued.error().message));
      answer["dead_letters"] = *queued;
      respond(HttpResponse::json(202, json::serialize(answer)));
    });
  }

  std::optional<std::string> status_json(const StoredEvent& stored) const {
    const auto list = all_workers();
    if (list.empty()) return std::nullopt;
    // A JSON object of the workers' objects, in endpoint order.
    std::string out = "{";
    for (const auto& w : list) {
      if (out.size() > 1) out += ',';
      out += json_quote(w->spec().name);
      out += ':';
      out += w->status_json(stored);
    }
    out += '}';
    return out;
  }
};

Delivery::Delivery(boost::asio::io_context& io, Journal& journal, DeliveryOptions options)
    : impl_(std::make_shared<Impl>(io, journal, std::move(options))) {}

Delivery::~Delivery() {
  if (impl_->context.files) impl_->context.files->stop();
}

Status Delivery::start() {
  return impl_->start();
}

void Delivery::reload() {
  std::shared_ptr<Impl> self = impl_;
  boost::asio::post(self->io, [self] { self->reload(); });
}

void Delivery::stop(std::function<void()> done) {
  std::shared_ptr<Impl> self = impl_;
  boost::asio::post(self->io,
                    [self, done = std::move(done)]() mutable { self->stop(std::move(done)); });
}

std::optional<std::string> Delivery::status_json(const StoredEvent& stored) const {
  return impl_->status_json(stored);
}

void Delivery::add_routes(Router& router) {
  std::weak_ptr<Impl> weak = impl_;
  router.add("GET", "/v1/endpoints", [weak](HttpRequest&, Responder respond) {
    auto self = weak.lock();
    if (!self) return respond(HttpResponse::error(503, "delivery is stopping"));
    // A read: the router's gate lets the admin token or an API token through.
    boost::asio::post(self->io, [weak, respond = std::move(respond)] {
      auto self = weak.lock();
      if (!self) return respond(HttpResponse::error(503, "delivery is stopping"));
      respond(HttpResponse::json(200, self->endpoints_json()));
    });
  });

  router.add("POST", "/v1/endpoints/{name}/replay", [weak](HttpRequest& req, Responder respond) {
    auto self = weak.lock();
    if (!self) return respond(HttpResponse::error(503, "delivery is stopping"));
    if (!self->authorize(req, respond)) return;
    auto worker = self->find(req.params["name"]);
    if (!worker)
      return respond(HttpResponse::error(404, "no endpoint " + json_quote(req.params["name"])));
    auto request = parse_replay_request(req.body);
    if (!request) return respond(HttpResponse::error(400, request.error().message));
    boost::asio::post(self->io, [weak, worker, request = *request, respond = std::move(respond)] {
      auto self = weak.lock();
      if (!self || self->stopping) return respond(HttpResponse::error(503, "delivery is stopping"));
      self->replay(*worker, request, respond);
    });
  });

  router.add("POST", "/v1/endpoints/{name}/enable", [weak](HttpRequest& req, Responder respond) {
    auto self = weak.lock();
    if (!self) return respond(HttpResponse::error(503, "delivery is stopping"));
    if (!self->authorize(req, respond)) return;
    auto worker = self->find(req.params["name"]);
    if (!worker)
      return respond(HttpResponse::error(404, "no endpoint " + json_quote(req.params["name"])));
    boost::asio::post(self->io, [weak, worker, respond = std::move(respond)] {
      auto self = weak.lock();
      if (!self || self->stopping || !self->context.files) {
        return respond(HttpResponse::error(503, "delivery is not running"));
      }
      worker->enable();
      json::object o;
      o["endpoint"] = worker->spec().name;
      o["state"] = "active";
      respond(HttpResponse::json(200, json::serialize(o)));
    });
  });
}

}  // namespace hookd
