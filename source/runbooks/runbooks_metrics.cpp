#include "hookd/runbooks/runbooks_metrics.h"

namespace hookd {

RunbooksMetrics& runbooks_metrics() {
  static RunbooksMetrics m{
      .fetches_ok = metrics().counter("hookd_runbooks_fetches_total", "Runbooks fetches by result",
                                      {{"result", "ok"}}),
      .fetches_failed = metrics().counter("hookd_runbooks_fetches_total",
                                          "Runbooks fetches by result", {{"result", "failed"}}),
      .timeouts = metrics().counter("hookd_runbooks_fetch_timeouts_total",
                                    "Runbooks fetches cancelled at --git-fetch-timeout"),
      .received_bytes = metrics().counter("hookd_runbooks_fetch_received_bytes_total",
                                          "Pack bytes received by runbooks fetches"),
      .scripts_skipped = metrics().counter("hookd_runbooks_scripts_skipped_total",
                                           "Hook scripts left out of a snapshot (too big)"),
      .duration = metrics().histogram("hookd_runbooks_fetch_duration_seconds",
                                      "Runbooks fetch duration, success or failure",
                                      duration_buckets_seconds()),
      .scripts = metrics().gauge("hookd_runbooks_scripts", "Hook scripts in the current snapshot"),
  };
  return m;
}

}  // namespace hookd
