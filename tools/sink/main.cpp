// hookd-sink: a SIEM receiver for tests and benches. It accepts webhook,
// splunk-hec and ndjson bodies over HTTP or HTTPS, verifies Standard Webhooks
// signatures, counts events by id (duplicates too), injects faults on request,
// and reports a JSON summary on GET /stats and on exit.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bodies.h"
#include "hookd/core/signature.h"
#include "options.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using ErrorCode = boost::system::error_code;
using hookd::sink::event_id;
using hookd::sink::event_timestamp;
using hookd::sink::gunzip;
using hookd::sink::Options;
using hookd::sink::parse_hec;
using hookd::sink::parse_ndjson;
using hookd::sink::parse_options;
using hookd::sink::SeenEvent;

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// webhook-<part> (Standard Webhooks), else svix-<part> (what Svix sends).
std::string_view signature_header(const http::request<http::string_body>& request,
                                  const std::string& part) {
  std::string_view standard = request["webhook-" + part];
  if (!standard.empty()) return standard;
  return request["svix-" + part];
}

struct Reply {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool reset = false;    // close abruptly, no response
  bool control = false;  // /stats, /healthz: never delayed or faulted
};

Reply json_reply(int status, std::string body) {
  Reply reply;
  reply.status = status;
  reply.body = std::move(body);
  return reply;
}

// Everything the sessions share; each request takes the mutex once.
class Sink {
 public:
  explicit Sink(Options options) : options_(std::move(options)), started_(Clock::now()) {
    rng_.seed(options_.seed != 0 ? options_.seed : std::random_device{}());
  }

  const Options& options() const { return options_; }
  ssl::context* tls() { return tls_.get(); }

  // Start-up problems are reported as a message; empty means fine.
  std::string init() {
    if (!options_.secret.empty()) {
      auto secret = hookd::WebhookSecret::parse(options_.secret);
      if (!secret) return "--secret: " + secret.error().message;
      secret_ = std::move(secret.value());
    }
    if (!options_.record_file.empty()) {
      record_ = std::fopen(options_.record_file.c_str(), "a");
      if (record_ == nullptr) return "--record: cannot open " + options_.record_file;
    }
    if (options_.cert_file.empty() != options_.key_file.empty()) {
      return "--cert and --key go together";
    }
    if (!options_.client_ca_file.empty() && options_.cert_file.empty()) {
      return "--client-ca needs --cert/--key";
    }
    if (!options_.cert_file.empty()) {
      tls_ = std::make_unique<ssl::context>(ssl::context::tls_server);
      tls_->set_options(ssl::context::default_workarounds | ssl::context::no_compression);
      SSL_CTX_set_min_proto_version(tls_->native_handle(), TLS1_2_VERSION);
      ErrorCode ec;
      tls_->use_certificate_chain_file(options_.cert_file, ec);
      if (ec) return "--cert: " + options_.cert_file + ": " + ec.message();
      tls_->use_private_key_file(options_.key_file, ssl::context::pem, ec);
      if (ec) return "--key: " + options_.key_file + ": " + ec.message();
      if (!options_.client_ca_file.empty()) {
        tls_->load_verify_file(options_.client_ca_file, ec);
        if (ec) return "--client-ca: " + options_.client_ca_file + ": " + ec.message();
        tls_->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
      }
    }
    return {};
  }

  ~Sink() {
    if (record_ != nullptr) std::fclose(record_);
  }

  void count_connection() {
    std::lock_guard lock(mutex_);
    ++connections_;
  }

  void count_tls_error() {
    std::lock_guard lock(mutex_);
    ++tls_errors_;
  }

  void count_idle_close() {
    std::lock_guard lock(mutex_);
    ++idle_closes_;
  }

  Reply handle(const http::request<http::string_body>& request) {
    const std::string_view target = request.target();
    const std::string_view path = target.substr(0, target.find('?'));
    if (request.method() == http::verb::get && (path == "/stats" || path == "/healthz")) {
      Reply reply = json_reply(200, path == "/stats" ? summary() : "{\"ok\":true}");
      reply.control = true;
      return reply;
    }
    const std::string format = body_format(request, path);
    std::vector<SeenEvent> events;
    Reply reply = accept(request, format, events);
    std::lock_guard lock(mutex_);
    ++requests_;
    if (reply.status == 200) apply_fault(reply);
    record(request, format, reply, events);
    return reply;
  }

