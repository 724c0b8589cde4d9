// hookd-load: argument errors, the histogram's summary math, and short real
// runs against a counting server in this test and against the real hookd.
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../../tools/load/histogram.h"
#include "hookd/core/event.h"
#include "hookd/core/signature.h"
#include "support/support.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using hookd::load::LatencyHistogram;

std::string load_command(const std::string& args) {
  return std::string(HOOKD_LOAD_BINARY) + " " + args;
}

std::string fixture_path(const std::string& name) {
  return (hookd::test::fixtures_dir() / name).string();
}

// Runs hookd-load with --json and returns the summary object.
json::object run_json(const std::string& args) {
  std::string output;
  const int rc = hookd::test::run_command(load_command(args + " --json --quiet"), &output);
  INFO(output);
  REQUIRE(rc == 0);
  // Only the summary goes to stdout, as the last line.
  const auto start = output.rfind("\n{");
  const std::string line = output.substr(start == std::string::npos ? 0 : start + 1);
  return json::parse(line).as_object();
}

std::uint64_t to_u64(const json::value& v) {
  return json::value_to<std::uint64_t>(v);
}

// A small HTTP server that answers 202 and records what arrived: request
// count, every event id in the bodies, and bad signatures when a secret is set.
// It can hold its first reply back for a while, to play a stalled server.
class CountingServer {
 public:
  explicit CountingServer(std::string secret = "",
                          std::chrono::milliseconds stall_first = std::chrono::milliseconds(0))
      : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}), stall_(stall_first) {
    if (!secret.empty()) secret_ = hookd::WebhookSecret::parse(secret).value();
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~CountingServer() {
    io_.stop();
    thread_.join();
  }

  unsigned short port() const { return acceptor_.local_endpoint().port(); }

  std::uint64_t requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::uint64_t events() {
    std::lock_guard lock(mutex_);
    return events_;
  }
  std::size_t unique_ids() {
    std::lock_guard lock(mutex_);
    return ids_.size();
  }
  std::uint64_t bad_signatures() {
    std::lock_guard lock(mutex_);
    return bad_signatures_;
  }
  std::uint64_t webhook_id_mismatches() {
    std::lock_guard lock(mutex_);
    return webhook_id_mismatches_;
  }

 private:
  class Session : public std::enable_shared_from_this<Session> {
   public:
    Session(tcp::socket socket, CountingServer& server)
        : stream_(std::move(socket)), server_(server), timer_(stream_.get_executor()) {}
    void start() { read(); }

   private:
    void read() {
      request_ = {};
      stream_.expires_after(std::chrono::seconds(30));
      http::async_read(stream_, buffer_, request_,
                       beast::bind_front_handler(&Session::on_read, shared_from_this()));
    }
    void on_read(beast::error_code ec, std::size_t) {
      if (ec) return fail();
      server_.record(request_);
      response_ = {http::status::accepted, 11};
      response_.set(http::field::content_type, "application/json");
      response_.body() = R"({"ids":[]})";
      response_.keep_alive(request_.keep_alive());
      response_.prepare_payload();
      const auto stall = server_.take_stall();
      if (stall.count() == 0) return write();
      timer_.expires_after(stall);
      timer_.async_wait([self = shared_from_this()](beast::error_code) { self->write(); });
    }
    void write() {
      stream_.expires_after(std::chrono::seconds(30));
      http::async_write(stream_, response_,
                        beast::bind_front_handler(&Session::on_write, shared_from_this()));
    }
    void on_write(beast::error_code ec, std::size_t) {
      if (ec || !response_.keep_alive()) return fail();
      read();
    }
    void fail() {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    }

    beast::tcp_stream stream_;
    CountingServer& server_;
    asio::steady_timer timer_;
    beast::flat_buffer buffer_;
    http::request<http::string_body> request_;
    http::response<http::string_body> response_;
  };

  std::chrono::milliseconds take_stall() {
    std::lock_guard lock(mutex_);
    return std::exchange(stall_, std::chrono::milliseconds(0));
  }

  void accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;
      std::make_shared<Session>(std::move(socket), *this)->start();
      accept();
    });
  }

  void record(const http::request<http::string_body>& request) {
    std::lock_guard lock(mutex_);
    ++requests_;
    const std::string body = request.body();
    const std::string webhook_id(request["webhook-id"]);
    if (secret_) {
      auto verified =
          secret_->verify(webhook_id, request["webhook-timestamp"], request["webhook-signature"],
                          body, hookd::now_unix_ms() / 1000);
      if (!verified) ++bad_signatures_;
    }
    boost::system::error_code ec;
    json::value parsed = json::parse(body, ec);
    if (ec) return;
    std::vector<json::object> objects;
    if (parsed.is_object()) objects.push_back(parsed.as_object());
    if (parsed.is_array()) {
      for (auto& element : parsed.as_array())
        objects.push_back(element.as_object());
    }
    for (std::size_t i = 0; i < objects.size(); ++i) {
      ++events_;
      if (const auto* id = objects[i].if_contains("id")) {
        const std::string text(id->as_string());
        ids_.insert(text);
        if (i == 0 && secret_ && text != webhook_id) ++webhook_id_mismatches_;
      }
    }
  }

  asio::io_context io_{1};
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::optional<hookd::WebhookSecret> secret_;
  std::mutex mutex_;
  std::chrono::milliseconds stall_;
  std::uint64_t requests_ = 0;
  std::uint64_t events_ = 0;
  std::uint64_t bad_signatures_ = 0;
  std::uint64_t webhook_id_mismatches_ = 0;
  std::set<std::string> ids_;
};

