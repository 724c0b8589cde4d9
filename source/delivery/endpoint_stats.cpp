#include "hookd/delivery/endpoint_stats.h"

#include <charconv>

#include "hookd/core/log.h"
#include "hookd/delivery/delivery_window.h"
#include "hookd/delivery/retry_policy.h"
#include "hookd/journal/shared_tally.h"

namespace hookd {

namespace {
constexpr const char* kBacklogGauge = "hookd_delivery_backlog";
}  // namespace

void remove_endpoint_series(const std::string& endpoint) {
  metrics().remove_gauge_callback(kBacklogGauge, {{"endpoint", endpoint}});
}

void EndpointStats::register_metrics(const std::string& endpoint,
                                     std::shared_ptr<const LiveCounts> live,
                                     std::shared_ptr<const std::atomic<std::uint64_t>> last_seq) {
  endpoint_ = endpoint;
  auto& m = metrics();
  const std::string& n = endpoint;
  const char* attempts_help = "Delivery attempts (HTTP requests) by outcome";
  outcome_success_ = &m.counter("hookd_delivery_attempts_total", attempts_help,
                                {{"endpoint", n}, {"outcome", "success"}});
  outcome_http_error_ = &m.counter("hookd_delivery_attempts_total", attempts_help,
                                   {{"endpoint", n}, {"outcome", "http_error"}});
  outcome_transport_error_ = &m.counter("hookd_delivery_attempts_total", attempts_help,
                                        {{"endpoint", n}, {"outcome", "transport_error"}});
  outcome_throttled_ = &m.counter("hookd_delivery_attempts_total", attempts_help,
                                  {{"endpoint", n}, {"outcome", "throttled"}});
  Labels l{{"endpoint", n}};
  delivered_events_ =
      &m.counter("hookd_delivery_delivered_events_total", "Events delivered to the endpoint", l);
  latency_ = &m.histogram("hookd_delivery_latency_seconds",
                          "From acceptance to delivery, per event", duration_buckets_seconds(), l);
  dead_letters_ =
      &m.gauge("hookd_delivery_dead_letters", "Events in the endpoint's dead-letter list", l);
  disabled_ = &m.gauge("hookd_delivery_disabled",
                       "1 while the endpoint is disabled (410 Gone) until re-enabled", l);
  in_flight_ =
      &m.gauge("hookd_delivery_in_flight_events", "Events in requests awaiting a response", l);
  window_ = &m.gauge("hookd_delivery_window_events",
                     "Events held in memory (limit: --delivery-window)", l);
  m.gauge_callback(kBacklogGauge, "Events not yet finished: journal after the cursor, plus replays",
                   l, [live, last_seq] {
                     std::uint64_t l = last_seq->load(), c = live->cursor.load();
                     return static_cast<double>((l > c ? l - c : 0) + live->replay.load());
                   });
}

void EndpointStats::share_through(std::shared_ptr<SharedTally> tally, std::string key,
                                  bool own_dead_letters) {
  tally_ = std::move(tally);
  tally_key_ = std::move(key);
  own_dead_letters_ = own_dead_letters;
  if (tally_) tally_->watch(tally_key_);
}

void EndpointStats::set_dead_letters(std::size_t count) {
  dead_letters_->set(static_cast<double>(count));
  if (tally_ && own_dead_letters_) tally_->set_own_share(tally_key_, "dead_letters", count);
}

std::optional<EndpointStats::SharedTotals> EndpointStats::shared_totals() const {
  if (!tally_) return std::nullopt;
  auto fields = tally_->read(tally_key_);
  if (fields.empty()) return std::nullopt;
  auto number = [&fields](const char* name) -> std::uint64_t {
    auto it = fields.find(name);
    std::uint64_t value = 0;
    if (it != fields.end()) {
      std::from_chars(it->second.data(), it->second.data() + it->second.size(), value);
    }
    return value;
  };
  SharedTotals totals;
  totals.delivered_total = number("delivered_total");
  totals.failed_total = number("failed_total");
  totals.dead_letters = number("dead_letters");
  totals.last_status = static_cast<int>(number("last_status"));
  if (auto it = fields.find("last_error"); it != fields.end()) totals.last_error = it->second;
  return totals;
}

void EndpointStats::attempted(const AttemptOutcome& outcome, std::string_view event) {
  last_status_ = outcome.status;
  if (tally_) tally_->set(tally_key_, "last_status", std::to_string(outcome.status));
  if (outcome.success()) {
    outcome_success_->inc();
    if (failing_) {
      log::info("delivery: endpoint recovered",
                {{"endpoint", endpoint_}, {"status", outcome.status}});
      failing_ = false;
    }
    return;
  }
  if (outcome.throttled()) {
    outcome_throttled_->inc();
  } else {
    (outcome.status == 0 ? outcome_transport_error_ : outcome_http_error_)->inc();
  }
  ++failed_total_;
  last_error_ = outcome.description();
  if (tally_) {
    tally_->add(tally_key_, "failed_total", 1);
    tally_->set(tally_key_, "last_error", last_error_);
  }
  if (!failing_) {
    log::warn("delivery: endpoint failing",
              {{"endpoint", endpoint_}, {"error", last_error_}, {"event", event}});
    failing_ = true;
  } else {
    log::debug("delivery: attempt failed",
               {{"endpoint", endpoint_}, {"error", last_error_}, {"event", event}});
  }
}

void EndpointStats::delivered(const OutgoingBatch& batch, std::int64_t now_ms) {
  for (const auto& e : batch.events) {
    if (e.arrival_ms > 0 && now_ms >= e.arrival_ms) {
      latency_->observe(static_cast<double>(now_ms - e.arrival_ms) / 1000.0);
    }
  }
  const std::size_t n = batch.events.size();
  delivered_total_ += n;
  if (tally_) tally_->add(tally_key_, "delivered_total", static_cast<std::int64_t>(n));
  delivered_events_->inc(static_cast<double>(n));
}

}  // namespace hookd
