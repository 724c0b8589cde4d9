// hookd-load: an HTTP(S) load generator for hookd and its peers. Closed loop
// (each connection sends as soon as its previous reply is in) or open loop
// (--rate: requests on a fixed schedule, latency measured from the intended
// send time so a stalled server cannot hide its stall), keep-alive, fixture
// bodies with fresh event ids, optional Standard Webhooks signing.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <boost/url/parse.hpp>

#include "histogram.h"
#include "hookd/core/event.h"
#include "hookd/core/signature.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace json = boost::json;
namespace ssl = boost::asio::ssl;
namespace po = boost::program_options;
using tcp = boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using hookd::load::LatencyHistogram;

// Thrown while reading the command line only; main() turns it into exit 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Options {
  std::string url;
  std::size_t connections = 10;
  std::chrono::nanoseconds duration = std::chrono::seconds(10);
  double rate = 0;             // requests/s over all connections; 0: closed loop
  std::uint64_t requests = 0;  // stop after this many; 0: run for the duration
  std::vector<std::string> body_files;
  std::string secret;
  std::size_t array = 0;  // events per request; 0: as the body file has them
  bool ndjson = false;
  bool keep_ids = false;
  bool idempotency_keys = false;  // a fresh idempotency-key per request, as the Svix SDKs send
  std::size_t threads = 1;
  bool insecure = false;
  std::string ca_file;
  std::vector<std::pair<std::string, std::string>> headers;
  bool json = false;
  bool quiet = false;
  std::string method = "POST";
  std::string content_type;
  std::chrono::milliseconds timeout = std::chrono::seconds(10);
};

struct Target {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;
  std::string host_header;
};

// "10", "10s", "1.5s", "500ms", "2m" -> a duration; anything else is a usage error.
std::chrono::nanoseconds parse_duration(const std::string& text, const std::string& flag) {
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    throw UsageError("--" + flag + ": not a duration: '" + text + "' (e.g. 10s, 500ms, 2m)");
  }
  const std::string unit = text.substr(used);
  double seconds = 0;
  if (unit.empty() || unit == "s") {
    seconds = value;
  } else if (unit == "ms") {
    seconds = value / 1000;
  } else if (unit == "m") {
    seconds = value * 60;
  } else {
    throw UsageError("--" + flag + ": unknown unit in '" + text + "' (use s, ms or m)");
  }
  if (!(seconds > 0) || !std::isfinite(seconds)) {
    throw UsageError("--" + flag + ": must be positive: '" + text + "'");
  }
  return std::chrono::nanoseconds(static_cast<std::int64_t>(seconds * 1e9));
}

Target parse_target(const std::string& url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) throw UsageError("--url: not a URL: '" + url + "'");
  Target target;
  const std::string scheme(parsed->scheme());
  if (scheme == "https") {
    target.tls = true;
  } else if (scheme != "http") {
    throw UsageError("--url: scheme must be http or https: '" + url + "'");
  }
  target.host = std::string(parsed->host_address());
  if (target.host.empty()) throw UsageError("--url: no host in '" + url + "'");
  const std::string default_port = target.tls ? "443" : "80";
  target.port = parsed->has_port() ? std::string(parsed->port()) : default_port;
  target.target = std::string(parsed->encoded_target());
  if (target.target.empty()) target.target = "/";
  target.host_header = std::string(parsed->encoded_host_and_port());
  return target;
}