  std::string summary() {
    std::lock_guard lock(mutex_);
    json::object out;
    out["requests"] = requests_;
    out["connections"] = connections_;
    out["events"] = events_;
    out["unique_ids"] = accepted_.size();
    out["duplicates"] = events_ - accepted_.size();
    out["events_seen"] = events_seen_;
    out["invalid_signatures"] = invalid_signatures_;
    out["unauthorized"] = unauthorized_;
    out["invalid_bodies"] = invalid_bodies_;
    out["id_mismatches"] = id_mismatches_;
    out["tls_errors"] = tls_errors_;
    out["idle_closes"] = idle_closes_;
    json::object faults;
    faults["500"] = faults_500_;
    faults["429"] = faults_429_;
    faults["410"] = faults_410_;
    faults["reset"] = faults_reset_;
    faults["status"] = faults_status_;
    out["faults"] = std::move(faults);
    json::object formats;
    for (const auto& [name, count] : by_format_)
      formats[name] = count;
    out["by_format"] = std::move(formats);
    out["uptime_ms"] =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_).count();
    return json::serialize(out);
  }

 private:
  static std::string body_format(const http::request<http::string_body>& request,
                                 std::string_view path) {
    if (path.rfind("/services/collector", 0) == 0) return "splunk-hec";
    const std::string_view type = request[http::field::content_type];
    if (path == "/ndjson" || type.rfind("application/x-ndjson", 0) == 0) return "ndjson";
    return "webhook";
  }

  // Authentication and body parsing, filling `events`. Runs outside the
  // lock: it is the CPU-heavy part.
  Reply accept(const http::request<http::string_body>& request, const std::string& format,
               std::vector<SeenEvent>& events) {
    const bool has_body =
        request.method() != http::verb::get && request.method() != http::verb::head;
    if (!has_body) return json_reply(200, "{\"ok\":true}");

    std::string decoded;
    std::string_view body = request.body();
    if (beast::iequals(request[http::field::content_encoding], "gzip")) {
      auto plain = gunzip(body, options_.max_body_bytes);
      if (!plain) return counted(invalid_bodies_, 400, "{\"error\":\"bad gzip body\"}");
      decoded = std::move(*plain);
      body = decoded;
    }

    // Svix sends the same three headers as svix-*, over the bare payload
    // (whose own "id", if any, is not the message id).
    const bool svix = request["webhook-id"].empty() && !request["svix-id"].empty();
    const std::string webhook_id(signature_header(request, "id"));
    if (format == "webhook" && secret_) {
      const auto now = static_cast<std::int64_t>(std::time(nullptr));
      const std::string_view timestamp = signature_header(request, "timestamp");
      const std::string_view signature = signature_header(request, "signature");
      const std::int64_t tolerance =
          options_.tolerance_seconds > 0 ? options_.tolerance_seconds : INT64_C(1) << 40;
      // A compressed body may have been signed before or after compression.
      bool valid =
          secret_->verify(webhook_id, timestamp, signature, body, now, tolerance).ok() ||
          (!decoded.empty() &&
           secret_->verify(webhook_id, timestamp, signature, request.body(), now, tolerance).ok());
      if (!valid) return counted(invalid_signatures_, 401, "{\"error\":\"invalid signature\"}");
    }
    if (format == "splunk-hec" && !options_.token.empty()) {
      const std::string_view auth = request[http::field::authorization];
      if (auth.rfind("Splunk ", 0) != 0) {
        return counted(unauthorized_, 401, "{\"text\":\"Token is required\",\"code\":2}");
      }
      if (auth.substr(7) != options_.token) {
        return counted(unauthorized_, 403, "{\"text\":\"Invalid token\",\"code\":4}");
      }
    }

    if (format == "splunk-hec") {
      auto parsed = parse_hec(body);
      if (!parsed) {
        return counted(invalid_bodies_, 400, "{\"text\":\"Invalid data format\",\"code\":6}");
      }
      events = std::move(*parsed);
      return json_reply(200, "{\"text\":\"Success\",\"code\":0}");
    }
    if (format == "ndjson") {
      auto parsed = parse_ndjson(body);
      if (!parsed) return counted(invalid_bodies_, 400, "{\"error\":\"invalid ndjson body\"}");
      events = std::move(*parsed);
      return json_reply(200, "{\"ok\":true}");
    }
    ErrorCode ec;
    json::value value = json::parse(body, ec);
    if (ec) return counted(invalid_bodies_, 400, "{\"error\":\"body is not JSON\"}");
    std::string id = svix ? webhook_id : event_id(value);
    if (!id.empty() && !webhook_id.empty() && id != webhook_id) {
      return counted(id_mismatches_, 400, "{\"error\":\"webhook-id does not match the body id\"}");
    }
    if (id.empty()) id = webhook_id;
    if (id.empty()) return counted(invalid_bodies_, 400, "{\"error\":\"no event id\"}");
    events.push_back({std::move(id), event_timestamp(value)});
    return json_reply(200, "{\"ok\":true}");
  }

  Reply counted(std::uint64_t& counter, int status, std::string body) {
    std::lock_guard lock(mutex_);
    ++counter;
    return json_reply(status, std::move(body));
  }

  // Called with the mutex held, for requests the sink would answer 200.
  void apply_fault(Reply& reply) {
    const double elapsed = std::chrono::duration<double>(Clock::now() - started_).count();
    if (options_.fail_for_seconds > 0 && elapsed >= options_.fail_for_seconds) return;
    // Counted rather than timed: a test knows which requests fail however
    // long its processes took to start.
    if (options_.fail_first > 0 && ++fault_candidates_ > options_.fail_first) return;
    if (options_.gone) {
      ++faults_410_;
      reply = json_reply(410, "{\"error\":\"gone\"}");
      return;
    }
    if (options_.status != 0) {
      ++faults_status_;
      reply = json_reply(options_.status, "{\"status\":" + std::to_string(options_.status) + "}");
      if (options_.status >= 300 && options_.status < 400) {
        reply.headers.emplace_back("Location", "/redirected");
      }
      return;
    }
    const double draw = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    double edge = options_.reset_rate;
    if (draw < edge) {
      ++faults_reset_;
      reply.reset = true;
      return;
    }
    edge += options_.fail_rate;
    if (draw < edge) {
      ++faults_500_;
      reply = json_reply(500, "{\"error\":\"injected failure\"}");
      return;
    }
    edge += options_.rate_429;
    if (draw < edge) {
      ++faults_429_;
      reply = json_reply(429, "{\"error\":\"slow down\"}");
      reply.headers.emplace_back("Retry-After", std::to_string(options_.retry_after_seconds));
    }
  }

  // Called with the mutex held: counts the request's events and appends
  // them to the record file, failed attempts included.
  void record(const http::request<http::string_body>& request, const std::string& format,
              const Reply& reply, const std::vector<SeenEvent>& events) {
    if (events.empty()) return;
    const bool accepted = reply.status >= 200 && reply.status < 300 && !reply.reset;
    const std::int64_t now = unix_ms();
    const std::string webhook_id(signature_header(request, "id"));
    for (const auto& event : events) {
      ++events_seen_;
      const std::uint64_t attempt = ++seen_[event.id];
      if (accepted) {
        ++events_;
        ++accepted_[event.id];
        ++by_format_[format];
      }
      if (record_ != nullptr) {
        json::object line;
        line["id"] = event.id;
        line["webhook_id"] = webhook_id;
        line["attempt"] = attempt;
        line["time_ms"] = now;
        line["status"] = reply.reset ? 0 : reply.status;
        line["format"] = format;
        line["event_timestamp"] = event.timestamp;
        const std::string text = json::serialize(line) + "\n";
        std::fwrite(text.data(), 1, text.size(), record_);
      }
    }
    if (record_ != nullptr) std::fflush(record_);
  }

  Options options_;
  Clock::time_point started_;
  std::optional<hookd::WebhookSecret> secret_;
  std::unique_ptr<ssl::context> tls_;
  std::FILE* record_ = nullptr;

  std::mutex mutex_;
  std::mt19937_64 rng_;
  std::uint64_t requests_ = 0, connections_ = 0, events_ = 0, events_seen_ = 0;
  std::uint64_t invalid_signatures_ = 0, unauthorized_ = 0, invalid_bodies_ = 0;
  std::uint64_t id_mismatches_ = 0, tls_errors_ = 0, idle_closes_ = 0;
  std::uint64_t fault_candidates_ = 0;  // requests --fail-first has counted
  std::uint64_t faults_500_ = 0, faults_429_ = 0, faults_410_ = 0, faults_reset_ = 0;
  std::uint64_t faults_status_ = 0;
  std::map<std::string, std::uint64_t> by_format_;
  std::unordered_map<std::string, std::uint64_t> seen_;      // all attempts
  std::unordered_map<std::string, std::uint64_t> accepted_;  // answered 2xx
};

