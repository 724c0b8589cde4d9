// EndpointStats: what one endpoint reports about itself: its Prometheus
// series (label endpoint=<name>, looked up once so the loop only bumps
// atomics), the totals and last answer GET /v1/endpoints shows, and a log
// line when it starts or stops failing. With a SharedTally (--queue) the
// totals, last answer and dead-letter count are also added to the figures
// every node shares, which GET /v1/endpoints then shows. The metrics are
// thread-safe; the rest runs on the endpoint worker's io_context.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "hookd/core/metrics.h"

namespace hookd {

class SharedTally;
struct AttemptOutcome;
struct LiveCounts;
struct OutgoingBatch;

// Drops the scrape-time series of an endpoint that is gone for good (a
// deleted API endpoint); its counters stay, as Prometheus counters do.
void remove_endpoint_series(const std::string& endpoint);

class EndpointStats {
 public:
  // Registers the series; the backlog gauge reads `live` and the journal's
  // newest durable seq at scrape time.
  void register_metrics(const std::string& endpoint, std::shared_ptr<const LiveCounts> live,
                        std::shared_ptr<const std::atomic<std::uint64_t>> last_seq);

  // Before the first attempt; `key` names the endpoint among all nodes'.
  // `own_dead_letters`: each node's dead-letter count is its share of the
  // figure; false when a shared dead-letter list keeps the figure itself.
  void share_through(std::shared_ptr<SharedTally> tally, std::string key,
                     bool own_dead_letters = true);

  // One attempt's answer for a request whose first event is `event`.
  void attempted(const AttemptOutcome& outcome, std::string_view event);
  // Counts the batch delivered at `now_ms` and each event's latency.
  void delivered(const OutgoingBatch& batch, std::int64_t now_ms);

  void set_dead_letters(std::size_t count);
  void set_disabled(bool disabled) { disabled_->set(disabled ? 1 : 0); }
  void set_in_flight(std::size_t events) { in_flight_->set(static_cast<double>(events)); }
  void set_window(std::size_t events) { window_->set(static_cast<double>(events)); }

  std::uint64_t delivered_total() const { return delivered_total_; }
  std::uint64_t failed_total() const { return failed_total_; }
  const std::string& last_error() const { return last_error_; }  // empty: none yet
  int last_status() const { return last_status_; }               // 0: none yet

  // What every node together counted, as far as fetched; nullopt without a
  // tally or before its first fetch.
  struct SharedTotals {
    std::uint64_t delivered_total = 0;
    std::uint64_t failed_total = 0;
    std::size_t dead_letters = 0;
    std::string last_error;
    int last_status = 0;
  };
  std::optional<SharedTotals> shared_totals() const;

 private:
  std::shared_ptr<SharedTally> tally_;
  std::string tally_key_;
  bool own_dead_letters_ = true;
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