Options parse_options(int argc, char** argv, bool* help) {
  Options options;
  std::string duration = "10s";
  std::string timeout = "10s";
  std::vector<std::string> headers;
  po::options_description described("hookd-load options");
  // clang-format off
  described.add_options()
    ("help,h", "show this help")
    ("url", po::value(&options.url), "target, http://host:port/path or https://...")
    ("connections,c", po::value(&options.connections)->default_value(10), "keep-alive connections")
    ("duration,d", po::value(&duration)->default_value("10s"), "run time: 10s, 500ms, 2m")
    ("rate,r", po::value(&options.rate), "open loop: requests/s over all connections "
                                         "(latency from the intended send time); "
                                         "without it: closed loop")
    ("requests,n", po::value(&options.requests),
     "stop after N requests in all (the duration, default 1 h then, still caps the run)")
    ("body,b", po::value(&options.body_files)->composing(),
     "body file, repeatable (rotated); a JSON event or array gets fresh ids")
    ("sign", po::value(&options.secret), "whsec_... secret: add Standard Webhooks headers")
    ("array", po::value(&options.array), "N events per request (a JSON array of fresh copies)")
    ("ndjson", po::bool_switch(&options.ndjson), "send events as newline-delimited JSON")
    ("keep-ids", po::bool_switch(&options.keep_ids), "send bodies unchanged (duplicate ids)")
    ("idempotency-keys", po::bool_switch(&options.idempotency_keys),
     "a fresh 'idempotency-key: auto_<id>' on every request, as the Svix SDKs send")
    ("threads,t", po::value(&options.threads)->default_value(1), "io threads")
    ("insecure,k", po::bool_switch(&options.insecure), "https: skip certificate verification")
    ("ca", po::value(&options.ca_file), "https: CA bundle to verify the server with")
    ("header,H", po::value(&headers)->composing(), "extra header 'Name: value', repeatable")
    ("method,X", po::value(&options.method)->default_value("POST"), "HTTP method")
    ("content-type", po::value(&options.content_type),
     "Content-Type (default application/json, application/x-ndjson with --ndjson)")
    ("timeout", po::value(&timeout)->default_value("10s"), "per request (and per connect)")
    ("json", po::bool_switch(&options.json), "print the summary as JSON")
    ("quiet,q", po::bool_switch(&options.quiet), "no progress line on stderr");
  // clang-format on
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(described).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  if (vm.count("help")) {
    std::cout << "usage: hookd-load --url URL [options]\n" << described;
    *help = true;
    return options;
  }
  if (options.url.empty()) throw UsageError("--url is required");
  parse_target(options.url);
  if (options.requests > 0 && vm["duration"].defaulted()) duration = "3600s";
  options.duration = parse_duration(duration, "duration");
  options.timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(parse_duration(timeout, "timeout"));
  if (vm.count("requests") && (options.requests == 0 || options.requests > 1'000'000'000'000)) {
    throw UsageError("--requests: must be 1..10^12");
  }
  if (vm.count("rate") && !(options.rate > 0 && std::isfinite(options.rate))) {
    throw UsageError("--rate: must be a positive number of requests per second");
  }
  if (options.connections == 0 || options.connections > 100000) {
    throw UsageError("--connections: must be 1..100000");
  }
  if (options.threads == 0 || options.threads > 256) {
    throw UsageError("--threads: must be 1..256");
  }
  if (vm.count("array") && (options.array == 0 || options.array > 100000)) {
    throw UsageError("--array: must be 1..100000");
  }
  for (const auto& header : headers) {
    const auto colon = header.find(':');
    if (colon == std::string::npos || colon == 0) {
      throw UsageError("--header: expected 'Name: value', got '" + header + "'");
    }
    std::string value = header.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    options.headers.emplace_back(header.substr(0, colon), value);
  }
  if (options.content_type.empty()) {
    options.content_type = options.ndjson ? "application/x-ndjson" : "application/json";
  }
  return options;
}

// The request bodies, prepared once: each event is kept without its id so a
// fresh id is spliced in per request at the cost of a string concatenation.
class BodyFactory {
 public:
  BodyFactory(const Options& options) : array_(options.array), ndjson_(options.ndjson) {
    for (const auto& path : options.body_files) {
      std::ifstream in(path, std::ios::binary);
      std::stringstream content;
      if (!in || !(content << in.rdbuf())) {
        throw UsageError("--body: cannot read '" + path + "'");
      }
      sources_.push_back(prepare(content.str(), options.keep_ids));
    }
  }

