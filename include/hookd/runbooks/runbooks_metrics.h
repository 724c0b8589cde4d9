// The runbooks source's Prometheus series, registered once on first use.
// Thread-safe (the series are atomics).
#pragma once

#include "hookd/core/metrics.h"

namespace hookd {

struct RunbooksMetrics {
  Counter& fetches_ok;
  Counter& fetches_failed;
  Counter& timeouts;
  Counter& received_bytes;
  Counter& scripts_skipped;
  Histogram& duration;
  Gauge& scripts;
};

RunbooksMetrics& runbooks_metrics();

}  // namespace hookd
