// EndpointState: what an endpoint keeps across restarts besides its journal
// cursor and dead letters: whether it is disabled (after a 410 Gone), why and
// since when, in <dir>/<endpoint>.state.json. With --queue the same text is
// also a field every node reads (SharedTally), and the newest change wins.
// The text format is pure functions (thread-safe); EndpointStateFile keeps
// one endpoint's file.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace hookd {

class BlockingIoThread;
class SharedTally;

struct EndpointState {
  bool disabled = false;
  std::string reason;  // empty while enabled
  std::string at;      // RFC 3339; empty while enabled
  // When it last changed (unix ms), on whichever node: orders the changes
  // nodes make. 0: never changed (or a file from before it was kept).
  std::int64_t changed_ms = 0;

  bool operator==(const EndpointState&) const = default;
};

// nullopt when the text is not a JSON object; unknown or mistyped fields are
// left at their defaults.
std::optional<EndpointState> parse_endpoint_state(std::string_view text);

// The file's text: {"disabled":…,"reason":…,"at":…,"changed_ms":…} and a newline.
std::string endpoint_state_text(const EndpointState& state);

// EndpointStateFile: one endpoint's state, loaded at start and rewritten
// atomically on the BlockingIoThread after every change; with a SharedTally
// also written to the field "state" of the endpoint's key, where refresh()
// finds the changes other nodes made. Not thread-safe: the endpoint worker
// owns it.
class EndpointStateFile {
 public:
  // `endpoint` names the endpoint in logs.
  EndpointStateFile(std::shared_ptr<BlockingIoThread> files, std::filesystem::path file,
                    std::string endpoint);

  // Blocking. A missing file is the default state; an unreadable one is
  // logged and ignored.
  void load();

  const EndpointState& state() const { return state_; }
  bool disabled() const { return state_.disabled; }

  // Disables (with `reason`, at `now_ms`) or enables the endpoint, logs and
  // saves the change. False when it was already so.
  bool set_disabled(bool disabled, std::string reason, std::int64_t now_ms);

  // Takes another node's state when it changed later than this one; logs
  // and saves it. True when the disabled flag changed.
  bool adopt(const EndpointState& newer);

  // After load(): changes go to `tally` too, under `key`.
  void share_through(std::shared_ptr<SharedTally> tally, std::string key);

  // Adopts a newer state another node shared, or shares this one again when
  // it is newer than the shared one (its write was lost). Looks at most
  // every kRefreshEvery, so it may be called on every turn of the loop.
  // True when the disabled flag changed.
  static constexpr std::chrono::milliseconds kRefreshEvery{250};
  bool refresh();

 private:
  void save();
  void share();

  std::shared_ptr<BlockingIoThread> files_;
  std::filesystem::path file_;
  std::string endpoint_;
  EndpointState state_;
  std::shared_ptr<SharedTally> tally_;
  std::string tally_key_;
  std::chrono::steady_clock::time_point refreshed_{};
};

}  // namespace hookd