  bool empty() const { return sources_.empty(); }

  // The body for request number `index`; `first_id` gets the id of its first
  // event (or a fresh one for bodies that are not events), for webhook-id.
  std::string make(std::size_t index, std::string* first_id, std::size_t* events) const {
    *first_id = hookd::new_event_id();
    *events = 0;
    if (sources_.empty()) return {};
    const Source& source = sources_[index % sources_.size()];
    if (source.events.empty()) {
      *events = 1;
      return source.raw;
    }
    const std::size_t count = array_ > 0 ? array_ : source.events.size();
    const bool wrap = !ndjson_ && (array_ > 0 || source.is_array);
    std::string body;
    body.reserve(count * (source.events[0].size() + 48) + 2);
    if (wrap) body += '[';
    for (std::size_t i = 0; i < count; ++i) {
      if (i > 0) body += ndjson_ ? '\n' : ',';
      const std::string id = i == 0 ? *first_id : hookd::new_event_id();
      const std::string& rest = source.events[i % source.events.size()];
      body += "{\"id\":\"";
      body += id;
      body += '"';
      if (!rest.empty()) {
        body += ',';
        body += rest;
      }
      body += '}';
    }
    if (wrap) body += ']';
    if (ndjson_) body += '\n';
    *events = count;
    return body;
  }

 private:
  struct Source {
    std::string raw;                  // sent as it is when `events` is empty
    std::vector<std::string> events;  // members other than "id", without braces
    bool is_array = false;
  };

  static Source prepare(std::string content, bool keep_ids) {
    Source source;
    source.raw = std::move(content);
    if (keep_ids) return source;
    boost::system::error_code ec;
    json::value parsed = json::parse(source.raw, ec);
    if (ec) return source;
    std::vector<json::object> objects;
    if (parsed.is_object()) {
      objects.push_back(parsed.as_object());
    } else if (parsed.is_array()) {
      source.is_array = true;
      for (const auto& element : parsed.as_array()) {
        if (!element.is_object()) return Source{source.raw, {}, false};
        objects.push_back(element.as_object());
      }
      if (objects.empty()) return Source{source.raw, {}, false};
    } else {
      return source;
    }
    for (auto& object : objects) {
      object.erase("id");
      const std::string text = json::serialize(object);
      source.events.push_back(text.substr(1, text.size() - 2));
    }
    return source;
  }

  std::size_t array_;
  bool ndjson_;
  std::vector<Source> sources_;
};

// What one io thread has counted; the progress line reads it under the mutex.
struct ThreadStats {
  std::mutex mutex;
  LatencyHistogram latency;
  std::uint64_t requests = 0;
  std::uint64_t events_ok = 0;  // events in requests answered 2xx
  std::uint64_t bytes_sent = 0;
  std::map<int, std::uint64_t> statuses;
  std::map<std::string, std::uint64_t> errors;
};

struct Totals {
  LatencyHistogram latency;
  std::uint64_t requests = 0;
  std::uint64_t events_ok = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t errors_total = 0;
  std::map<int, std::uint64_t> statuses;
  std::map<std::string, std::uint64_t> errors;
};

// Everything the connections share; fixed before the first connection starts.
struct Run {
  Run(const Options& o, Target t, BodyFactory b)
      : options(o), target(std::move(t)), bodies(std::move(b)) {}

  const Options& options;
  Target target;
  BodyFactory bodies;
  tcp::resolver::results_type endpoints;
  std::unique_ptr<ssl::context> tls;
  std::optional<hookd::WebhookSecret> secret;
  Clock::time_point start;
  Clock::time_point end;   // no request is started at or after this
  double interval_ns = 0;  // open loop: time between two scheduled requests
  std::uint64_t scheduled_total = 0;
  std::atomic<std::uint64_t> next_slot{0};  // open loop: schedule slot; closed: request number
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::size_t> active{0};
  std::atomic<std::int64_t> finished_ns{0};  // when the last connection stopped
  std::vector<std::unique_ptr<ThreadStats>> stats;

