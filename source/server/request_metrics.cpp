#include "request_metrics.h"

#include "hookd/core/metrics.h"

namespace hookd {

namespace {

Counter& error_counter(const char* reason) {
  return metrics().counter("hookd_http_request_errors_total",
                           "Requests cut off or refused before routing, by reason",
                           {{"reason", reason}});
}

}  // namespace

std::size_t RequestSeries::KeyHash::operator()(const KeyView& k) const {
  std::size_t h = std::hash<std::string_view>{}(k.route);
  h = h * 31 + std::hash<std::string_view>{}(k.method);
  return h * 31 + static_cast<std::size_t>(k.status);
}

std::size_t RequestSeries::KeyHash::operator()(const Key& k) const {
  return (*this)(KeyView{k.route, k.method, k.status});
}

void RequestSeries::observe(std::string_view route, std::string_view method, int status,
                            double seconds) {
  if (!last_.counter || last_.status != status || last_.route != route || last_.method != method) {
    auto counter = counters_.find(KeyView{route, method, status});
    if (counter == counters_.end()) {
      std::string status_text = std::to_string(status);
      Counter& c = metrics().counter("hookd_http_requests_total", "HTTP requests answered",
                                     {{"route", std::string(route)},
                                      {"method", std::string(method)},
                                      {"status", status_text}});
      counter = counters_.emplace(Key{std::string(route), std::string(method), status}, &c).first;
    }
    last_.route.assign(route.data(), route.size());
    last_.method.assign(method.data(), method.size());
    last_.status = status;
    last_.counter = counter->second;
    last_.duration = nullptr;
  }
  last_.counter->inc();
  if (seconds < 0) return;
  if (!last_.duration) last_.duration = &duration(route);
  last_.duration->observe(seconds);
}

Histogram& RequestSeries::duration(std::string_view route) {
  auto histogram = durations_.find(route);
  if (histogram == durations_.end()) {
    Histogram& h = metrics().histogram("hookd_http_request_duration_seconds",
                                       "Time from a complete request to its response",
                                       latency_buckets_seconds(), {{"route", std::string(route)}});
    histogram = durations_.emplace(std::string(route), &h).first;
  }
  return *histogram->second;
}

RequestErrorCounters::RequestErrorCounters()
    : body_limit(error_counter("body_limit")),
      header_limit(error_counter("header_limit")),
      timeout(error_counter("timeout")),
      bad_request(error_counter("bad_request")),
      tls(error_counter("tls")) {}

}  // namespace hookd
