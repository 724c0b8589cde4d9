// Test support: temporary directories, fixtures, the real hookd binary as a
// child process, and a small blocking HTTP client for 127.0.0.1.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace hookd::test {

// A fresh directory under /tmp, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, const std::string& content);
// Contents of ../shared/fixtures/<name>.
std::string fixture(const std::string& name);
std::filesystem::path fixtures_dir();

// Polls `condition` every 20 ms until it holds or `timeout` passes. For
// waiting on eventual effects only; never to assert on speed.
bool wait_until(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(20));

// Runs a command through /bin/sh, returns its exit code; output to `output`.
int run_command(const std::string& command, std::string* output = nullptr);

// A child process started with posix_spawn (no shell): stdin /dev/null,
// stdout and stderr appended to `output` (or discarded), the environment
// inherited with `env` ("NAME=value") entries replacing same-named ones.
// Stopped (SIGTERM, SIGKILL after 10 s) and reaped when destroyed, so a
// failing test leaves nothing running.
class ChildProcess {
 public:
  ChildProcess() = default;
  // Throws std::runtime_error when the spawn fails.
  explicit ChildProcess(const std::vector<std::string>& argv,
                        const std::filesystem::path& output = {},
                        const std::vector<std::string>& env = {});
  ~ChildProcess();
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;

  int pid() const { return pid_; }
  bool running();
  // SIGTERM, wait (SIGKILL after 10 s); the exit code, 128+signal if killed.
  int terminate();
  // SIGKILL and wait.
  void kill9();

 private:
  int wait_for_exit(std::chrono::milliseconds timeout);
  int pid_ = -1;
};

struct DaemonOptions {
  std::vector<std::string> args;   // extra flags, appended
  std::vector<std::string> env;    // extra "NAME=value" entries
  std::filesystem::path data_dir;  // empty: a TempDir owned by the Daemon
  std::string binary = HOOKD_BINARY;
};

// The real hookd, started with --listen 127.0.0.1:0 --port-file ... and
// --data-dir; stderr (JSON logs) goes to a file readable with log().
class Daemon {
 public:
  explicit Daemon(DaemonOptions options = {});
  ~Daemon();  // SIGTERM, then SIGKILL after 10 s
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  unsigned short port() const { return port_; }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  int pid() const { return process_.pid(); }
  bool running() { return process_.running(); }
  std::string log() const;

  // SIGTERM and wait; returns the exit code (128+signal if killed).
  int terminate() { return process_.terminate(); }
  // SIGKILL and wait.
  void kill9() { process_.kill9(); }
  // Starts again on the same data dir and flags (after terminate/kill9).
  void restart();

 private:
  void start();
  DaemonOptions options_;
  std::unique_ptr<TempDir> owned_dir_;
  std::filesystem::path data_dir_;
  std::filesystem::path log_path_;
  ChildProcess process_;
  unsigned short port_ = 0;
};

struct Reply {
  int status = 0;                              // 0: transport error (see body)
  std::map<std::string, std::string> headers;  // names lower-case
  std::string body;
};

// One request on a fresh connection to 127.0.0.1:port.
Reply http(unsigned short port, const std::string& method, const std::string& target,
           const std::string& body = "",
           const std::vector<std::pair<std::string, std::string>>& headers = {});

// GET /v1/events/{id} and /v1/endpoints need a bearer token: a test that
// reads them starts hookd with read_token_flags() (an --api-token) and sends
// read_auth(), as authorized_get() does.
inline const std::string kReadToken = "hookd-test-read-token";
inline std::vector<std::string> read_token_flags() {
  return {"--api-token", kReadToken};
}
// "Authorization: Bearer <token>", as one header for http().
inline std::vector<std::pair<std::string, std::string>> bearer_auth(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}
inline std::vector<std::pair<std::string, std::string>> read_auth() {
  return bearer_auth(kReadToken);
}
inline Reply authorized_get(unsigned short port, const std::string& target) {
  return http(port, "GET", target, "", read_auth());
}
inline DaemonOptions with_read_token(DaemonOptions options) {
  for (auto& flag : read_token_flags())
    options.args.push_back(flag);
  return options;
}

inline Reply post_json(unsigned short port, const std::string& target, const std::string& body,
                       std::vector<std::pair<std::string, std::string>> headers = {}) {
  headers.emplace_back("Content-Type", "application/json");
  return http(port, "POST", target, body, headers);
}

// How long one connect, write or read of HttpConnection (and http()) may
// take before it fails with a timeout error (status 0), so a server that
// never answers fails the test instead of hanging it.
inline constexpr std::chrono::milliseconds kHttpTimeout = std::chrono::seconds(30);

// A keep-alive connection, for pipelining and connection-reuse tests. Each
// operation is bounded by `timeout`; after a failed one the connection is
// closed (is_open() false).
class HttpConnection {
 public:
  explicit HttpConnection(unsigned short port, std::chrono::milliseconds timeout = kHttpTimeout,
                          const std::string& address = "127.0.0.1");
  ~HttpConnection();
  Reply request(const std::string& method, const std::string& target, const std::string& body = "",
                const std::vector<std::pair<std::string, std::string>>& headers = {});
  // Writes raw bytes; reads one response.
  void write_raw(const std::string& bytes);
  Reply read_reply();
  bool is_open() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Whether this machine has the IPv6 loopback address ::1 (/proc/net/if_inet6).
bool has_ipv6_loopback();

// A free TCP port on 127.0.0.1 (bound then released).
unsigned short free_port();
// Whether something accepts TCP connections on 127.0.0.1:port.
bool port_open(unsigned short port);

}  // namespace hookd::test