  Totals totals() {
    Totals totals;
    for (auto& s : stats) {
      std::lock_guard lock(s->mutex);
      totals.latency.add(s->latency);
      totals.requests += s->requests;
      totals.events_ok += s->events_ok;
      totals.bytes_sent += s->bytes_sent;
      for (const auto& [status, n] : s->statuses)
        totals.statuses[status] += n;
      for (const auto& [kind, n] : s->errors) {
        totals.errors[kind] += n;
        totals.errors_total += n;
      }
    }
    return totals;
  }
};

// One keep-alive connection slot: connects (and reconnects after an error),
// then sends requests one at a time until the run's end.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::io_context& io, Run& run, ThreadStats& stats, std::size_t index)
      : io_(io), run_(run), stats_(stats), timer_(io), body_index_(index) {}

  void start() { connect(); }

 private:
  beast::tcp_stream& lowest() { return tls_ ? beast::get_lowest_layer(*tls_) : *tcp_; }

  void connect() {
    if (Clock::now() >= run_.end) return finish();
    if (run_.tls) {
      tls_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(io_, *run_.tls);
      tcp_.reset();
      boost::system::error_code not_an_address;
      asio::ip::make_address(run_.target.host, not_an_address);
      if (not_an_address) {
        // SNI carries names only, never addresses.
        SSL_set_tlsext_host_name(tls_->native_handle(), run_.target.host.c_str());
      }
      if (!run_.options.insecure) {
        tls_->set_verify_callback(ssl::host_name_verification(run_.target.host));
      }
    } else {
      tcp_ = std::make_unique<beast::tcp_stream>(io_);
      tls_.reset();
    }
    buffer_.clear();
    lowest().expires_after(run_.options.timeout);
    lowest().async_connect(run_.endpoints,
                           beast::bind_front_handler(&Connection::on_connect, shared_from_this()));
  }

  void on_connect(beast::error_code ec, const tcp::endpoint&) {
    if (ec) return fail(ec, "connect");
    lowest().socket().set_option(tcp::no_delay(true), ec);
    if (!tls_) return next_request();
    lowest().expires_after(run_.options.timeout);
    tls_->async_handshake(ssl::stream_base::client,
                          beast::bind_front_handler(&Connection::on_handshake, shared_from_this()));
  }

  void on_handshake(beast::error_code ec) {
    if (ec) return fail(ec, "tls_handshake");
    next_request();
  }

  // Picks when the next request goes: now (closed loop), or at the next free
  // slot of the schedule (open loop), which may already be in the past.
  void next_request() {
    if (run_.interval_ns <= 0) {
      if (Clock::now() >= run_.end) return finish();
      if (run_.options.requests > 0 &&
          run_.next_slot.fetch_add(1, std::memory_order_relaxed) >= run_.options.requests) {
        return finish();
      }
      return send();
    }
    // Requests still due at the end are left unsent (and reported), as in
    // closed loop: the run lasts its duration, not until the backlog clears.
    if (Clock::now() >= run_.end) return finish();
    const std::uint64_t slot = run_.next_slot.fetch_add(1, std::memory_order_relaxed);
    if (slot >= run_.scheduled_total) return finish();
    intended_ = run_.start + std::chrono::nanoseconds(static_cast<std::int64_t>(
                                 static_cast<double>(slot) * run_.interval_ns));
    if (intended_ <= Clock::now()) return send();
    timer_.expires_at(intended_);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->finish();
      self->send();
    });
  }

  void send() {
    run_.sent.fetch_add(1, std::memory_order_relaxed);
    std::string first_id;
    const std::size_t index = body_index_++;
    std::string body = run_.bodies.make(index, &first_id, &events_);
    const Options& options = run_.options;
    request_ = {};
    request_.version(11);
    request_.method_string(options.method);
    request_.target(run_.target.target);
    request_.set(http::field::host, run_.target.host_header);
    request_.set(http::field::user_agent, "hookd-load/" HOOKD_VERSION);
    if (!run_.bodies.empty()) request_.set(http::field::content_type, options.content_type);
    for (const auto& [name, value] : options.headers)
      request_.set(name, value);
    if (options.idempotency_keys) request_.set("idempotency-key", "auto_" + first_id);
    if (run_.secret) {
      const std::int64_t now = hookd::now_unix_ms() / 1000;
      request_.set("webhook-id", first_id);
      request_.set("webhook-timestamp", std::to_string(now));
      request_.set("webhook-signature", run_.secret->sign(first_id, now, body));
    }
    request_.body() = std::move(body);
    request_.keep_alive(true);
    request_.prepare_payload();
    if (run_.interval_ns <= 0) intended_ = Clock::now();
    lowest().expires_after(run_.options.timeout);
    auto done = beast::bind_front_handler(&Connection::on_write, shared_from_this());
    if (tls_) {
      http::async_write(*tls_, request_, std::move(done));
    } else {
      http::async_write(*tcp_, request_, std::move(done));
    }
  }

  void on_write(beast::error_code ec, std::size_t bytes) {
    if (ec) return fail(ec, "write");
    bytes_sent_ = bytes;
    parser_.emplace();
    parser_->body_limit(64 << 20);
    lowest().expires_after(run_.options.timeout);
    auto done = beast::bind_front_handler(&Connection::on_read, shared_from_this());
    if (tls_) {
      http::async_read(*tls_, buffer_, *parser_, std::move(done));
    } else {
      http::async_read(*tcp_, buffer_, *parser_, std::move(done));
    }
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return fail(ec, "read");
    const auto latency = Clock::now() - intended_;
    const int status = parser_->get().result_int();
    const bool keep_alive = parser_->get().keep_alive();
    {
      std::lock_guard lock(stats_.mutex);
      stats_.latency.record(static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(latency).count()));
      ++stats_.requests;
      ++stats_.statuses[status];
      stats_.bytes_sent += bytes_sent_;
      if (status >= 200 && status < 300) stats_.events_ok += events_;
    }
    parser_.reset();
    if (!keep_alive) {
      close();
      return connect();
    }
    next_request();
  }

  // The one error path: count the error by kind, drop the connection, and
  // come back after a short pause so a dead server is not spun against.
  void fail(beast::error_code ec, const char* what) {
    std::string kind = what;
    if (ec == beast::error::timeout) {
      kind = "timeout";
    } else if (ec == http::error::end_of_stream || ec == asio::error::eof ||
               ec == asio::error::connection_reset || ec == ssl::error::stream_truncated) {
      kind = std::string(what) + "_closed";
    } else if (ec == asio::error::connection_refused) {
      kind = "connect_refused";
    }
    {
      std::lock_guard lock(stats_.mutex);
      ++stats_.errors[kind];
    }
    close();
    timer_.expires_after(std::chrono::milliseconds(10));
    timer_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
      if (wait_ec) return self->finish();
      self->connect();
    });
  }

  void close() {
    beast::error_code ignored;
    if (tls_ || tcp_) lowest().socket().close(ignored);
  }

  void finish() {
    close();
    const auto now = Clock::now();
    if (run_.active.fetch_sub(1) == 1) {
      run_.finished_ns.store((now - run_.start).count());
    }
  }

  asio::io_context& io_;
  Run& run_;
  ThreadStats& stats_;
  asio::steady_timer timer_;
  std::unique_ptr<beast::tcp_stream> tcp_;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  std::optional<http::response_parser<http::string_body>> parser_;
  Clock::time_point intended_;
  std::size_t body_index_;
  std::size_t events_ = 0;
  std::size_t bytes_sent_ = 0;
};

