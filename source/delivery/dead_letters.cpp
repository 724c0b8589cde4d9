#include "hookd/delivery/dead_letters.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <unordered_map>

#include "hookd/core/durable_file.h"
#include "hookd/core/log.h"
#include "hookd/delivery/blocking_io_thread.h"

namespace hookd {

namespace json = boost::json;

namespace {

std::string string_field(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

template <typename Number>
Number number_field(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v || !v->is_number()) return 0;
  boost::system::error_code ec;
  Number n = v->to_number<Number>(ec);
  return ec ? 0 : n;
}

}  // namespace

std::string dead_letter_line(const DeadLetter& letter) {
  json::object o;
  o["id"] = letter.id;
  o["type"] = letter.type;
  o["seq"] = letter.seq;
  o["arrival_unix_ms"] = letter.arrival_unix_ms;
  o["time_ms"] = letter.time_ms;
  o["dead_at"] = letter.dead_at;
  o["attempts"] = letter.attempts;
  o["last_error"] = letter.last_error;
  o["event"] = letter.event_json;
  return json::serialize(o) + "\n";
}

std::string tombstone_line(std::string_view id) {
  json::object o;
  o["removed"] = id;
  return json::serialize(o) + "\n";
}

DeadLetterScan parse_dead_letters(std::string_view text) {
  DeadLetterScan out;
  std::unordered_map<std::string, std::size_t> where;
  std::vector<std::optional<DeadLetter>> slots;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (line.empty()) continue;
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    if (ec || !v.is_object() || nl == std::string_view::npos) {
      ++out.stale_lines;  // a torn tail or damage: the record never became durable
      continue;
    }
    const auto& o = v.as_object();
    if (auto* removed = o.if_contains("removed"); removed && removed->is_string()) {
      ++out.stale_lines;
      auto found = where.find(std::string(removed->as_string()));
      if (found != where.end()) {
        slots[found->second].reset();
        ++out.stale_lines;
        where.erase(found);
      }
      continue;
    }
    auto* id = o.if_contains("id");
    auto* event = o.if_contains("event");
    if (!id || !id->is_string() || !event || !event->is_string()) {
      ++out.stale_lines;
      continue;
    }
    DeadLetter letter;
    letter.id = std::string(id->as_string());
    letter.event_json = std::string(event->as_string());
    letter.type = string_field(o, "type");
    letter.seq = number_field<std::uint64_t>(o, "seq");
    letter.arrival_unix_ms = number_field<std::int64_t>(o, "arrival_unix_ms");
    letter.time_ms = number_field<std::int64_t>(o, "time_ms");
    letter.dead_at = string_field(o, "dead_at");
    letter.attempts = number_field<std::size_t>(o, "attempts");
    letter.last_error = string_field(o, "last_error");
    auto found = where.find(letter.id);
    if (found != where.end()) {
      slots[found->second] = std::move(letter);
      ++out.stale_lines;
    } else {
      where.emplace(letter.id, slots.size());
      slots.push_back(std::move(letter));
    }
  }
  for (auto& s : slots) {
    if (s) out.live.push_back(std::move(*s));
  }
  return out;
}

std::string dead_letters_text(const std::vector<DeadLetter>& live) {
  std::string out;
  for (const auto& letter : live)
    out += dead_letter_line(letter);
  return out;
}

DeadLetterStore::DeadLetterStore(boost::asio::io_context& io,
                                 std::shared_ptr<BlockingIoThread> files,
                                 std::filesystem::path file, std::string endpoint)
    : io_(io), files_(std::move(files)), file_(std::move(file)), endpoint_(std::move(endpoint)) {}

Status DeadLetterStore::load() {
  auto text = read_whole_file(file_);
  if (!text) return Ok{};
  DeadLetterScan scan = parse_dead_letters(*text);
  if (scan.stale_lines > 0) {
    // Compact while blocking is allowed: drops removed records and a torn tail.
    if (Status st = write_atomic(file_, dead_letters_text(scan.live)); !st) {
      return make_error("endpoint " + json::serialize(json::string(endpoint_)) +
                        ": dead letters: " + st.error().message);
    }
  }
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& letter : scan.live)
    ids_.insert(letter.id);
  return Ok{};
}

void DeadLetterStore::append(std::string lines, std::function<void(Status)> done) {
  ++appends_in_flight_;
  std::weak_ptr<DeadLetterStore> weak = weak_from_this();
  boost::asio::io_context* io = &io_;
  files_->post([weak, io, path = file_, lines = std::move(lines), done = std::move(done)] {
    Status st = lines.empty() ? Status(Ok{}) : append_durable(path, lines);
    boost::asio::post(*io, [weak, done, st] {
      if (auto self = weak.lock()) --self->appends_in_flight_;
      done(st);
    });
  });
}

std::size_t DeadLetterStore::add(const std::vector<std::string>& ids) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& id : ids)
    ids_.insert(id);
  return ids_.size();
}

std::optional<std::size_t> DeadLetterStore::remove(const std::vector<std::string>& ids) {
  std::string tombstones;
  std::size_t left = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!ids_.empty()) {
      for (const auto& id : ids) {
        if (ids_.erase(id) != 0) tombstones += tombstone_line(id);
      }
    }
    left = ids_.size();
  }
  if (tombstones.empty()) return std::nullopt;
  // An append still on its way counts as a dead letter: never truncate under it.
  const bool now_empty = left + appends_in_flight_ == 0;
  files_->post([path = file_, name = endpoint_, tombstones = std::move(tombstones), now_empty] {
    Status st = now_empty ? write_atomic(path, "") : append_durable(path, tombstones);
    if (!st) {
      log::error("delivery: dead-letter update failed",
                 {{"endpoint", name}, {"error", st.error().message}});
    }
  });
  return left;
}

void DeadLetterStore::read(std::function<void(std::vector<DeadLetter>)> done) {
  boost::asio::io_context* io = &io_;
  files_->post([io, path = file_, done = std::move(done)]() mutable {
    auto text = read_whole_file(path);
    auto scan = std::make_shared<DeadLetterScan>(parse_dead_letters(text ? *text : ""));
    boost::asio::post(*io, [scan, done = std::move(done)] { done(std::move(scan->live)); });
  });
}

bool DeadLetterStore::contains(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return ids_.count(id) != 0;
}

std::size_t DeadLetterStore::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return ids_.size();
}

}  // namespace hookd
