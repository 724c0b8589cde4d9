#include "hookd/delivery/endpoint_state.h"

#include <boost/json.hpp>

#include "hookd/core/durable_file.h"
#include "hookd/core/event.h"
#include "hookd/core/log.h"
#include "hookd/delivery/blocking_io_thread.h"

namespace hookd {

namespace json = boost::json;

std::optional<EndpointState> parse_endpoint_state(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.as_object();
  EndpointState state;
  if (auto* d = o.if_contains("disabled"); d && d->is_bool()) state.disabled = d->as_bool();
  if (auto* r = o.if_contains("reason"); r && r->is_string()) {
    state.reason = std::string(r->as_string());
  }
  if (auto* a = o.if_contains("at"); a && a->is_string()) state.at = std::string(a->as_string());
  return state;
}

std::string endpoint_state_text(const EndpointState& state) {
  json::object o;
  o["disabled"] = state.disabled;
  o["reason"] = state.reason;
  o["at"] = state.at;
  return json::serialize(o) + "\n";
}

EndpointStateFile::EndpointStateFile(std::shared_ptr<BlockingIoThread> files,
                                     std::filesystem::path file, std::string endpoint)
    : files_(std::move(files)), file_(std::move(file)), endpoint_(std::move(endpoint)) {}

void EndpointStateFile::load() {
  auto text = read_whole_file(file_);
  if (!text) return;
  if (auto state = parse_endpoint_state(*text)) {
    state_ = std::move(*state);
  } else {
    log::warn("delivery: unreadable endpoint state, ignored",
              {{"endpoint", endpoint_}, {"file", file_.string()}});
  }
}

bool EndpointStateFile::set_disabled(bool disabled, std::string reason, std::int64_t now_ms) {
  if (state_.disabled == disabled) return false;
  state_.disabled = disabled;
  state_.reason = disabled ? std::move(reason) : std::string();
  state_.at = disabled ? format_rfc3339(now_ms) : std::string();
  if (disabled) {
    log::warn("delivery: endpoint disabled until POST /v1/endpoints/{name}/enable",
              {{"endpoint", endpoint_}, {"reason", state_.reason}});
  } else {
    log::info("delivery: endpoint enabled", {{"endpoint", endpoint_}});
  }
  files_->post([path = file_, name = endpoint_, text = endpoint_state_text(state_)] {
    Status st = write_atomic(path, text);
    if (!st) {
      log::error("delivery: endpoint state not saved",
                 {{"endpoint", name}, {"error", st.error().message}});
    }
  });
  return true;
}

}  // namespace hookd