double ms(std::uint64_t micros) {
  return static_cast<double>(micros) / 1000.0;
}

void print_text(const Run& run, const Totals& t, double seconds) {
  const auto& h = t.latency;
  std::printf("url          %s\n", run.options.url.c_str());
  if (run.interval_ns > 0) {
    std::printf("mode         open loop, %.0f req/s scheduled (latency from intended send)\n",
                run.options.rate);
  } else {
    std::printf("mode         closed loop\n");
  }
  std::printf("connections  %zu on %zu thread(s)\n", run.options.connections, run.options.threads);
  std::printf("requests     %llu in %.2f s\n", static_cast<unsigned long long>(t.requests),
              seconds);
  std::printf("throughput   %.1f req/s, %.1f events/s (2xx)\n", t.requests / seconds,
              t.events_ok / seconds);
  std::printf("latency ms   p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  mean %.3f\n",
              ms(h.percentile(50)), ms(h.percentile(90)), ms(h.percentile(99)),
              ms(h.percentile(99.9)), ms(h.max()), h.mean() / 1000.0);
  std::printf("statuses    ");
  for (const auto& [status, n] : t.statuses) {
    std::printf(" %d: %llu", status, static_cast<unsigned long long>(n));
  }
  std::printf("\nerrors       %llu", static_cast<unsigned long long>(t.errors_total));
  for (const auto& [kind, n] : t.errors) {
    std::printf("  %s: %llu", kind.c_str(), static_cast<unsigned long long>(n));
  }
  std::printf("\n");
  if (run.interval_ns > 0) {
    const std::uint64_t sent = std::min(run.sent.load(), run.scheduled_total);
    std::printf("schedule     %llu scheduled, %llu never sent (all connections busy)\n",
                static_cast<unsigned long long>(run.scheduled_total),
                static_cast<unsigned long long>(run.scheduled_total - sent));
  }
}

