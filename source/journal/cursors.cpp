#include "hookd/journal/cursors.h"

#include <algorithm>
#include <boost/json.hpp>
#include <utility>

#include "hookd/core/durable_file.h"
#include "hookd/core/log.h"

namespace hookd::journal_detail {

std::string encode_cursor_file(const CursorSnapshot& cursors) {
  boost::json::object consumers;
  for (const auto& [name, seq] : cursors)
    consumers[name] = seq;
  boost::json::object root;
  root["version"] = 1;
  root["consumers"] = std::move(consumers);
  return boost::json::serialize(root) + "\n";
}

std::optional<CursorSnapshot> decode_cursor_file(std::string_view text) {
  boost::system::error_code ec;
  auto value = boost::json::parse(text, ec);
  if (ec || !value.is_object()) return std::nullopt;
  const auto* consumers = value.as_object().if_contains("consumers");
  if (!consumers || !consumers->is_object()) return std::nullopt;
  CursorSnapshot out;
  for (const auto& [name, seq] : consumers->as_object()) {
    if (!seq.is_number()) continue;
    boost::system::error_code conv;
    auto v = seq.to_number<std::uint64_t>(conv);
    if (conv) continue;
    out.emplace(std::string(name), v);
  }
  return out;
}

ConsumerCursors::ConsumerCursors(std::filesystem::path file) : file_(std::move(file)) {}

void ConsumerCursors::load(std::uint64_t last_seq) {
  const auto text = read_whole_file(file_);
  if (!text) return;
  const auto stored = decode_cursor_file(*text);
  if (!stored) {
    log::error("journal: unreadable cursors file, consumers start from the newest event",
               {{"path", file_.string()}});
    return;
  }
  std::lock_guard lock(mu_);
  for (const auto& [name, stored_seq] : *stored) {
    std::uint64_t v = stored_seq;
    if (v > last_seq) {
      log::warn("journal: consumer cursor is past the last recovered seq",
                {{"consumer", name}, {"cursor", v}, {"last_seq", last_seq}});
      v = last_seq;
      dirty_ = true;
    }
    consumers_[name].cursor->store(v);
  }
}

ConsumerCursors::Registration ConsumerCursors::register_consumer(const std::string& name,
                                                                 std::uint64_t start) {
  Registration r;
  bool created = false;
  {
    std::lock_guard lock(mu_);
    auto [it, inserted] = consumers_.try_emplace(name);
    Consumer& c = it->second;
    if (inserted) {
      c.cursor->store(start);
      dirty_ = true;
      created = true;
    }
    if (!c.registered) {
      c.registered = true;
      r.newly_held = true;
    }
    r.cursor = c.cursor->load();
    r.value = c.cursor;
  }
  if (created) persist();
  return r;
}

bool ConsumerCursors::unregister(std::string_view name) {
  {
    std::lock_guard lock(mu_);
    auto it = consumers_.find(name);
    if (it == consumers_.end()) return false;
    consumers_.erase(it);
    dirty_ = true;
  }
  persist();
  return true;
}

std::uint64_t ConsumerCursors::cursor(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = consumers_.find(name);
  return it == consumers_.end() ? 0 : it->second.cursor->load();
}

bool ConsumerCursors::advance(std::string_view name, std::uint64_t seq) {
  std::lock_guard lock(mu_);
  auto it = consumers_.find(name);
  if (it == consumers_.end() || seq <= it->second.cursor->load()) return false;
  it->second.cursor->store(seq);
  dirty_ = true;
  return true;
}

std::optional<std::uint64_t> ConsumerCursors::min_registered() const {
  std::lock_guard lock(mu_);
  std::optional<std::uint64_t> min;
  for (const auto& [name, c] : consumers_) {
    if (!c.registered) continue;
    const std::uint64_t v = c.cursor->load();
    min = min ? std::min(*min, v) : v;
  }
  return min;
}

bool ConsumerCursors::dirty() const {
  std::lock_guard lock(mu_);
  return dirty_;
}

std::chrono::steady_clock::time_point ConsumerCursors::last_persist() const {
  std::lock_guard lock(mu_);
  return last_persist_;
}

void ConsumerCursors::persist() {
  std::lock_guard persist_lock(persist_mu_);
  CursorSnapshot snapshot;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, c] : consumers_)
      snapshot.emplace(name, c.cursor->load());
    dirty_ = false;
    last_persist_ = std::chrono::steady_clock::now();
  }
  if (auto st = write_atomic(file_, encode_cursor_file(snapshot)); !st) {
    log::error("journal: cannot persist cursors",
               {{"path", file_.string()}, {"error", st.error().message}});
    std::lock_guard lock(mu_);
    dirty_ = true;  // try again on the next tick
  }
}

}  // namespace hookd::journal_detail
