// Overload, as a test that prints its figures: 10,000 idle client connections
// beside a normal client; an endpoint ten times slower than the load, with the
// daemon's memory sampled; and a flood of fresh ids under a short dedupe
// window. The memory checks are bounds with generous room, never timings.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/open_loop.h"
#include "support/sink_process.h"
#include "support/skip.h"
#include "support/support.h"

using namespace hookd::test;
using namespace std::chrono_literals;

namespace {

constexpr double kMiB = 1024.0 * 1024.0;

std::string event_body(const std::string& id) {
  return R"({"type":"load.tick","id":")" + id + R"(","payload":{"data":")" + std::string(300, 'x') +
         R"("}})";
}

double metric(const Daemon& daemon, const std::string& series) {
  std::istringstream in(http(daemon.port(), "GET", "/metrics").body);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

// Plain TCP connections that never send a byte; closed on destruction.
class IdleConnections {
 public:
  ~IdleConnections() {
    for (int fd : fds_)
      ::close(fd);
  }
  // Opens up to `n` to 127.0.0.1:port; how many are open.
  std::size_t open(unsigned short port, std::size_t n) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    while (fds_.size() < n) {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) break;
      if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        break;
      }
      fds_.push_back(fd);
    }
    return fds_.size();
  }

 private:
  std::vector<int> fds_;
};

// RSS samples every `every` for `samples` times, printed on one line.
std::vector<double> sample_rss_mib(const Daemon& daemon, int samples,
                                   std::chrono::milliseconds every, const char* label) {
  std::vector<double> mib;
  for (int i = 0; i < samples; ++i) {
    std::this_thread::sleep_for(every);
    mib.push_back(static_cast<double>(resident_bytes(daemon.pid())) / kMiB);
  }
  std::printf("%s: RSS MiB every %lld ms:", label, static_cast<long long>(every.count()));
  for (double m : mib)
    std::printf(" %.1f", m);
  std::printf("\n");
  return mib;
}

// Growth of the samples after the first `warm_up` of them.
double growth_after(const std::vector<double>& mib, std::size_t warm_up) {
  return *std::max_element(mib.begin() + static_cast<std::ptrdiff_t>(warm_up), mib.end()) -
         mib[warm_up - 1];
}

}  // namespace

TEST_CASE("10,000 idle connections do not stop a normal client") {
  constexpr std::size_t kIdle = 10'000;
  rlimit limit{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &limit) == 0);
  // This process holds one end of each connection and the daemon the other;
  // the daemon inherits this limit.
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < kIdle + 500) {
    HOOKD_SKIP("RLIMIT_NOFILE hard limit " + std::to_string(limit.rlim_max) +
               " is below the 10,500 descriptors the test needs");
  }
  const rlimit before = limit;
  limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, kIdle + 2000);
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &limit) == 0);
  struct Restore {
    rlimit limit;
    ~Restore() { ::setrlimit(RLIMIT_NOFILE, &limit); }
  } restore{before};

  DaemonOptions options;
  options.args = {"--max-connections", std::to_string(kIdle + 100),
                  "--read-timeout",    "120s",
                  "--idle-timeout",    "120s"};
  Daemon daemon(hookd::test::with_read_token(options));
  IdleConnections idle;
  const std::size_t opened = idle.open(daemon.port(), kIdle);
  REQUIRE(opened == kIdle);
  REQUIRE(wait_until(
      [&] { return metric(daemon, "hookd_http_open_connections") >= static_cast<double>(kIdle); },
      60s));

  int accepted = 0, ready = 0, found = 0;
  for (int i = 0; i < 50; ++i) {
    const std::string id = "beside-idle-" + std::to_string(i);
    accepted += post_json(daemon.port(), "/v1/events", event_body(id)).status == 202 ? 1 : 0;
    found += hookd::test::authorized_get(daemon.port(), "/v1/events/" + id).status == 200 ? 1 : 0;
    ready += http(daemon.port(), "GET", "/readyz").status == 200 ? 1 : 0;
  }
  const double open_connections = metric(daemon, "hookd_http_open_connections");
  std::printf("chaos idle: connections %zu idle, %.0f open in the daemon, RSS %.1f MiB\n", opened,
              open_connections, static_cast<double>(resident_bytes(daemon.pid())) / kMiB);
  std::printf("chaos idle: normal client 50 posts, %d accepted, %d read back, %d ready\n", accepted,
              found, ready);
  CHECK(accepted == 50);
  CHECK(found == 50);
  CHECK(ready == 50);
}

