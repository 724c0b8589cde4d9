#include "support/redis_server.h"

#include <stdexcept>

namespace hookd::test {

namespace {

// posix_spawn searches no PATH: the absolute path, or empty.
std::string redis_server_path() {
  std::string out;
  if (run_command("command -v redis-server", &out) != 0) return {};
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
    out.pop_back();
  return out;
}

}  // namespace

bool RedisServer::available() {
  return !redis_server_path().empty() && run_command("command -v redis-cli >/dev/null") == 0;
}

RedisServer::RedisServer() : port_(free_port()) {
  start();
}

void RedisServer::start() {
  process_ = ChildProcess({redis_server_path(), "--port", std::to_string(port_), "--bind",
                           "127.0.0.1", "--dir", dir_.path().string(), "--appendonly", "yes",
                           "--appendfsync", "always", "--save", "", "--daemonize", "no"},
                          dir_.path() / "redis.log");
  bool up = wait_until([&] { return !process_.running() || cli("PING") == "PONG"; },
                       std::chrono::seconds(20));
  if (!up || !process_.running()) throw std::runtime_error("redis-server did not start: " + log());
}

void RedisServer::kill9() {
  process_.kill9();
}

std::string RedisServer::cli(const std::string& args) const {
  std::string out;
  run_command("redis-cli -p " + std::to_string(port_) + " " + args + " 2>&1", &out);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
    out.pop_back();
  return out;
}

std::string RedisServer::log() const {
  return read_file(dir_.path() / "redis.log");
}

}  // namespace hookd::test
