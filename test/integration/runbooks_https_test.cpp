// Runbooks over HTTPS against a git server set up as a deployment would run
// one: nginx terminating TLS with a certificate from a CA made here and
// checking basic auth, fcgiwrap running Debian's git-http-backend.
#include <unistd.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

#include "hookd/runbooks/runbooks.h"
#include "support/certificates.h"
#include "support/runbooks_repos.h"
#include "support/support.h"

namespace fs = std::filesystem;
namespace json = boost::json;
using hookd::RunbooksOptions;
using hookd::RunbooksSource;
using hookd::test::ChildProcess;
using hookd::test::commit_script;
using hookd::test::git;
using hookd::test::read_file;
using hookd::test::TempDir;
using hookd::test::TestCertificates;
using hookd::test::wait_for_commit;
using hookd::test::wait_for_failures;
using hookd::test::wait_until;
using hookd::test::write_file;
using namespace std::chrono_literals;

namespace {

constexpr const char* kUser = "hookd";
constexpr const char* kPassword = "Right-pw-5f0c2a";
constexpr const char* kWrongPassword = "Wrong-pw-9b17e4";

// "ca" signs "server" (127.0.0.1 and localhost) and "elsewhere" (another
// name); "other-ca" signs nothing the server uses. Made once per binary.
const TestCertificates& certs() {
  static const auto made = [] {
    auto c = std::make_unique<TestCertificates>();
    c->make_ca("ca");
    c->make_ca("other-ca");
    c->make_leaf("server", "ca",
                 "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
    c->make_leaf("elsewhere", "ca",
                 "subjectAltName=DNS:elsewhere.example\nextendedKeyUsage=serverAuth\n");
    return c;
  }();
  return *made;
}

// nginx (TLS with certs().pem(leaf), basic auth for kUser/kPassword) in
// front of fcgiwrap running git-http-backend over the bare repositories under
// root(). Its own config, logs, pid file and sockets in a temporary
// directory; both run as children of the test, in the foreground, and stop
// when this is destroyed.
class GitHttpsServer {
 public:
  explicit GitHttpsServer(const std::string& leaf) {
    const fs::path& d = dir_.path();
    fs::create_directories(root());
    fs::create_directories(d / "temp");
    std::string hash;
    if (hookd::test::run_command(std::string("openssl passwd -apr1 '") + kPassword + "'", &hash) !=
        0) {
      throw std::runtime_error("openssl passwd: " + hash);
    }
    write_file(d / "htpasswd", std::string(kUser) + ":" + hash);

    fs::path socket = d / "fcgi.sock";
    fcgiwrap_ =
        ChildProcess({"/usr/sbin/fcgiwrap", "-s", "unix:" + socket.string()}, d / "fcgiwrap.log");
    if (!wait_until([&] { return fs::exists(socket) || !fcgiwrap_.running(); }, 10s) ||
        !fcgiwrap_.running()) {
      throw std::runtime_error("fcgiwrap did not start: " + read_file(d / "fcgiwrap.log"));
    }

    port_ = hookd::test::free_port();
    auto path = [&](const std::string& name) { return (d / name).string(); };
    // As root the workers would otherwise become nobody, who cannot read
    // this private directory.
    std::string user = ::geteuid() == 0 ? "user root;\n" : "";
    write_file(d / "nginx.conf",
               "daemon off;\nmaster_process on;\nworker_processes 1;\n" + user + "pid " +
                   path("nginx.pid") + ";\nerror_log " + path("error.log") +
                   " info;\n"
                   "events { worker_connections 64; }\n"
                   "http {\n"
                   "  access_log " +
                   path("access.log") + ";\n  client_body_temp_path " + path("temp/body") +
                   ";\n  fastcgi_temp_path " + path("temp/fastcgi") + ";\n  proxy_temp_path " +
                   path("temp/proxy") + ";\n  scgi_temp_path " + path("temp/scgi") +
                   ";\n  uwsgi_temp_path " + path("temp/uwsgi") +
                   ";\n"
                   "  server {\n"
                   "    listen 127.0.0.1:" +
                   std::to_string(port_) + " ssl;\n    ssl_certificate " +
                   certs().pem(leaf).string() + ";\n    ssl_certificate_key " +
                   certs().key(leaf).string() +
                   ";\n"
                   "    location / {\n"
                   "      auth_basic runbooks;\n"
                   "      auth_basic_user_file " +
                   path("htpasswd") + ";\n      fastcgi_pass unix:" + socket.string() +
                   ";\n"
                   "      fastcgi_param SCRIPT_FILENAME /usr/lib/git-core/git-http-backend;\n"
                   "      fastcgi_param GIT_PROJECT_ROOT " +
                   root().string() +
                   ";\n"
                   "      fastcgi_param GIT_HTTP_EXPORT_ALL 1;\n"
                   "      fastcgi_param REMOTE_USER $remote_user;\n"
                   "      fastcgi_param PATH_INFO $uri;\n"
                   "      fastcgi_param QUERY_STRING $query_string;\n"
                   "      fastcgi_param REQUEST_METHOD $request_method;\n"
                   "      fastcgi_param CONTENT_TYPE $content_type;\n"
                   "      fastcgi_param CONTENT_LENGTH $content_length;\n"
                   "    }\n"
                   "  }\n"
                   "}\n");
    nginx_ = ChildProcess(
        {"/usr/sbin/nginx", "-p", d.string(), "-c", path("nginx.conf"), "-e", path("error.log")},
        d / "nginx.out");
    if (!wait_until([&] { return hookd::test::port_open(port_) || !nginx_.running(); }, 10s) ||
        !nginx_.running()) {
      throw std::runtime_error("nginx did not start: " + read_file(d / "nginx.out") + error_log());
    }
  }

  unsigned short port() const { return port_; }
  fs::path root() const { return dir_.path() / "repos"; }
  std::string url(const std::string& repo) const {
    return "https://127.0.0.1:" + std::to_string(port_) + "/" + repo;
  }
  std::string access_log() const { return read_file(dir_.path() / "access.log"); }
  std::string error_log() const { return read_file(dir_.path() / "error.log"); }

  // A bare repository root()/<name> with the runbooks of make_runbooks_repo,
  // pushed from the work tree `work` (made here).
  void serve_runbooks(const std::string& name, const fs::path& work) const {
    hookd::test::make_runbooks_repo(work);
    git(root(), "init -q --bare -b main " + name);
    push(work, name);
  }
  void push(const fs::path& work, const std::string& name) const {
    git(work, "push -q '" + (root() / name).string() + "' main");
  }

 private:
  TempDir dir_;  // first: outlives both processes
  ChildProcess fcgiwrap_;
  ChildProcess nginx_;  // after fcgiwrap: stopped before it
  unsigned short port_ = 0;
};

RunbooksOptions https_options(const GitHttpsServer& server, const fs::path& data) {
  auto o = hookd::test::runbooks_test_options(server.url("runbooks.git"), data);
  o.user = kUser;
  o.password = kPassword;
  o.ca_file = certs().pem("ca");
  return o;
}

// Requests in nginx's access log (combined format) by this user with this status.
int requests_logged(const std::string& access_log, const std::string& user, int status) {
  std::istringstream lines(access_log);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string address, dash, who;
    fields >> address >> dash >> who;
    auto after_request = line.find("\" ");
    if (after_request == std::string::npos || who != user) continue;
    n += std::atoi(line.c_str() + after_request + 2) == status;
  }
  return n;
}

}  // namespace