// One accepted connection (plain or TLS), serving requests in order.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Sink& sink)
      : sink_(sink), delay_timer_(socket.get_executor()), socket_(std::move(socket)) {}

  void start() {
    if (sink_.tls() != nullptr) {
      tls_ =
          std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(*socket_), *sink_.tls());
      socket_.reset();
      transport().expires_after(std::chrono::seconds(10));
      tls_->async_handshake(ssl::stream_base::server,
                            beast::bind_front_handler(&Session::on_handshake, shared_from_this()));
    } else {
      plain_ = std::make_unique<beast::tcp_stream>(std::move(*socket_));
      socket_.reset();
      read();
    }
  }

 private:
  beast::tcp_stream& transport() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }

  void on_handshake(ErrorCode ec) {
    if (ec) {
      sink_.count_tls_error();
      return transport().close();
    }
    read();
  }

  void read() {
    parser_.emplace();
    parser_->header_limit(64 * 1024);
    parser_->body_limit(sink_.options().max_body_bytes);
    transport().expires_after(std::chrono::milliseconds(sink_.options().idle_timeout_ms));
    auto handler = beast::bind_front_handler(&Session::on_read, shared_from_this());
    if (tls_) {
      http::async_read(*tls_, buffer_, *parser_, std::move(handler));
    } else {
      http::async_read(*plain_, buffer_, *parser_, std::move(handler));
    }
  }

  void on_read(ErrorCode ec, std::size_t) {
    if (ec == http::error::body_limit) {
      reply_ = json_reply(413, "{\"error\":\"body too large\"}");
      keep_alive_ = false;
      return respond();
    }
    if (ec) {  // end of stream, idle timeout, garbage
      transport().close();
      // Counted once the socket is closed: a client that sees the count
      // knows its idle connection is gone.
      if (ec == beast::error::timeout) sink_.count_idle_close();
      return;
    }
    request_ = parser_->release();
    keep_alive_ = request_.keep_alive();
    reply_ = sink_.handle(request_);
    if (sink_.options().delay_ms > 0 && !reply_.control) {
      delay_timer_.expires_after(std::chrono::milliseconds(sink_.options().delay_ms));
      delay_timer_.async_wait([self = shared_from_this()](ErrorCode) { self->respond(); });
      return;
    }
    respond();
  }

  void respond() {
    if (reply_.reset) {
      // SO_LINGER 0 turns the close into a TCP reset.
      ErrorCode ignored;
      transport().socket().set_option(asio::socket_base::linger(true, 0), ignored);
      transport().socket().close(ignored);
      return;
    }
    response_ = {};
    response_.version(11);
    response_.result(static_cast<unsigned>(reply_.status));
    response_.set(http::field::server, "hookd-sink");
    response_.set(http::field::content_type, "application/json");
    for (const auto& [name, value] : reply_.headers)
      response_.set(name, value);
    response_.body() = std::move(reply_.body);
    response_.keep_alive(keep_alive_);
    response_.prepare_payload();
    transport().expires_after(std::chrono::seconds(30));
    auto handler = beast::bind_front_handler(&Session::on_write, shared_from_this());
    if (tls_) {
      http::async_write(*tls_, response_, std::move(handler));
    } else {
      http::async_write(*plain_, response_, std::move(handler));
    }
  }

  void on_write(ErrorCode ec, std::size_t) {
    if (ec) return transport().close();
    if (keep_alive_) return read();
    if (tls_) {
      transport().expires_after(std::chrono::seconds(5));
      tls_->async_shutdown([self = shared_from_this()](ErrorCode) { self->transport().close(); });
      return;
    }
    ErrorCode ignored;
    plain_->socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  Sink& sink_;
  asio::steady_timer delay_timer_;
  std::optional<tcp::socket> socket_;  // until start() wraps it in a stream
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls_;
  std::unique_ptr<beast::tcp_stream> plain_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  Reply reply_;
  bool keep_alive_ = true;
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(asio::io_context& io, Sink& sink) : io_(io), sink_(sink), acceptor_(io) {}

  std::string open(const tcp::endpoint& endpoint) {
    ErrorCode ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return "cannot listen on " + endpoint.address().to_string() + ": " + ec.message();
    return {};
  }

  unsigned short port() const { return acceptor_.local_endpoint().port(); }

  void accept() {
    acceptor_.async_accept(asio::make_strand(io_),
                           beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
  }

  void close() {
    ErrorCode ignored;
    acceptor_.close(ignored);
  }

 private:
  void on_accept(ErrorCode ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      sink_.count_connection();
      std::make_shared<Session>(std::move(socket), sink_)->start();
    }
    accept();
  }

  asio::io_context& io_;
  Sink& sink_;
  tcp::acceptor acceptor_;
};

