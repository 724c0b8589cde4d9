// EndpointState: what an endpoint keeps across restarts besides its journal
// cursor and dead letters: whether it is disabled (after a 410 Gone), why and
// since when, in <dir>/<endpoint>.state.json. The text format is pure
// functions (thread-safe); EndpointStateFile keeps one endpoint's file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace hookd {

class BlockingIoThread;

struct EndpointState {
  bool disabled = false;
  std::string reason;  // empty while enabled
  std::string at;      // RFC 3339; empty while enabled

  bool operator==(const EndpointState&) const = default;
};

// nullopt when the text is not a JSON object; unknown or mistyped fields are
// left at their defaults.
std::optional<EndpointState> parse_endpoint_state(std::string_view text);

// The file's text: {"disabled":…,"reason":…,"at":…} and a newline.
std::string endpoint_state_text(const EndpointState& state);

// EndpointStateFile: one endpoint's state, loaded at start and rewritten
// atomically on the BlockingIoThread after every change. Not thread-safe:
// the endpoint worker owns it.
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

 private:
  std::shared_ptr<BlockingIoThread> files_;
  std::filesystem::path file_;
  std::string endpoint_;
  EndpointState state_;
};

}  // namespace hookd