TEST_CASE("ten times the load a slow endpoint takes keeps memory bounded by the delivery window") {
  // 4 connections x 1 event per 200 ms: the endpoint takes about 20 events/s.
  SinkProcess slow({"--delay-ms", "200"});
  DaemonOptions options;
  options.args = {"--endpoint", "name=slow,url=" + slow.url() + ",timeout=5s,connections=4",
                  "--delivery-window", "200"};
  Daemon daemon(options);
  std::atomic<unsigned short> port{daemon.port()};

  OpenLoopPoster::Options load_options;
  load_options.rate = 200;  // ten times what the endpoint takes
  load_options.threads = 8;
  load_options.id_prefix = "flood-";
  load_options.body = event_body;
  OpenLoopPoster load(port, load_options);
  const auto mib = sample_rss_mib(daemon, 24, 1000ms, "chaos overload");
  const double window = metric(daemon, R"(hookd_delivery_window_events{endpoint="slow"})");
  const double backlog = metric(daemon, R"(hookd_delivery_backlog{endpoint="slow"})");
  const double delivered =
      metric(daemon, R"(hookd_delivery_delivered_events_total{endpoint="slow"})");
  load.finish(30s);
  const auto counts = load.counts();
  std::printf(
      "chaos overload: events %zu accepted, %.0f delivered, backlog %.0f, window %.0f "
      "(limit 200), RSS growth after 8 s %.1f MiB\n",
      counts.accepted, delivered, backlog, window, growth_after(mib, 8));
  CHECK(window <= 200);
  CHECK(backlog > 2 * delivered);  // really overloaded: the journal holds the rest
  CHECK(growth_after(mib, 8) < 32);
}

TEST_CASE("fresh ids under a short dedupe window keep the index and memory flat") {
  DaemonOptions options;
  options.args = {"--dedupe-window",         "2s",  "--journal-max-bytes", "64MiB",
                  "--journal-segment-bytes", "1MiB"};
  Daemon daemon(options);
  std::atomic<unsigned short> port{daemon.port()};
  OpenLoopPoster::Options load_options;
  load_options.rate = 1000;
  load_options.threads = 8;
  load_options.id_prefix = "fresh-";
  load_options.body = event_body;
  OpenLoopPoster load(port, load_options);

  std::vector<double> indexed;
  std::vector<double> mib;
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_for(1000ms);
    indexed.push_back(metric(daemon, "hookd_journal_indexed_ids"));
    mib.push_back(static_cast<double>(resident_bytes(daemon.pid())) / kMiB);
  }
  load.finish(30s);
  const auto counts = load.counts();
  std::printf("chaos dedupe window: ids indexed every 1 s:");
  for (double n : indexed)
    std::printf(" %.0f", n);
  std::printf("\nchaos dedupe window: RSS MiB every 1 s:");
  for (double m : mib)
    std::printf(" %.1f", m);
  std::printf(
      "\nchaos dedupe window: events %zu accepted, %.0f in the journal, at most %.0f "
      "indexed after 5 s, RSS growth after 5 s %.1f MiB\n",
      counts.accepted, metric(daemon, "hookd_journal_last_seq"),
      *std::max_element(indexed.begin() + 5, indexed.end()), growth_after(mib, 5));
  // A 2 s window at 1,000 events/s: about 2,000 ids (a little more for the
  // window's granularity and a batch in flight), never the whole history.
  CHECK(counts.accepted > 10'000);
  CHECK(*std::max_element(indexed.begin() + 5, indexed.end()) < 4'000);
  CHECK(growth_after(mib, 5) < 16);
}