// Sum of the samples of one Prometheus metric whose labels contain `label`.
double metric_sum(const std::string& text, const std::string& name, const std::string& label) {
  double sum = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto end = std::min(text.find('\n', pos), text.size());
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.rfind(name, 0) != 0 || line.find(label) == std::string::npos) continue;
    const char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != '{' && next != ' ') continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

}  // namespace

TEST_CASE("argument errors exit 2 with a reason", "[load]") {
  struct Case {
    std::string args;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"--connections 2", "--url"},
      {"--url http://127.0.0.1:1/ --rate abc", "rate"},
      {"--url http://127.0.0.1:1/ --rate 0", "--rate"},
      {"--url http://127.0.0.1:1/ --rate -5", "--rate"},
      {"--url http://127.0.0.1:1/ --body /nonexistent/event.json", "/nonexistent/event.json"},
      {"--url ftp://127.0.0.1/", "scheme"},
      {"--url http://127.0.0.1:1/ --duration soon", "--duration"},
      {"--url http://127.0.0.1:1/ --header NoColon", "--header"},
      {"--url http://127.0.0.1:1/ --sign not-base64!", "--sign"},
      {"--url http://127.0.0.1:1/ --array 0", "--array"},
      {"--url http://127.0.0.1:1/ --requests -1", "--requests"},
      {"--url http://127.0.0.1:1/ --connections 0", "--connections"},
      {"--url http://127.0.0.1:1/ --no-such-flag", "no-such-flag"},
  };
  for (const auto& c : cases) {
    std::string output;
    const int rc = hookd::test::run_command(load_command(c.args), &output);
    INFO(c.args << " -> " << output);
    CHECK(rc == 2);
    CHECK(output.find(c.says) != std::string::npos);
  }
  std::string help;
  CHECK(hookd::test::run_command(load_command("--help"), &help) == 0);
  CHECK(help.find("--rate") != std::string::npos);
}

