// The requests each endpoint format sends: a Standard Webhooks POST per event
// (signed when the endpoint has a secret), or a batch of Splunk HEC envelopes
// or NDJSON lines, gzip'ed when the endpoint asks. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hookd/core/event.h"
#include "hookd/delivery/endpoint_spec.h"
#include "hookd/delivery/https_client.h"

namespace hookd {

// One event rendered once, so that every request (and retry) carrying it
// sends the same bytes.
struct RenderedEvent {
  std::string id;
  std::string type;
  std::string json;          // to_json(event)
  std::int64_t time_ms = 0;  // event_time_ms(event)
};

// The event's own timestamp, else its arrival time (unix ms).
std::int64_t event_time_ms(const Event& event);

RenderedEvent render_event(const Event& event);

// RequestBuilder: one endpoint's requests. What is the same on every request
// (User-Agent, the Authorization from the URL's user info, the extra headers,
// the host name in Splunk envelopes) is worked out once. Immutable.
class RequestBuilder {
 public:
  RequestBuilder(const EndpointSpec& spec, std::string_view user_agent, std::string_view host);

  // One webhook POST: body = the event JSON, Standard Webhooks headers
  // signed at `now_unix` when the endpoint has a secret.
  OutgoingRequest webhook(const RenderedEvent& event, std::int64_t now_unix) const;

  // Appends one event to a batched body, in the endpoint's format.
  void append_to_batch(std::string& body, const RenderedEvent& event) const;
  // The body as sent: gzip'ed when the spec says so.
  std::string encode_batch(std::string body) const;
  // A batched POST of an encode_batch() body.
  OutgoingRequest batch_request(std::string encoded_body) const;

 private:
  EndpointSpec spec_;
  std::string user_agent_;
  std::string host_quoted_;  // as a JSON string
  std::optional<std::string> basic_auth_;
  std::vector<std::pair<std::string, std::string>> batch_headers_;
};

// One webhook POST: body = to_json(event), Standard Webhooks headers signed
// at `now_unix` when the endpoint has a secret.
OutgoingRequest make_webhook_request(const EndpointSpec& spec, const Event& event,
                                     std::int64_t now_unix, std::string_view user_agent);

// Splunk HEC: one {"time","host","source":"hookd","sourcetype":"hookd:<type>",
// "event"} object per event, newline-separated. `time` is the event timestamp.
std::string splunk_hec_body(const std::vector<Event>& events, std::string_view host);
// One event JSON per line.
std::string ndjson_body(const std::vector<Event>& events);
// A batched POST (splunk-hec or ndjson), gzip'ed when the spec says so.
OutgoingRequest make_batch_request(const EndpointSpec& spec, const std::vector<Event>& events,
                                   std::string_view host, std::string_view user_agent);

// gzip (RFC 1952) of `data`, as for Content-Encoding: gzip.
std::string gzip_compress(std::string_view data);

}  // namespace hookd
