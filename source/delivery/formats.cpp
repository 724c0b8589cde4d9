#include "hookd/delivery/formats.h"

#include <zlib.h>

#include <boost/json.hpp>
#include <cstdio>

#include "hookd/core/ascii.h"
#include "hookd/core/text.h"
#include "hookd/delivery/svix_format.h"

namespace hookd {

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

// An extra header replaces one hookd set under the same name.
void set_header(Headers& headers, std::string_view name, std::string value) {
  for (auto& h : headers) {
    if (ascii_iequals(h.first, name)) {
      h.second = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::string(name), std::move(value));
}

void append_splunk_event(std::string& out, std::string_view event_json, std::int64_t time_ms,
                         std::string_view type, std::string_view host_quoted) {
  if (time_ms < 0) time_ms = 0;
  char ms[8];
  std::snprintf(ms, sizeof ms, "%03d", static_cast<int>(time_ms % 1000));
  out += "{\"time\":";
  out += std::to_string(time_ms / 1000);
  out += '.';
  out += ms;
  out += ",\"host\":";
  out += host_quoted;
  out += ",\"source\":\"hookd\",\"sourcetype\":";
  out += json_quote(std::string("hookd:") + std::string(type));
  out += ",\"event\":";
  out += event_json;
  out += "}\n";
}

}  // namespace

std::int64_t event_time_ms(const Event& event) {
  if (auto t = parse_rfc3339(event.timestamp)) return *t;
  return event.arrival_unix_ms;
}

RenderedEvent render_event(const Event& event) {
  return RenderedEvent{event.id, event.type, to_json(event), event_time_ms(event)};
}

RenderedEvent render_event_for(const EndpointSpec& spec, const Event& event) {
  if (!spec.svix) return render_event(event);
  return RenderedEvent{event.id, event.type, event.payload_json, event_time_ms(event)};
}

RequestBuilder::RequestBuilder(const EndpointSpec& spec, std::string_view user_agent,
                               std::string_view host)
    : spec_(spec),
      user_agent_(user_agent),
      host_quoted_(json_quote(host)),
      basic_auth_(basic_auth_from_url(spec.url)) {
  if (spec_.format == EndpointFormat::webhook) return;
  bool splunk = spec_.format == EndpointFormat::splunk_hec;
  auto& h = batch_headers_;
  h.emplace_back("Content-Type", splunk ? "application/json" : "application/x-ndjson");
  h.emplace_back("User-Agent", user_agent_);
  if (basic_auth_) h.emplace_back("Authorization", *basic_auth_);
  if (splunk && !spec_.token.empty()) set_header(h, "Authorization", "Splunk " + spec_.token);
  if (spec_.gzip) h.emplace_back("Content-Encoding", "gzip");
  for (const auto& extra : spec_.headers)
    set_header(h, extra.first, extra.second);
}

OutgoingRequest RequestBuilder::webhook(const RenderedEvent& event, std::int64_t now_unix) const {
  if (spec_.svix) {
    return svix_request(*spec_.svix->get(), event, now_unix * 1000, user_agent_, basic_auth_);
  }
  OutgoingRequest req;
  req.headers.reserve(6 + spec_.headers.size());
  req.headers.emplace_back("Content-Type", "application/json");
  req.headers.emplace_back("User-Agent", user_agent_);
  if (basic_auth_) req.headers.emplace_back("Authorization", *basic_auth_);
  req.headers.emplace_back("webhook-id", event.id);
  req.headers.emplace_back("webhook-timestamp", std::to_string(now_unix));
  if (spec_.secret) {
    req.headers.emplace_back("webhook-signature",
                             spec_.secret->sign(event.id, now_unix, event.json));
  }
  for (const auto& h : spec_.headers)
    set_header(req.headers, h.first, h.second);
  req.body = event.json;
  return req;
}

void RequestBuilder::append_to_batch(std::string& body, const RenderedEvent& event) const {
  if (spec_.format == EndpointFormat::splunk_hec) {
    append_splunk_event(body, event.json, event.time_ms, event.type, host_quoted_);
  } else {
    body += event.json;
    body += '\n';
  }
}

std::string RequestBuilder::encode_batch(std::string body) const {
  return spec_.gzip ? gzip_compress(body) : body;
}

OutgoingRequest RequestBuilder::batch_request(std::string encoded_body) const {
  OutgoingRequest req;
  req.headers = batch_headers_;
  req.body = std::move(encoded_body);
  return req;
}

OutgoingRequest make_webhook_request(const EndpointSpec& spec, const Event& event,
                                     std::int64_t now_unix, std::string_view user_agent) {
  return RequestBuilder(spec, user_agent, "").webhook(render_event(event), now_unix);
}

std::string splunk_hec_body(const std::vector<Event>& events, std::string_view host) {
  std::string out;
  std::string host_q = json_quote(host);
  for (const auto& e : events)
    append_splunk_event(out, to_json(e), event_time_ms(e), e.type, host_q);
  return out;
}

std::string ndjson_body(const std::vector<Event>& events) {
  std::string out;
  for (const auto& e : events) {
    out += to_json(e);
    out += '\n';
  }
  return out;
}

OutgoingRequest make_batch_request(const EndpointSpec& spec, const std::vector<Event>& events,
                                   std::string_view host, std::string_view user_agent) {
  RequestBuilder builder(spec, user_agent, host);
  std::string body;
  for (const auto& e : events)
    builder.append_to_batch(body, render_event(e));
  return builder.batch_request(builder.encode_batch(std::move(body)));
}

std::string gzip_compress(std::string_view data) {
  z_stream zs{};
  // 15 window bits + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return {};
  }
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(data.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  std::size_t produced = out.size() - zs.avail_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return {};
  out.resize(produced);
  return out;
}

}  // namespace hookd