void print_json(const Run& run, const Totals& t, double seconds) {
  const auto& h = t.latency;
  json::object latency{{"p50", h.percentile(50)},
                       {"p90", h.percentile(90)},
                       {"p99", h.percentile(99)},
                       {"p99.9", h.percentile(99.9)},
                       {"max", h.max()},
                       {"min", h.min()},
                       {"mean", static_cast<std::uint64_t>(std::llround(h.mean()))}};
  json::object statuses;
  for (const auto& [status, n] : t.statuses)
    statuses[std::to_string(status)] = n;
  json::object errors;
  for (const auto& [kind, n] : t.errors)
    errors[kind] = n;
  json::object out{{"url", run.options.url},
                   {"mode", run.interval_ns > 0 ? "open" : "closed"},
                   {"connections", run.options.connections},
                   {"threads", run.options.threads},
                   {"duration_s", seconds},
                   {"requests", t.requests},
                   {"throughput_rps", t.requests / seconds},
                   {"events_ok", t.events_ok},
                   {"events_per_s", t.events_ok / seconds},
                   {"bytes_sent", t.bytes_sent},
                   {"latency_us", latency},
                   {"statuses", statuses},
                   {"errors_total", t.errors_total},
                   {"errors", errors}};
  if (run.interval_ns > 0) {
    const std::uint64_t sent = std::min(run.sent.load(), run.scheduled_total);
    out["rate"] = run.options.rate;
    out["scheduled"] = run.scheduled_total;
    out["unsent"] = run.scheduled_total - sent;
  }
  std::cout << json::serialize(out) << std::endl;
}

