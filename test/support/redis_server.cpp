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

RedisServer::RedisServer(std::optional<RedisTlsFiles> tls)
    : tls_(std::move(tls)), port_(free_port()) {
  start();
}

std::string RedisServer::url() const {
  return (tls_ ? "rediss://127.0.0.1:" : "redis://127.0.0.1:") + std::to_string(port_);
}

void RedisServer::start() {
  std::vector<std::string> args{redis_server_path(),
                                "--bind",
                                "127.0.0.1",
                                "--dir",
                                dir_.path().string(),
                                "--appendonly",
                                "yes",
                                "--appendfsync",
                                "always",
                                "--save",
                                "",
                                "--daemonize",
                                "no"};
  if (tls_) {
    args.insert(args.end(), {"--port", "0", "--tls-port", std::to_string(port_), "--tls-cert-file",
                             tls_->cert.string(), "--tls-key-file", tls_->key.string(),
                             "--tls-ca-cert-file", tls_->ca.string(), "--tls-auth-clients", "no"});
  } else {
    args.insert(args.end(), {"--port", std::to_string(port_)});
  }
  process_ = ChildProcess(args, dir_.path() / "redis.log");
  bool up = wait_until([&] { return !process_.running() || cli("PING") == "PONG"; },
                       std::chrono::seconds(20));
  if (!up || !process_.running()) throw std::runtime_error("redis-server did not start: " + log());
}

void RedisServer::kill9() {
  process_.kill9();
}

std::string RedisServer::cli(const std::string& args) const {
  std::string out;
  std::string tls = tls_ ? " --tls --cacert " + tls_->ca.string() : "";
  run_command("redis-cli" + tls + " -p " + std::to_string(port_) + " " + args + " 2>&1", &out);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
    out.pop_back();
  return out;
}

std::string RedisServer::log() const {
  return read_file(dir_.path() / "redis.log");
}

}  // namespace hookd::test