TEST_CASE("clones over HTTPS with basic auth and the test CA, then fetches a pushed commit",
          "[runbooks][https]") {
  TempDir tmp;
  GitHttpsServer server("server");
  fs::path work = tmp.path() / "work";
  server.serve_runbooks("runbooks.git", work);
  std::string first = git(work, "rev-parse HEAD");

  RunbooksSource source(https_options(server, tmp.path() / "data"));
  source.start();
  bool cloned = wait_for_commit(source, first);
  INFO(source.stats().last_error << "\n" << server.error_log());
  REQUIRE(cloned);
  auto snap = source.snapshot();
  CHECK(snap->ref == "refs/heads/main");
  REQUIRE(snap->scripts.size() == 2);
  CHECK(read_file(*snap->script_for("session.open")) == "print('open v1')\n");
  CHECK(read_file(*snap->script_for("session.close")) == "print('close v1')\n");
  // The pack came through git-http-backend, as the authenticated user.
  CHECK(requests_logged(server.access_log(), kUser, 200) >= 2);

  std::string second = commit_script(work, "session-open.runbook.py", "print('open v2')\n");
  server.push(work, "runbooks.git");
  REQUIRE(wait_for_commit(source, second));  // the TTL (1 s) passes, the next fetch has it
  auto after = source.snapshot();
  CHECK(read_file(*after->script_for("session.open")) == "print('open v2')\n");
  CHECK(*after->script_for("session.close") == *snap->script_for("session.close"));
  CHECK(read_file(*snap->script_for("session.open")) == "print('open v1')\n");
  CHECK(source.stats().fetches_failed == 0);
  CHECK(source.stats().last_error.empty());
}

