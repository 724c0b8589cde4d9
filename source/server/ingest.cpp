#include "hookd/server/ingest.h"

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <exception>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "hookd/core/ascii.h"
#include "hookd/core/event.h"
#include "hookd/core/log.h"
#include "hookd/core/metrics.h"
#include "hookd/server/append_status.h"
#include "hookd/server/event_state.h"

namespace hookd {

namespace {

namespace json = boost::json;

// "application/json", with any parameters ("; charset=utf-8"), any case.
bool is_json_media_type(std::string_view content_type) {
  return ascii_iequals(trim_ows(content_type.substr(0, content_type.find(';'))),
                       "application/json");
}

std::string json_string(std::string_view text) {
  return json::serialize(json::string_view(text));
}

bool valid_json(std::string_view text) {
  boost::system::error_code ec;
  json::parse(json::string_view(text.data(), text.size()), ec);
  return !ec;
}

// Appends `text` as a JSON string. Ids are validated ([A-Za-z0-9_.:-]), so
// the escapes are for robustness only; plain runs are copied whole.
void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  std::size_t plain = 0;  // start of the run not yet copied
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.data() + plain, i - plain);
    plain = i + 1;
    if (u >= 0x20) {
      out += '\\';
      out += c;
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
  out.append(text.data() + plain, text.size() - plain);
  out += '"';
}

// {"ids":[...]}, the 200/202 body.
std::string ids_body(const std::vector<Event>& events) {
  std::string body;
  std::size_t size = 10;
  for (const Event& event : events)
    size += event.id.size() + 3;
  body.reserve(size);
  body += "{\"ids\":[";
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i > 0) body += ',';
    append_json_string(body, events[i].id);
  }
  body += "]}";
  return body;
}

Counter& rejected_counter(const char* reason) {
  return metrics().counter("hookd_ingest_rejected_total", "POST /v1/events refused, by reason",
                           {{"reason", reason}});
}

// hookd_events_accepted_total{type}: the type is chosen by the caller, so
// only the first `limit` distinct types get their own series.
class TypeCounters {
 public:
  explicit TypeCounters(std::size_t limit) : limit_(limit) {}

  Counter& get(const std::string& type) {
    std::lock_guard lock(mutex_);
    // Most events of a stream share one type: no hash for a repeat.
    if (last_ && last_->first == type) return *last_->second;
    auto found = counters_.find(type);
    if (found != counters_.end()) {
      last_ = &*found;
      return *found->second;
    }
    if (counters_.size() >= limit_) {
      if (!other_) other_ = &make("other");
      return *other_;
    }
    Counter& counter = make(type);
    counters_.emplace(type, &counter);
    return counter;
  }

 private:
  static Counter& make(const std::string& type) {
    return metrics().counter("hookd_events_accepted_total", "Events accepted into the journal",
                             {{"type", type}});
  }

  std::mutex mutex_;
  std::size_t limit_;
  std::unordered_map<std::string, Counter*> counters_;
  const std::pair<const std::string, Counter*>* last_ = nullptr;  // node pointers stay valid
  Counter* other_ = nullptr;
};

struct IngestMetrics {
  explicit IngestMetrics(std::size_t type_limit)
      : accepted(type_limit),
        duplicate(metrics().counter("hookd_events_duplicate_total",
                                    "Events whose id was already in the journal")),
        content_type(rejected_counter("content_type")),
        signature(rejected_counter("signature")),
        invalid(rejected_counter("invalid")),
        full(rejected_counter("full")),
        busy(rejected_counter("busy")),
        failed(rejected_counter("failed")),
        no_space(rejected_counter("no_space")) {}

  TypeCounters accepted;
  Counter& duplicate;
  Counter& content_type;
  Counter& signature;
  Counter& invalid;
  Counter& full;
  Counter& busy;
  Counter& failed;
  Counter& no_space;
};

HttpResponse retry_later(int status, std::string_view message, int retry_after_seconds) {
  HttpResponse response = HttpResponse::error(status, message);
  response.headers.emplace_back("Retry-After", std::to_string(retry_after_seconds));
  return response;
}

// The Standard Webhooks header, or its svix- spelling.
std::string_view webhook_header(const HttpRequest& request, std::string_view name,
                                std::string_view svix_name) {
  std::string_view value = request.header(name);
  if (value.empty()) value = request.header(svix_name);
  return value;
}

// The journal's answer to one POST /v1/events, turned into the HTTP answer.
struct AppendAnswer {
  std::shared_ptr<IngestMetrics> stats;
  std::string body;                     // {"ids":[...]}
  std::string first_type;               // events[0].type: one event needs no vector
  std::vector<std::string> more_types;  // the others' types
  int retry_after = 1;
  Responder respond;

