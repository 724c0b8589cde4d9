#include "hookd/daemon/svix_wiring.h"

#include "hookd/core/signature.h"

namespace hookd {

std::vector<SvixEndpointSettings> svix_endpoints(const api::EndpointSet& set) {
  std::vector<SvixEndpointSettings> out;
  for (const auto& [app_id, endpoints] : set.by_app) {
    for (const api::Endpoint& e : endpoints) {
      SvixEndpointSettings s{e.id,       app_id,     e.url,     e.filter_types,
                             e.channels, e.disabled, e.headers, {}};
      if (auto key = WebhookSecret::parse(e.secret)) s.secrets.push_back({*key, 0});
      for (const api::OldSecret& old : e.old_secrets) {
        if (auto key = WebhookSecret::parse(old.secret))
          s.secrets.push_back({*key, old.expires_ms});
      }
      out.push_back(std::move(s));
    }
  }
  return out;
}

api::Attempt attempt_of(const AttemptReport& report) {
  api::Attempt a;
  a.msg_id = report.event_id;
  a.endpoint_id = report.endpoint;
  a.app_id = report.app_id;
  a.url = report.url;
  a.response = report.response;
  a.response_status_code = report.status_code;
  a.response_duration_ms = report.duration_ms;
  a.status = report.success ? api::kAttemptSuccess : api::kAttemptFail;
  a.trigger_type = report.manual ? api::kTriggerManual : api::kTriggerScheduled;
  a.timestamp_ms = report.started_ms;
  return a;
}

SharedAttempt shared_attempt_of(const api::Attempt& attempt) {
  SharedAttempt a;
  a.success = attempt.status == api::kAttemptSuccess;
  a.manual = attempt.trigger_type == api::kTriggerManual;
  a.record.at_ms = attempt.timestamp_ms;
  a.record.status = attempt.response_status_code;
  if (attempt.response_status_code == 0) a.record.error = attempt.response;
  a.record.duration_ms = attempt.response_duration_ms;
  return a;
}

}  // namespace hookd