std::optional<tcp::endpoint> parse_listen(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  ErrorCode ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return std::nullopt;
  unsigned port = 0;
  try {
    std::size_t used = 0;
    port = std::stoul(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1 || port > 65535) return std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return tcp::endpoint(address, static_cast<unsigned short>(port));
}

// Written to a temporary name first so a poller never reads half a number.
bool write_atomically(const std::string& path, const std::string& content) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << content;
    if (!out) return false;
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  return !ec;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!parse_options(argc, argv, options)) return 2;
  auto endpoint = parse_listen(options.listen);
  if (!endpoint) {
    std::cerr << "hookd-sink: --listen: expected host:port, got '" << options.listen << "'\n";
    return 2;
  }
  Sink sink(options);
  if (auto problem = sink.init(); !problem.empty()) {
    std::cerr << "hookd-sink: " << problem << "\n";
    return 2;
  }

  asio::io_context io(static_cast<int>(options.threads));
  auto listener = std::make_shared<Listener>(io, sink);
  if (auto problem = listener->open(*endpoint); !problem.empty()) {
    std::cerr << "hookd-sink: " << problem << "\n";
    return 1;
  }
  const unsigned short port = listener->port();
  if (!options.port_file.empty() &&
      !write_atomically(options.port_file, std::to_string(port) + "\n")) {
    std::cerr << "hookd-sink: cannot write " << options.port_file << "\n";
    return 1;
  }
  std::cerr << "{\"msg\":\"hookd-sink listening\",\"port\":" << port
            << ",\"tls\":" << (sink.tls() != nullptr ? "true" : "false") << "}" << std::endl;
  listener->accept();

  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](ErrorCode ec, int) {
    if (!ec) io.stop();
  });
  asio::steady_timer duration(io);
  if (options.duration_seconds > 0) {
    duration.expires_after(std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(options.duration_seconds)));
    duration.async_wait([&](ErrorCode ec) {
      if (!ec) io.stop();
    });
  }

  std::vector<std::thread> threads;
  for (unsigned i = 1; i < options.threads; ++i)
    threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& thread : threads)
    thread.join();

  const std::string summary = sink.summary();
  std::cout << summary << std::endl;
  if (!options.summary_file.empty() && !write_atomically(options.summary_file, summary + "\n")) {
    std::cerr << "hookd-sink: cannot write " << options.summary_file << "\n";
  }
  return 0;
}