  void operator()(AppendResult result) {
    switch (result.code) {
      case AppendResult::Code::ok: {
        bool all_duplicates = true;
        for (std::size_t i = 0; i < 1 + more_types.size(); ++i) {
          bool duplicate = i < result.duplicate.size() && result.duplicate[i];
          if (duplicate) {
            stats->duplicate.inc();
          } else {
            all_duplicates = false;
            stats->accepted.get(i == 0 ? first_type : more_types[i - 1]).inc();
          }
        }
        return respond(HttpResponse::json(all_duplicates ? 200 : 202, std::move(body)));
      }
      case AppendResult::Code::full:
        stats->full.inc();
        break;
      case AppendResult::Code::busy:
        stats->busy.inc();
        break;
      case AppendResult::Code::failed:
        stats->failed.inc();
        if (result.retry_after.count() == 0) {
          log::error("journal append failed", {{"error", result.message}});
        }
        break;
      case AppendResult::Code::no_space:
        stats->no_space.inc();
        break;
    }
    AppendRefusal refusal =
        append_refusal(result).value_or(AppendRefusal{500, "journal append: no result", false});
    respond(refusal.retry_later ? retry_later(refusal.status, refusal.reason,
                                              refusal.retry_after_seconds(retry_after))
                                : HttpResponse::error(refusal.status, refusal.reason));
  }
};

void post_events(Journal& journal, const IngestOptions& options,
                 const std::shared_ptr<IngestMetrics>& shared_stats, HttpRequest& request,
                 Responder respond) {
  IngestMetrics& stats = *shared_stats;
  if (!is_json_media_type(request.header("content-type"))) {
    stats.content_type.inc();
    return respond(HttpResponse::error(415, "Content-Type must be application/json"));
  }

  ParseOptions parse;
  parse.max_events = options.max_events_per_request;
  if (!options.inbound_secrets.empty()) {
    std::string_view id = webhook_header(request, "webhook-id", "svix-id");
    std::string_view timestamp = webhook_header(request, "webhook-timestamp", "svix-timestamp");
    std::string_view signature = webhook_header(request, "webhook-signature", "svix-signature");
    const char* missing = id.empty()          ? "id"
                          : timestamp.empty() ? "timestamp"
                          : signature.empty() ? "signature"
                                              : nullptr;
    if (missing) {
      stats.signature.inc();
      return respond(HttpResponse::error(
          401, std::string("missing webhook-") + missing + " header (or svix-" + missing + ")"));
    }
    auto verified = verify_with_any(options.inbound_secrets, id, timestamp, signature, request.body,
                                    now_unix_ms() / 1000, options.signature_tolerance_seconds);
    if (!verified) {
      stats.signature.inc();
      log::debug("webhook signature rejected", {{"reason", verified.error().message}});
      return respond(HttpResponse::error(401, "webhook signature: " + verified.error().message));
    }
    // A sender's retry carries the same webhook-id, so using it as the event
    // id keeps retries idempotent.
    parse.default_id = std::string(id);
  } else if (std::string_view id = webhook_header(request, "webhook-id", "svix-id"); !id.empty()) {
    // Unsigned too: a sender (Svix among them) retries with the same id.
    parse.default_id = std::string(id);
  }

  auto parsed = parse_events(request.body, parse);
  if (!parsed) {
    stats.invalid.inc();
    return respond(HttpResponse::error(400, parsed.error().message));
  }
  std::vector<Event>& events = parsed.value();
  if (events.empty()) {
    stats.invalid.inc();
    return respond(HttpResponse::error(400, "body: no events"));
  }

  // Everything the answer needs is prepared here, on the reactor: the journal
  // runs the callback on its own thread, between two group commits, where
  // every instruction delays the next fsync.
  AppendAnswer answer;
  answer.stats = shared_stats;
  answer.body = ids_body(events);
  answer.first_type = events.front().type;
  answer.more_types.reserve(events.size() - 1);
  for (std::size_t i = 1; i < events.size(); ++i)
    answer.more_types.push_back(events[i].type);
  answer.retry_after = options.retry_after_seconds;
  answer.respond = std::move(respond);
  journal.append(std::move(events), std::move(answer));
}

// What one section of the event's view says about its progress: the hook's
// outcome, or each endpoint's delivery state.
void read_progress(std::string_view key, const json::value& section, EventProgress& progress) {
  const json::object* object = section.if_object();
  if (object == nullptr) return;
  if (key == "hook") {
    if (const json::value* outcome = object->if_contains("outcome");
        outcome && outcome->is_string())
      progress.hook_outcome = std::string(outcome->get_string());
    return;
  }
  for (const auto& member : *object) {
    const json::object* endpoint = member.value().if_object();
    if (endpoint == nullptr) continue;
    const json::value* state = endpoint->if_contains("state");
    if (state == nullptr || !state->is_string()) continue;
    progress.delivery_states.emplace_back(state->get_string());
    const json::value* attempts = endpoint->if_contains("attempts");
    if (attempts && attempts->is_array() && !attempts->get_array().empty())
      progress.delivery_attempted = true;
  }
}

