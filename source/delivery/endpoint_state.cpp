#include "hookd/delivery/endpoint_state.h"

#include <boost/json.hpp>

#include "hookd/core/durable_file.h"
#include "hookd/core/event.h"
#include "hookd/core/log.h"
#include "hookd/delivery/blocking_io_thread.h"
#include "hookd/journal/shared_tally.h"

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
  if (auto* c = o.if_contains("changed_ms"); c && c->is_int64()) state.changed_ms = c->as_int64();
  return state;
}

std::string endpoint_state_text(const EndpointState& state) {
  json::object o;
  o["disabled"] = state.disabled;
  o["reason"] = state.reason;
  o["at"] = state.at;
  o["changed_ms"] = state.changed_ms;
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
  state_.changed_ms = now_ms;
  if (disabled) {
    log::warn("delivery: endpoint disabled until POST /v1/endpoints/{name}/enable",
              {{"endpoint", endpoint_}, {"reason", state_.reason}});
  } else {
    log::info("delivery: endpoint enabled", {{"endpoint", endpoint_}});
  }
  save();
  share();
  return true;
}

void EndpointStateFile::share_through(std::shared_ptr<SharedTally> tally, std::string key) {
  tally_ = std::move(tally);
  tally_key_ = std::move(key);
  if (tally_) tally_->watch(tally_key_);
}

void EndpointStateFile::share() {
  if (tally_) tally_->set(tally_key_, "state", endpoint_state_text(state_));
}

bool EndpointStateFile::refresh() {
  if (!tally_) return false;
  const auto now = std::chrono::steady_clock::now();
  if (now - refreshed_ < kRefreshEvery) return false;
  refreshed_ = now;
  auto fields = tally_->read(tally_key_);
  auto field = fields.find("state");
  if (field == fields.end()) return false;  // none shared yet, or not fetched yet
  auto theirs = parse_endpoint_state(field->second);
  if (!theirs) return false;
  if (theirs->changed_ms < state_.changed_ms) {
    share();
    return false;
  }
  return adopt(*theirs);
}

bool EndpointStateFile::adopt(const EndpointState& newer) {
  if (newer.changed_ms <= state_.changed_ms) return false;
  const bool flipped = newer.disabled != state_.disabled;
  state_ = newer;
  if (flipped) {
    log::info("delivery: endpoint state changed on another node",
              {{"endpoint", endpoint_}, {"disabled", state_.disabled}, {"reason", state_.reason}});
  }
  save();
  return flipped;
}

void EndpointStateFile::save() {
  files_->post([path = file_, name = endpoint_, text = endpoint_state_text(state_)] {
    Status st = write_atomic(path, text);
    if (!st) {
      log::error("delivery: endpoint state not saved",
                 {{"endpoint", name}, {"error", st.error().message}});
    }
  });
}

}  // namespace hookd
