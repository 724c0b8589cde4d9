#include "support/support.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace hookd::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "hookd-test-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_file(const std::filesystem::path& path, const std::string& content) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

std::filesystem::path fixtures_dir() {
  return HOOKD_FIXTURES_DIR;
}

std::string fixture(const std::string& name) {
  auto path = fixtures_dir() / name;
  if (!std::filesystem::exists(path)) throw std::runtime_error("missing fixture " + path.string());
  return read_file(path);
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int run_command(const std::string& command, std::string* output) {
  std::string full = command + " 2>&1";
  FILE* pipe = popen(full.c_str(), "r");
  if (!pipe) return -1;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) {
    if (output) output->append(buf, n);
  }
  int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv,
                           const std::filesystem::path& output,
                           const std::vector<std::string>& env) {
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  auto name_of = [](const std::string& entry) { return entry.substr(0, entry.find('=')); };
  std::vector<std::string> env_strings = env;
  for (char** e = environ; *e; ++e) {
    std::string entry(*e);
    bool replaced = std::any_of(env.begin(), env.end(),
                                [&](const std::string& o) { return name_of(o) == name_of(entry); });
    if (!replaced) env_strings.push_back(std::move(entry));
  }
  std::vector<char*> envp;
  for (auto& e : env_strings)
    envp.push_back(e.data());
  envp.push_back(nullptr);

  const char* out = output.empty() ? "/dev/null" : output.c_str();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  pid_ = pid;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) terminate();
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept : pid_(other.pid_) {
  other.pid_ = -1;
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0) terminate();
    pid_ = other.pid_;
    other.pid_ = -1;
  }
  return *this;
}

bool ChildProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

int ChildProcess::wait_for_exit(std::chrono::milliseconds timeout) {
  int status = 0;
  bool exited = wait_until([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, timeout);
  if (!exited) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int ChildProcess::terminate() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  // Generous: under ASan a loaded box can take seconds for the leak check at
  // exit alone, and only the exit code is asked for.
  return wait_for_exit(std::chrono::seconds(30));
}

void ChildProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  wait_for_exit(std::chrono::seconds(10));
}

Daemon::Daemon(DaemonOptions options) : options_(std::move(options)) {
  if (options_.data_dir.empty()) {
    owned_dir_ = std::make_unique<TempDir>();
    data_dir_ = owned_dir_->path() / "data";
  } else {
    data_dir_ = options_.data_dir;
  }
  log_path_ = data_dir_.parent_path() / ("hookd-" + data_dir_.filename().string() + ".log");
  start();
}

Daemon::~Daemon() = default;

void Daemon::start() {
  std::filesystem::create_directories(data_dir_);
  auto port_file = data_dir_.parent_path() / ("port-" + data_dir_.filename().string());
  std::filesystem::remove(port_file);

  std::vector<std::string> args = {
      options_.binary, "--listen",         "127.0.0.1:0", "--port-file", port_file.string(),
      "--data-dir",    data_dir_.string(), "--threads",   "2",           "--log-format",
      "json"};
  args.insert(args.end(), options_.args.begin(), options_.args.end());
  process_ = ChildProcess(args, log_path_, options_.env);

  bool up = wait_until(
      [&] {
        if (!running()) return true;
        auto text = read_file(port_file);
        return !text.empty() && text.back() == '\n';
      },
      std::chrono::seconds(30));
  if (!up || !running()) {
    throw std::runtime_error("hookd did not start; log:\n" + log());
  }
  port_ = static_cast<unsigned short>(std::stoi(read_file(port_file)));
}

std::string Daemon::log() const {
  return read_file(log_path_);
}

void Daemon::restart() {
  if (running()) terminate();
  start();
}