void get_event(Journal& journal, const IngestOptions& options,
               const std::vector<std::pair<std::string, EventStatusView>>& views,
               HttpRequest& request, Responder respond) {
  const std::string& id = request.params["id"];
  std::optional<StoredEvent> stored;
  if (valid_event_id(id)) stored = journal.lookup(id);
  if (!stored) return respond(HttpResponse::error(404, "no event with id " + id));

  const Event& event = stored->event;
  std::string body = "{\"id\":" + json_string(event.id) + ",\"type\":" + json_string(event.type) +
                     ",\"timestamp\":" + json_string(event.timestamp) + ",\"payload\":" +
                     (event.payload_json.empty() ? std::string("null") : event.payload_json) +
                     ",\"seq\":" + std::to_string(stored->seq) + ",\"accepted_at\":" +
                     (event.arrival_unix_ms > 0 ? json_string(format_rfc3339(event.arrival_unix_ms))
                                                : std::string("null"));
  EventProgress progress;
  for (const auto& consumer : options.tracked_consumers) {
    if (journal.cursor(consumer) < stored->seq) progress.consumer_behind = true;
  }
  for (const auto& [key, view] : views) {
    std::optional<std::string> section = view(*stored);
    if (!section) continue;
    boost::system::error_code ec;
    json::value parsed = json::parse(json::string_view(section->data(), section->size()), ec);
    if (ec) {
      log::warn("event view returned invalid JSON", {{"view", key}, {"id", id}});
      continue;
    }
    read_progress(key, parsed, progress);
    body += ',';
    body += json_string(key);
    body += ':';
    body += *section;
  }
  body += ",\"state\":";
  body += json_string(event_state(progress));
  body += "}";
  respond(HttpResponse::json(200, std::move(body)));
}

std::string journal_json(const JournalStats& stats) {
  json::object object;
  object["writable"] = stats.writable;
  if (!stats.writable) object["reason"] = stats.unwritable_reason;
  object["first_seq"] = stats.first_seq;
  object["last_seq"] = stats.last_seq;
  object["bytes"] = stats.bytes;
  object["segments"] = stats.segments;
  object["pending_bytes"] = stats.pending_bytes;
  return json::serialize(object);
}

void get_ready(Journal& journal, const std::vector<ReadinessCheck>& checks, Responder respond) {
  JournalStats stats = journal.stats();
  bool ready = stats.writable;
  std::string sections = ",\"journal\":" + journal_json(stats);
  for (const ReadinessCheck& check : checks) {
    std::string detail;
    bool ok = false;
    try {
      ok = check.check(detail);
    } catch (const std::exception& e) {
      detail = json::serialize(json::object{{"error", e.what()}});
    }
    ready = ready && ok;
    if (detail.empty() || !valid_json(detail)) detail = ok ? "true" : "false";
    sections += ',';
    sections += json_string(check.name);
    sections += ':';
    sections += detail;
  }
  std::string body = std::string("{\"ready\":") + (ready ? "true" : "false") + sections + "}";
  respond(HttpResponse::json(ready ? 200 : 503, std::move(body)));
}

}  // namespace

void add_event_routes(Router& router, Journal& journal, IngestOptions options,
                      std::vector<std::pair<std::string, EventStatusView>> views) {
  auto shared_options = std::make_shared<const IngestOptions>(std::move(options));
  auto stats = std::make_shared<IngestMetrics>(shared_options->max_type_labels);
  router.add("POST", "/v1/events",
             [&journal, shared_options, stats](HttpRequest& request, Responder respond) {
               post_events(journal, *shared_options, stats, request, std::move(respond));
             });
  auto shared_views = std::make_shared<const std::vector<std::pair<std::string, EventStatusView>>>(
      std::move(views));
  router.add("GET", "/v1/events/{id}",
             [&journal, shared_options, shared_views](HttpRequest& request, Responder respond) {
               get_event(journal, *shared_options, *shared_views, request, std::move(respond));
             });
}

void add_ops_routes(Router& router, Journal& journal, std::vector<ReadinessCheck> checks) {
  router.add("GET", "/healthz", [](HttpRequest&, Responder respond) {
    respond(HttpResponse::json(200, "{\"status\":\"ok\"}"));
  });
  auto shared_checks = std::make_shared<const std::vector<ReadinessCheck>>(std::move(checks));
  router.add("GET", "/readyz", [&journal, shared_checks](HttpRequest&, Responder respond) {
    get_ready(journal, *shared_checks, std::move(respond));
  });
  router.add("GET", "/metrics", [](HttpRequest&, Responder respond) {
    HttpResponse response;
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = metrics().render();
    respond(std::move(response));
  });
}

}  // namespace hookd
