#include <catch2/catch.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "hookd/core/metrics.h"

using namespace hookd;

namespace {

// Each sample line must match the 0.0.4 text grammar: name{labels} value.
bool valid_exposition(const std::string& text, std::string* bad_line) {
  static const std::regex sample(
      R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\["\\n])*",?)*\})? ([-+]?[0-9.eE+-]+|[+-]Inf|NaN)$)");
  static const std::regex comment(R"(^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*$)");
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!std::regex_match(line, line[0] == '#' ? comment : sample)) {
      *bad_line = line;
      return false;
    }
  }
  return true;
}

}  // namespace

TEST_CASE("counters, gauges and callbacks render in the text format") {
  MetricsRegistry r;
  r.counter("t_requests_total", "Requests.", {{"route", "/v1/events"}, {"status", "202"}}).inc(3);
  r.counter("t_requests_total", "Requests.", {{"route", "/v1/events"}, {"status", "202"}}).inc();
  r.gauge("t_open", "Open.").set(2.5);
  r.gauge_callback("t_age_seconds", "Age.", {}, [] { return 7.0; });
  std::string text = r.render();
  CHECK(text.find("# HELP t_requests_total Requests.\n# TYPE t_requests_total counter\n") !=
        std::string::npos);
  CHECK(text.find("t_requests_total{route=\"/v1/events\",status=\"202\"} 4\n") !=
        std::string::npos);
  CHECK(text.find("t_open 2.5\n") != std::string::npos);
  CHECK(text.find("t_age_seconds 7\n") != std::string::npos);
  std::string bad;
  const bool valid = valid_exposition(text, &bad);
  INFO(bad);
  CHECK(valid);
  r.remove_gauge_callback("t_age_seconds", {});
  CHECK(r.render().find("t_age_seconds 7") == std::string::npos);
}

TEST_CASE("the same series is returned for the same name and labels") {
  MetricsRegistry r;
  auto& a = r.counter("t_x_total", "X.", {{"k", "v"}});
  auto& b = r.counter("t_x_total", "X.", {{"k", "v"}});
  auto& c = r.counter("t_x_total", "X.", {{"k", "w"}});
  CHECK(&a == &b);
  CHECK(&a != &c);
}

TEST_CASE("histograms are cumulative with +Inf, sum and count") {
  MetricsRegistry r;
  auto& h = r.histogram("t_latency_seconds", "Latency.", {0.1, 1}, {{"route", "x"}});
  h.observe(0.05);
  h.observe(0.1);  // upper bounds are inclusive
  h.observe(0.5);
  h.observe(5);
  std::string text = r.render();
  CHECK(text.find("t_latency_seconds_bucket{route=\"x\",le=\"0.1\"} 2\n") != std::string::npos);
  CHECK(text.find("t_latency_seconds_bucket{route=\"x\",le=\"1\"} 3\n") != std::string::npos);
  CHECK(text.find("t_latency_seconds_bucket{route=\"x\",le=\"+Inf\"} 4\n") != std::string::npos);
  CHECK(text.find("t_latency_seconds_sum{route=\"x\"} 5.65\n") != std::string::npos);
  CHECK(text.find("t_latency_seconds_count{route=\"x\"} 4\n") != std::string::npos);
  CHECK(text.find("# TYPE t_latency_seconds histogram\n") != std::string::npos);
  std::string bad;
  const bool valid = valid_exposition(text, &bad);
  INFO(bad);
  CHECK(valid);
}

TEST_CASE("label values and help text are escaped") {
  MetricsRegistry r;
  r.counter("t_esc_total", "Line one\nback\\slash", {{"v", "a\"b\\c\nd"}}).inc();
  std::string text = r.render();
  CHECK(text.find("# HELP t_esc_total Line one\\nback\\\\slash\n") != std::string::npos);
  CHECK(text.find("t_esc_total{v=\"a\\\"b\\\\c\\nd\"} 1\n") != std::string::npos);
  std::string bad;
  const bool valid = valid_exposition(text, &bad);
  INFO(bad);
  CHECK(valid);
}

TEST_CASE("concurrent increments are not lost") {
  MetricsRegistry r;
  auto& c = r.counter("t_concurrent_total", "C.");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i)
        c.inc();
    });
  }
  for (auto& t : threads)
    t.join();
  CHECK(c.value() == 40000);
}

TEST_CASE("whole numbers print without an exponent, fractions round-trip") {
  MetricsRegistry r;
  r.gauge("t_ten", "Ten.").set(10);
  r.gauge("t_big", "Big.").set(123456789012);
  r.gauge("t_fraction", "Fraction.").set(0.1);
  std::string text = r.render();
  CHECK(text.find("t_ten 10\n") != std::string::npos);
  CHECK(text.find("t_big 123456789012\n") != std::string::npos);
  CHECK(text.find("t_fraction 0.1\n") != std::string::npos);
}
