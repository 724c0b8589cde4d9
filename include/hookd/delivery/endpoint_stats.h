// EndpointStats: what one endpoint reports about itself: its Prometheus
// series (label endpoint=<name>, looked up once so the loop only bumps
// atomics), the totals and last answer GET /v1/endpoints shows, and a log
// line when it starts or stops failing. The metrics are thread-safe; the
// rest runs on the endpoint worker's io_context.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "hookd/core/metrics.h"

namespace hookd {

struct AttemptOutcome;
struct LiveCounts;
struct OutgoingBatch;

class EndpointStats {
 public:
  // Registers the series; the backlog gauge reads `live` and the journal's
  // newest durable seq at scrape time.
  void register_metrics(const std::string& endpoint, std::shared_ptr<const LiveCounts> live,
                        std::shared_ptr<const std::atomic<std::uint64_t>> last_seq);

  // One attempt's answer for a request whose first event is `event`.
  void attempted(const AttemptOutcome& outcome, std::string_view event);
  // Counts the batch delivered at `now_ms` and each event's latency.
  void delivered(const OutgoingBatch& batch, std::int64_t now_ms);

  void set_dead_letters(std::size_t count) { dead_letters_->set(static_cast<double>(count)); }
  void set_disabled(bool disabled) { disabled_->set(disabled ? 1 : 0); }
  void set_in_flight(std::size_t events) { in_flight_->set(static_cast<double>(events)); }
  void set_window(std::size_t events) { window_->set(static_cast<double>(events)); }

  std::uint64_t delivered_total() const { return delivered_total_; }
  std::uint64_t failed_total() const { return failed_total_; }
  const std::string& last_error() const { return last_error_; }  // empty: none yet
  int last_status() const { return last_status_; }               // 0: none yet

 private:
  std::string endpoint_;
  bool failing_ = false;
  std::string last_error_;
  int last_status_ = 0;
  std::uint64_t delivered_total_ = 0;
  std::uint64_t failed_total_ = 0;

  Counter* outcome_success_ = nullptr;
  Counter* outcome_http_error_ = nullptr;
  Counter* outcome_transport_error_ = nullptr;
  Counter* outcome_throttled_ = nullptr;
  Counter* delivered_events_ = nullptr;
  Histogram* latency_ = nullptr;
  Gauge* dead_letters_ = nullptr;
  Gauge* disabled_ = nullptr;
  Gauge* in_flight_ = nullptr;
  Gauge* window_ = nullptr;
};

}  // namespace hookd