namespace {

Reply to_reply(bhttp::response<bhttp::string_body>& res) {
  Reply reply;
  reply.status = static_cast<int>(res.result_int());
  for (const auto& field : res) {
    std::string name(field.name_string());
    for (auto& ch : name)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    reply.headers[name] = std::string(field.value());
  }
  reply.body = res.body();
  return reply;
}

bhttp::request<bhttp::string_body> make_request(
    const std::string& method, const std::string& target, const std::string& body,
    const std::vector<std::pair<std::string, std::string>>& headers, const std::string& host) {
  bhttp::request<bhttp::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(bhttp::field::host, host);
  for (const auto& [k, v] : headers)
    req.set(k, v);
  req.body() = body;
  if (!body.empty() || method == "POST" || method == "PUT") req.prepare_payload();
  return req;
}

}  // namespace

// Every operation runs asynchronously on the connection's own io_context:
// Beast's tcp_stream deadlines (expires_after) bound async operations only,
// a synchronous read on the same stream would wait forever.
struct HttpConnection::Impl {
  asio::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
  std::string host;  // the Host header: address:port
  std::chrono::milliseconds timeout{};
  bool open = false;

  // Starts one operation with the deadline set and runs until it completes
  // (or the deadline closes the socket, which completes it with a timeout).
  template <class Start>
  beast::error_code run(Start&& start) {
    beast::error_code result = asio::error::would_block;
    stream.expires_after(timeout);
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    io.restart();
    io.run();
    return result;
  }
};

HttpConnection::HttpConnection(unsigned short port, std::chrono::milliseconds timeout,
                               const std::string& address)
    : impl_(std::make_unique<Impl>()) {
  impl_->timeout = timeout;
  beast::error_code ec;
  const auto ip = asio::ip::make_address(address, ec);
  if (ec) return;
  impl_->host = (ip.is_v6() ? "[" + address + "]" : address) + ":" + std::to_string(port);
  ec = impl_->run([&](auto handler) {
    impl_->stream.async_connect(tcp::endpoint(ip, port), std::move(handler));
  });
  impl_->open = !ec;
}

HttpConnection::~HttpConnection() {
  beast::error_code ec;
  impl_->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
}

bool HttpConnection::is_open() const {
  return impl_->open;
}

void HttpConnection::write_raw(const std::string& bytes) {
  auto ec = impl_->run([&](auto handler) {
    asio::async_write(impl_->stream, asio::buffer(bytes), std::move(handler));
  });
  if (ec) impl_->open = false;
}

Reply HttpConnection::read_reply() {
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(256ull << 20);
  parser.header_limit(1 << 20);
  auto ec = impl_->run([&](auto handler) {
    bhttp::async_read(impl_->stream, impl_->buffer, parser, std::move(handler));
  });
  if (ec) {
    impl_->open = false;
    return Reply{0, {}, ec.message()};
  }
  auto res = parser.release();
  if (!res.keep_alive()) impl_->open = false;
  return to_reply(res);
}

Reply HttpConnection::request(const std::string& method, const std::string& target,
                              const std::string& body,
                              const std::vector<std::pair<std::string, std::string>>& headers) {
  if (!impl_->open) return Reply{0, {}, "connection closed"};
  auto req = make_request(method, target, body, headers, impl_->host);
  auto ec =
      impl_->run([&](auto handler) { bhttp::async_write(impl_->stream, req, std::move(handler)); });
  if (ec) {
    impl_->open = false;
    return Reply{0, {}, ec.message()};
  }
  return read_reply();
}

Reply http(unsigned short port, const std::string& method, const std::string& target,
           const std::string& body,
           const std::vector<std::pair<std::string, std::string>>& headers) {
  HttpConnection connection(port);
  if (!connection.is_open()) return Reply{0, {}, "connect failed"};
  auto h = headers;
  h.emplace_back("Connection", "close");
  return connection.request(method, target, body, h);
}

bool has_ipv6_loopback() {
  // One line per IPv6 address: the address in 32 hex digits first.
  std::istringstream lines(read_file("/proc/net/if_inet6"));
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("00000000000000000000000000000001 ", 0) == 0) return true;
  }
  return false;
}

unsigned short free_port() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

bool port_open(unsigned short port) {
  asio::io_context io;
  tcp::socket socket(io);
  beast::error_code ec;
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  return !ec;
}

}  // namespace hookd::test
