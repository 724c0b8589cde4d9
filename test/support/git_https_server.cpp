#include "support/git_https_server.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "support/runbooks_repos.h"

namespace hookd::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const TestCertificates& git_https_certificates() {
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

GitHttpsServer::GitHttpsServer(const std::string& leaf, const std::string& user,
                               const std::string& password) {
  const TestCertificates& certs = git_https_certificates();
  const fs::path& d = dir_.path();
  fs::create_directories(root());
  fs::create_directories(d / "temp");
  // openssl reads the password from a file: it may hold any character.
  write_file(d / "password", password + "\n");
  std::string hash;
  if (run_command("openssl passwd -apr1 -in '" + (d / "password").string() + "'", &hash) != 0) {
    throw std::runtime_error("openssl passwd: " + hash);
  }
  fs::remove(d / "password");
  write_file(d / "htpasswd", user + ":" + hash);

  fs::path socket = d / "fcgi.sock";
  fcgiwrap_ =
      ChildProcess({"/usr/sbin/fcgiwrap", "-s", "unix:" + socket.string()}, d / "fcgiwrap.log");
  if (!wait_until([&] { return fs::exists(socket) || !fcgiwrap_.running(); }, 10s) ||
      !fcgiwrap_.running()) {
    throw std::runtime_error("fcgiwrap did not start: " + read_file(d / "fcgiwrap.log"));
  }

  port_ = free_port();
  auto path = [&](const std::string& name) { return (d / name).string(); };
  // As root the workers would otherwise become nobody, who cannot read
  // this private directory.
  std::string run_as = ::geteuid() == 0 ? "user root;\n" : "";
  write_file(d / "nginx.conf",
             "daemon off;\nmaster_process on;\nworker_processes 1;\n" + run_as + "pid " +
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
                 std::to_string(port_) + " ssl;\n    ssl_certificate " + certs.pem(leaf).string() +
                 ";\n    ssl_certificate_key " + certs.key(leaf).string() +
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
  if (!wait_until([&] { return port_open(port_) || !nginx_.running(); }, 10s) ||
      !nginx_.running()) {
    throw std::runtime_error("nginx did not start: " + read_file(d / "nginx.out") + error_log());
  }
}

std::string GitHttpsServer::url(const std::string& repo) const {
  return "https://127.0.0.1:" + std::to_string(port_) + "/" + repo;
}

std::string GitHttpsServer::access_log() const {
  return read_file(dir_.path() / "access.log");
}

std::string GitHttpsServer::error_log() const {
  return read_file(dir_.path() / "error.log");
}

void GitHttpsServer::serve_runbooks(const std::string& name, const fs::path& work) const {
  make_runbooks_repo(work);
  git(root(), "init -q --bare -b main " + name);
  push(work, name);
}

void GitHttpsServer::push(const fs::path& work, const std::string& name) const {
  git(work, "push -q '" + (root() / name).string() + "' main");
}

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

}  // namespace hookd::test