TEST_CASE("a wrong password is refused with 401, counted, and never logged", "[runbooks][https]") {
  TempDir tmp;
  GitHttpsServer server("server");
  server.serve_runbooks("runbooks.git", tmp.path() / "work");

  // The real daemon, configured as an operator would: the password only in
  // the environment, the CA by flag.
  hookd::test::DaemonOptions options;
  options.args = {
      "--git-url", server.url("runbooks.git"), "--git-hook-config-ttl", "60", "--git-user", kUser,
      "--git-ca",  certs().pem("ca").string()};
  options.env = {std::string("GIT_PASSWORD=") + kWrongPassword};
  hookd::test::Daemon daemon(options);

  json::object runbooks;
  std::string ready_body;
  bool failed = wait_until([&] {
    auto ready = hookd::test::http(daemon.port(), "GET", "/readyz");
    if (ready.status == 0) return false;
    ready_body = ready.body;
    runbooks = json::parse(ready.body).at("runbooks").as_object();
    return runbooks.at("fetches_failed").to_number<std::int64_t>() >= 1;
  });
  INFO(ready_body << "\n" << daemon.log());
  REQUIRE(failed);
  CHECK(runbooks.at("commit").is_null());
  CHECK(runbooks.at("fetches_ok").to_number<std::int64_t>() == 0);
  std::string error(runbooks.at("last_error").as_string());
  CHECK(error.find("credentials refused") != std::string::npos);
  CHECK(ready_body.find("\"ready\":false") != std::string::npos);

  // nginx saw the user and answered 401: the refusal is the server's.
  CHECK(requests_logged(server.access_log(), kUser, 401) >= 1);
  CHECK(requests_logged(server.access_log(), kUser, 200) == 0);
  CHECK(server.error_log().find(std::string("user \"") + kUser + "\": password mismatch") !=
        std::string::npos);

  auto metrics = hookd::test::http(daemon.port(), "GET", "/metrics");
  CHECK(metrics.body.find("hookd_runbooks_fetches_total{result=\"failed\"}") != std::string::npos);

  CHECK(daemon.terminate() == 0);
  std::string log = daemon.log();
  bool logged = false;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    boost::system::error_code ec;
    json::value record = json::parse(line, ec);
    if (ec || !record.is_object() || !record.as_object().contains("msg") ||
        record.at("msg") != "runbooks fetch failed; keeping the last good snapshot") {
      continue;
    }
    logged = true;
    CHECK(record.at("error").as_string() == error);
  }
  CHECK(logged);
  for (const std::string& text :
       {log, ready_body, metrics.body, server.access_log(), server.error_log()}) {
    CHECK(text.find(kWrongPassword) == std::string::npos);
  }
}

TEST_CASE("a certificate the CA does not vouch for fails verification and leaves no snapshot",
          "[runbooks][https]") {
  TempDir tmp;
  std::string leaf = "server";
  std::string reason;
  std::function<void(RunbooksOptions&)> adjust;
  SECTION("signed by another CA than --git-ca") {
    adjust = [](RunbooksOptions& o) { o.ca_file = certs().pem("other-ca"); };
    reason = "unable to get local issuer certificate";
  }
  SECTION("no --git-ca: the system CAs do not know the test CA") {
    adjust = [](RunbooksOptions& o) { o.ca_file.clear(); };
    reason = "the SSL certificate is invalid";  // libgit2's own wording
  }
  SECTION("the right CA, but a certificate for another name") {
    leaf = "elsewhere";
    adjust = [](RunbooksOptions&) {};
    reason = "IP address mismatch";
  }
  GitHttpsServer server(leaf);
  server.serve_runbooks("runbooks.git", tmp.path() / "work");
  auto o = https_options(server, tmp.path() / "data");
  adjust(o);
  double failed_before = hookd::test::runbooks_fetches_failed_total();
  RunbooksSource source(o);
  source.start();
  REQUIRE(wait_for_failures(source, 1));
  std::string error = source.stats().last_error;
  INFO(error);
  CHECK(error.find(reason) != std::string::npos);
  CHECK(error.find(kPassword) == std::string::npos);
  CHECK(source.snapshot() == nullptr);
  CHECK(source.stats().fetches_ok == 0);
  CHECK(hookd::test::runbooks_fetches_failed_total() > failed_before);
  source.stop();
  // Refused at the handshake: no request, so the credentials never left.
  CHECK(server.access_log().empty());
}