TEST_CASE("histogram percentiles on 1..10000 us are within a bucket's width", "[load]") {
  LatencyHistogram h;
  for (std::uint64_t v = 1; v <= 10000; ++v)
    h.record(v);
  REQUIRE(h.count() == 10000);
  CHECK(h.min() == 1);
  CHECK(h.max() == 10000);
  CHECK(h.mean() == Approx(5000.5));
  const std::vector<std::pair<double, double>> expected = {{50, 5000},   {90, 9000},   {99, 9900},
                                                           {99.9, 9990}, {100, 10000}, {0.01, 1}};
  for (const auto& [p, exact] : expected) {
    const double got = static_cast<double>(h.percentile(p));
    INFO("p" << p << " = " << got);
    // Reported as the top of the bucket: never below, at most one width above.
    CHECK(got >= exact);
    CHECK(got <= exact * (1 + 1.0 / LatencyHistogram::kSubBuckets) + 1);
  }
  // Small values are exact.
  CHECK(h.percentile(1) == 100);
}

TEST_CASE("histogram buckets cover 1 us to 60 s with < 1% relative width", "[load]") {
  for (std::uint64_t v : {1ull, 255ull, 256ull, 257ull, 1000ull, 65535ull, 65536ull, 1234567ull,
                          59'999'999ull, 60'000'000ull}) {
    const auto index = LatencyHistogram::bucket_index(v);
    INFO(v);
    CHECK(LatencyHistogram::bucket_lowest(index) <= v);
    CHECK(LatencyHistogram::bucket_highest(index) >= v);
    const double width = static_cast<double>(LatencyHistogram::bucket_highest(index) -
                                             LatencyHistogram::bucket_lowest(index) + 1);
    CHECK(width / static_cast<double>(v) <= 0.01 + 1e-9 + (v < 256 ? 1.0 : 0.0));
  }
  // Consecutive buckets tile the range with no gap.
  for (std::size_t i = 1; i < LatencyHistogram::bucket_index(60'000'000); ++i) {
    REQUIRE(LatencyHistogram::bucket_lowest(i) == LatencyHistogram::bucket_highest(i - 1) + 1);
  }
  LatencyHistogram h;
  CHECK(h.percentile(99) == 0);
  h.record(0);
  h.record(120'000'000);  // beyond the range: clamped into the last bucket
  CHECK(h.min() == 0);
  CHECK(h.max() == 120'000'000);
  CHECK(h.percentile(100) == 120'000'000);

  LatencyHistogram a, b;
  for (int i = 0; i < 90; ++i)
    a.record(100);
  for (int i = 0; i < 10; ++i)
    b.record(50'000);
  a.add(b);
  CHECK(a.count() == 100);
  CHECK(a.percentile(90) == 100);
  CHECK(a.percentile(91) >= 50'000);
  CHECK(a.percentile(91) <= 50'000 * 1.01);
  CHECK(a.min() == 100);
  CHECK(a.max() == 50'000);
}

TEST_CASE("a closed-loop run against a counting server: fresh ids, all counted", "[load]") {
  CountingServer server;
  const auto summary = run_json("--url http://127.0.0.1:" + std::to_string(server.port()) +
                                "/v1/events --connections 2 --duration 2s --body " +
                                fixture_path("session-open.event.json") + " --body " +
                                fixture_path("session-close.event.json"));
  const auto requests = to_u64(summary.at("requests"));
  CHECK(requests > 0);
  CHECK(summary.at("mode").as_string() == "closed");
  const auto& statuses = summary.at("statuses").as_object();
  REQUIRE(statuses.size() == 1);
  CHECK(to_u64(statuses.at("202")) == requests);
  CHECK(to_u64(summary.at("errors_total")) == 0);
  CHECK(server.requests() == requests);
  // Every event carried an id of its own, never the fixture's.
  CHECK(server.unique_ids() == requests);
  const auto& latency = summary.at("latency_us").as_object();
  CHECK(to_u64(latency.at("p50")) <= to_u64(latency.at("p99")));
  CHECK(to_u64(latency.at("p99")) <= to_u64(latency.at("max")));
}

TEST_CASE("signed array requests verify and carry N fresh events", "[load]") {
  const std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  CountingServer server(secret);
  const auto summary = run_json("--url http://127.0.0.1:" + std::to_string(server.port()) +
                                "/v1/events --connections 2 --duration 1s --array 5 --sign " +
                                secret + " --body " + fixture_path("session-open.event.json"));
  const auto requests = to_u64(summary.at("requests"));
  REQUIRE(requests > 0);
  CHECK(server.bad_signatures() == 0);
  CHECK(server.webhook_id_mismatches() == 0);
  CHECK(server.events() == 5 * requests);
  CHECK(server.unique_ids() == 5 * requests);
  CHECK(to_u64(summary.at("events_ok")) == 5 * requests);
}

TEST_CASE("an open-loop run keeps to its schedule's count", "[load]") {
  CountingServer server;
  const auto summary =
      run_json("--url http://127.0.0.1:" + std::to_string(server.port()) +
               "/v1/events --connections 2 --duration 1s --rate 200 --threads 2 --body " +
               fixture_path("session-open.event.json"));
  CHECK(summary.at("mode").as_string() == "open");
  CHECK(to_u64(summary.at("scheduled")) == 200);
  const auto requests = to_u64(summary.at("requests"));
  CHECK(requests > 0);
  CHECK(requests + to_u64(summary.at("unsent")) <= 200);
  CHECK(server.requests() == requests);
}

TEST_CASE("open loop measures from the intended send time, so a stall shows", "[load]") {
  // One connection, a request due every 20 ms, the first reply held 400 ms:
  // the ~20 requests due during the stall wait behind it, and each one's
  // latency counts from when it was due. A closed-loop measurement would see
  // one slow request and a p90 in the microseconds. A slower machine only
  // makes these latencies longer, never shorter.
  CountingServer server("", std::chrono::milliseconds(400));
  const auto summary = run_json("--url http://127.0.0.1:" + std::to_string(server.port()) +
                                "/v1/events --connections 1 --duration 1s --rate 50 --body " +
                                fixture_path("session-open.event.json"));
  const auto& latency = summary.at("latency_us").as_object();
  INFO(json::serialize(summary));
  CHECK(to_u64(latency.at("max")) >= 400'000);
  CHECK(to_u64(latency.at("p90")) >= 150'000);
}

TEST_CASE("a refused connection is counted as an error, not a crash", "[load]") {
  const auto port = hookd::test::free_port();
  std::string output;
  const int rc =
      hookd::test::run_command(load_command("--url http://127.0.0.1:" + std::to_string(port) +
                                            "/ --connections 1 --duration 300ms --json --quiet"),
                               &output);
  INFO(output);
  CHECK(rc == 1);  // nothing answered
  const auto summary = json::parse(output.substr(output.rfind("\n{") + 1)).as_object();
  CHECK(to_u64(summary.at("requests")) == 0);
  CHECK(to_u64(summary.at("errors").as_object().at("connect_refused")) > 0);
}

TEST_CASE("a short run against the real hookd is all 202 and all accepted", "[load]") {
  hookd::test::Daemon daemon;
  const auto summary = run_json("--url http://127.0.0.1:" + std::to_string(daemon.port()) +
                                "/v1/events --connections 2 --duration 2s --body " +
                                fixture_path("session-open.event.json"));
  const auto requests = to_u64(summary.at("requests"));
  REQUIRE(requests > 0);
  const auto& statuses = summary.at("statuses").as_object();
  REQUIRE(statuses.size() == 1);
  CHECK(to_u64(statuses.at("202")) == requests);
  const auto metrics = hookd::test::http(daemon.port(), "GET", "/metrics");
  REQUIRE(metrics.status == 200);
  INFO(metrics.body.substr(0, 4000));
  CHECK(metric_sum(metrics.body, "hookd_http_requests_total", "status=\"202\"") ==
        static_cast<double>(requests));
}