int run_load(const Options& options) {
  Run run(options, parse_target(options.url), BodyFactory(options));
  if (!options.secret.empty()) {
    auto secret = hookd::WebhookSecret::parse(options.secret);
    if (!secret) throw UsageError("--sign: " + secret.error().message);
    run.secret = std::move(secret.value());
  }
  if (run.target.tls) {
    run.tls = std::make_unique<ssl::context>(ssl::context::tls_client);
    run.tls->set_options(ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                         ssl::context::no_tlsv1_1);
    if (options.insecure) {
      run.tls->set_verify_mode(ssl::verify_none);
    } else {
      boost::system::error_code ec;
      if (!options.ca_file.empty()) {
        run.tls->load_verify_file(options.ca_file, ec);
        if (ec) throw UsageError("--ca: cannot load '" + options.ca_file + "': " + ec.message());
      } else {
        run.tls->set_default_verify_paths(ec);
      }
      run.tls->set_verify_mode(ssl::verify_peer);
    }
  }
  {
    asio::io_context resolver_io;
    tcp::resolver resolver(resolver_io);
    boost::system::error_code ec;
    run.endpoints = resolver.resolve(run.target.host, run.target.port, ec);
    if (ec) {
      std::cerr << "hookd-load: cannot resolve " << run.target.host << ": " << ec.message() << "\n";
      return 1;
    }
  }

  std::vector<std::unique_ptr<asio::io_context>> contexts;
  for (std::size_t i = 0; i < options.threads; ++i) {
    contexts.push_back(std::make_unique<asio::io_context>(1));
    run.stats.push_back(std::make_unique<ThreadStats>());
  }
  run.start = Clock::now();
  run.end = run.start + options.duration;
  if (options.rate > 0) {
    run.interval_ns = 1e9 / options.rate;
    run.scheduled_total = static_cast<std::uint64_t>(
        std::ceil(static_cast<double>(options.duration.count()) / run.interval_ns));
    if (options.requests > 0) run.scheduled_total = std::min(run.scheduled_total, options.requests);
  }
  run.active = options.connections;
  for (std::size_t i = 0; i < options.connections; ++i) {
    const std::size_t t = i % options.threads;
    std::make_shared<Connection>(*contexts[t], run, *run.stats[t], i)->start();
  }
  std::vector<std::thread> threads;
  for (auto& io : contexts)
    threads.emplace_back([&io] { io->run(); });

  // Progress once a second; in-flight requests get up to one timeout after
  // the end before the io threads are stopped regardless.
  const auto hard_stop = run.end + options.timeout + std::chrono::seconds(1);
  auto next_tick = run.start + std::chrono::seconds(1);
  std::uint64_t last_requests = 0;
  while (run.active.load() > 0 && Clock::now() < hard_stop) {
    auto wake = std::min(next_tick, hard_stop);
    // Past the end only stragglers are left: poll finely for the last one.
    if (Clock::now() >= run.end) wake = std::min(wake, Clock::now() + std::chrono::milliseconds(5));
    std::this_thread::sleep_until(wake);
    if (Clock::now() >= next_tick) {
      const Totals t = run.totals();
      if (!options.quiet) {
        const auto elapsed = std::chrono::duration<double>(next_tick - run.start).count();
        std::fprintf(stderr, "[%5.0fs] %8llu req/s  errors %llu  p99 %.3f ms  (total %llu)\n",
                     elapsed, static_cast<unsigned long long>(t.requests - last_requests),
                     static_cast<unsigned long long>(t.errors_total), ms(t.latency.percentile(99)),
                     static_cast<unsigned long long>(t.requests));
      }
      last_requests = t.requests;
      next_tick += std::chrono::seconds(1);
    }
  }
  const auto stopped_ns =
      run.active.load() == 0 ? run.finished_ns.load() : (Clock::now() - run.start).count();
  for (auto& io : contexts)
    io->stop();
  for (auto& thread : threads)
    thread.join();

  const double seconds = std::max(1e-9, static_cast<double>(stopped_ns) / 1e9);
  const Totals totals = run.totals();
  if (options.json) {
    print_json(run, totals, seconds);
  } else {
    print_text(run, totals, seconds);
  }
  return totals.requests > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    bool help = false;
    const Options options = parse_options(argc, argv, &help);
    if (help) return 0;
    return run_load(options);
  } catch (const UsageError& e) {
    std::cerr << "hookd-load: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "hookd-load: " << e.what() << "\n";
    return 1;
  }
}
