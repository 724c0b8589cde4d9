// Runbooks source against real git repositories made with the git CLI: local
// paths, file://, a real git daemon, a server that never answers, a corrupt
// remote and one that goes away and comes back.
#include "hookd/runbooks/runbooks.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <future>
#include <sstream>
#include <string>

#include "hookd/core/metrics.h"
#include "hookd/runbooks/known_hosts.h"
#include "support/runbooks_repos.h"
#include "support/skip.h"
#include "support/support.h"

namespace fs = std::filesystem;
using hookd::RunbooksOptions;
using hookd::RunbooksSource;
using hookd::test::commit_script;
using hookd::test::git;
using hookd::test::make_runbooks_repo;
using hookd::test::port_open;
using hookd::test::read_file;
using hookd::test::run_command;
using hookd::test::runbooks_fetches_failed_total;
using hookd::test::runbooks_test_options;
using hookd::test::TempDir;
using hookd::test::wait_for_commit;
using hookd::test::wait_for_failures;
using hookd::test::wait_until;
using hookd::test::write_file;
using namespace std::chrono_literals;

namespace {

std::string quote(const fs::path& p) {
  return "'" + p.string() + "'";
}

double timeouts_total() {
  return hookd::metrics()
      .counter("hookd_runbooks_fetch_timeouts_total",
               "Runbooks fetches cancelled at --git-fetch-timeout")
      .value();
}

// Accepts TCP connections (the kernel completes them) and never says a word.
class SilentServer {
 public:
  SilentServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentServer() { ::close(fd_); }
  unsigned short port() const { return port_; }

 private:
  int fd_;
  unsigned short port_;
};

}  // namespace

TEST_CASE("clones a local path or file:// URL and serves the hook scripts", "[runbooks]") {
  TempDir tmp;
  fs::path remote = tmp.path() / "remote";
  make_runbooks_repo(remote);
  std::string head = git(remote, "rev-parse HEAD");
  std::string url = GENERATE(as<std::string>{}, "path", "file");
  if (url == "path")
    url = remote.string();
  else
    url = "file://" + remote.string();

  RunbooksSource source(runbooks_test_options(url, tmp.path() / "data"));
  CHECK(source.snapshot() == nullptr);
  CHECK_FALSE(source.refresh_now());  // not started yet
  source.start();
  REQUIRE(wait_for_commit(source, head));

  auto snap = source.snapshot();
  CHECK(snap->ref == "refs/heads/main");
  CHECK(snap->fetched_unix_ms > 0);
  REQUIRE(snap->scripts.size() == 2);
  auto open = snap->script_for("session.open");
  auto close = snap->script_for("session.close");
  REQUIRE(open);
  REQUIRE(close);
  CHECK(read_file(*open) == "print('open v1')\n");
  CHECK(read_file(*close) == "print('close v1')\n");
  CHECK(open->parent_path() == tmp.path() / "data" / "runbooks" / "scripts");
  CHECK(open->filename().string() ==
        git(remote, "rev-parse HEAD:hoop-hooks/session-open.runbook.py") + ".runbook.py");
  CHECK_FALSE(snap->script_for("dbroles.job.finished"));

  auto status = boost::json::parse(source.status_json()).as_object();
  CHECK(status.at("commit").as_string() == head);
  CHECK(status.at("scripts").as_int64() == 2);
  CHECK(status.at("last_error").is_null());
  CHECK(status.at("fetches_ok").to_number<std::int64_t>() >= 1);
  CHECK(hookd::metrics().render().find("hookd_runbooks_snapshot_age_seconds") != std::string::npos);
  source.stop();
  CHECK_FALSE(source.refresh_now());
}

TEST_CASE("a committed change is served after the TTL and the old copy stays", "[runbooks]") {
  TempDir tmp;
  fs::path remote = tmp.path() / "remote";
  make_runbooks_repo(remote);
  RunbooksSource source(runbooks_test_options(remote.string(), tmp.path() / "data"));
  source.start();
  REQUIRE(wait_for_commit(source, git(remote, "rev-parse HEAD")));
  auto before = source.snapshot();
  fs::path old_open = *before->script_for("session.open");

  std::string next = commit_script(remote, "session-open.runbook.py", "print('open v2')\n");
  REQUIRE(wait_for_commit(source, next));  // within ttl (1 s) plus a fetch
  auto after = source.snapshot();
  auto new_open = after->script_for("session.open");
  REQUIRE(new_open);
  CHECK(*new_open != old_open);
  CHECK(read_file(*new_open) == "print('open v2')\n");
  CHECK(read_file(old_open) == "print('open v1')\n");  // a hook still running it is unaffected
  CHECK(*after->script_for("session.close") == *before->script_for("session.close"));
  CHECK(read_file(*before->script_for("session.open")) == "print('open v1')\n");

  // A fetch that finds nothing new re-confirms the snapshot.
  auto confirmed = after->fetched_unix_ms;
  REQUIRE(wait_until([&] { return source.snapshot()->fetched_unix_ms > confirmed; }));
  CHECK(source.snapshot()->commit_id == next);
}

TEST_CASE("a repository without hoop-hooks gives an empty snapshot", "[runbooks]") {
  TempDir tmp;
  fs::path remote = tmp.path() / "remote";
  make_runbooks_repo(remote, false);
  RunbooksSource source(runbooks_test_options(remote.string(), tmp.path() / "data"));
  source.start();
  REQUIRE(wait_for_commit(source, git(remote, "rev-parse HEAD")));
  CHECK(source.snapshot()->scripts.empty());
  CHECK_FALSE(source.snapshot()->script_for("session.open"));
}

TEST_CASE("the branch option picks a branch and a missing branch fails", "[runbooks]") {
  TempDir tmp;
  fs::path remote = tmp.path() / "remote";
  make_runbooks_repo(remote);
  git(remote, "checkout -q -b ops");
  std::string ops = commit_script(remote, "session-open.runbook.py", "print('ops')\n");
  git(remote, "checkout -q main");

  SECTION("existing branch") {
    auto o = runbooks_test_options(remote.string(), tmp.path() / "data");
    o.branch = "ops";
    RunbooksSource source(o);
    source.start();
    REQUIRE(wait_for_commit(source, ops));
    CHECK(source.snapshot()->ref == "refs/heads/ops");
    CHECK(read_file(*source.snapshot()->script_for("session.open")) == "print('ops')\n");
  }
  SECTION("detached HEAD on the remote") {
    git(remote, "checkout -q --detach");
    std::string detached = commit_script(remote, "session-close.runbook.py", "print('det')\n");
    RunbooksSource source(runbooks_test_options(remote.string(), tmp.path() / "data"));
    source.start();
    REQUIRE(wait_for_commit(source, detached));
    CHECK(source.snapshot()->ref == "HEAD");
    CHECK(read_file(*source.snapshot()->script_for("session.close")) == "print('det')\n");
  }
  SECTION("missing branch") {
    auto o = runbooks_test_options(remote.string(), tmp.path() / "data");
    o.branch = "gone";
    RunbooksSource source(o);
    source.start();
    REQUIRE(wait_for_failures(source, 1));
    CHECK(source.snapshot() == nullptr);
    CHECK(source.stats().last_error.find("refs/heads/gone not found") != std::string::npos);
  }
}

TEST_CASE("an unreachable remote keeps the last good snapshot and recovers when back",
          "[runbooks]") {
  TempDir tmp;
  fs::path remote = tmp.path() / "remote";
  fs::path away = tmp.path() / "away";
  make_runbooks_repo(remote);
  std::string first = git(remote, "rev-parse HEAD");
  RunbooksSource source(runbooks_test_options("file://" + remote.string(), tmp.path() / "data"));
  source.start();
  REQUIRE(wait_for_commit(source, first));

  double failed_before = runbooks_fetches_failed_total();
  auto failures_before = source.stats().fetches_failed;
  fs::rename(remote, away);
  source.refresh_now();
  REQUIRE(wait_for_failures(source, failures_before + 1));
  CHECK(source.snapshot()->commit_id == first);
  CHECK(read_file(*source.snapshot()->script_for("session.open")) == "print('open v1')\n");
  CHECK(runbooks_fetches_failed_total() > failed_before);
  auto status = boost::json::parse(source.status_json()).as_object();
  CHECK(status.at("commit").as_string() == first);
  CHECK(status.at("last_error").is_string());

  fs::rename(away, remote);
  std::string second = commit_script(remote, "session-open.runbook.py", "print('back')\n");
  source.refresh_now();
  REQUIRE(wait_for_commit(source, second));
  CHECK(source.stats().last_error.empty());
  CHECK(source.stats().consecutive_failures == 0);
}

TEST_CASE("a restart serves the snapshot kept in the local clone while the remote is down",
          "[runbooks]") {
  TempDir tmp;
  fs::path remote = tmp.path() / "remote";
  make_runbooks_repo(remote);
  std::string head = git(remote, "rev-parse HEAD");
  auto o = runbooks_test_options(remote.string(), tmp.path() / "data");
  {
    RunbooksSource source(o);
    source.start();
    REQUIRE(wait_for_commit(source, head));
  }
  fs::rename(remote, tmp.path() / "away");
  RunbooksSource again(o);
  again.start();
  REQUIRE(wait_for_commit(again, head));
  REQUIRE(wait_for_failures(again, 1));
  CHECK(again.snapshot()->commit_id == head);
  CHECK(read_file(*again.snapshot()->script_for("session.close")) == "print('close v1')\n");

  // Another URL: the kept clone is not reused.
  fs::path other = tmp.path() / "other";
  make_runbooks_repo(other, false);
  auto o2 = runbooks_test_options(other.string(), tmp.path() / "data");
  again.stop();
  RunbooksSource third(o2);
  third.start();
  REQUIRE(wait_for_commit(third, git(other, "rev-parse HEAD")));
  CHECK(third.snapshot()->scripts.empty());
}

TEST_CASE("a damaged local clone is replaced by a fresh one", "[runbooks]") {
  TempDir tmp;
  fs::path remote = tmp.path() / "remote";
  make_runbooks_repo(remote);
  std::string head = git(remote, "rev-parse HEAD");
  auto o = runbooks_test_options(remote.string(), tmp.path() / "data");
  fs::path clone = o.dir / "repo";
  {
    RunbooksSource source(o);
    source.start();
    REQUIRE(wait_for_commit(source, head));
  }
  SECTION("objects gone") {
    fs::remove_all(clone / "objects");
  }
  SECTION("pack truncated") {
    for (auto& e : fs::recursive_directory_iterator(clone / "objects")) {
      if (e.is_regular_file()) {
        fs::permissions(e.path(), fs::perms::owner_write, fs::perm_options::add);
        fs::resize_file(e.path(), 10);
      }
    }
  }
  fs::remove_all(o.dir / "scripts");
  RunbooksSource again(o);
  again.start();
  REQUIRE(wait_for_commit(again, head));
  CHECK(read_file(*again.snapshot()->script_for("session.open")) == "print('open v1')\n");
  CHECK(again.stats().fetches_failed == 0);
}

TEST_CASE("a corrupt remote fails the fetch and keeps the last good snapshot", "[runbooks]") {
  TempDir tmp;
  fs::path remote = tmp.path() / "remote";
  make_runbooks_repo(remote);
  std::string first = git(remote, "rev-parse HEAD");
  RunbooksSource source(runbooks_test_options(remote.string(), tmp.path() / "data"));
  source.start();
  REQUIRE(wait_for_commit(source, first));

  commit_script(remote, "session-open.runbook.py", "print('never served')\n");
  git(remote, "repack -a -d -q");
  fs::path pack;
  for (auto& e : fs::directory_iterator(remote / ".git" / "objects" / "pack")) {
    if (e.path().extension() == ".pack") pack = e.path();
  }
  REQUIRE(!pack.empty());
  fs::permissions(pack, fs::perms::owner_write, fs::perm_options::add);
  fs::resize_file(pack, fs::file_size(pack) / 2);

  auto failures_before = source.stats().fetches_failed;
  source.refresh_now();
  REQUIRE(wait_for_failures(source, failures_before + 1));
  CHECK(source.snapshot()->commit_id == first);
  CHECK(read_file(*source.snapshot()->script_for("session.open")) == "print('open v1')\n");
  CHECK_FALSE(source.stats().last_error.empty());
}

TEST_CASE("fetches over git:// from a real git daemon", "[runbooks]") {
  TempDir tmp;
  fs::path remote = tmp.path() / "remote";
  make_runbooks_repo(remote);
  std::string head = git(remote, "rev-parse HEAD");
  unsigned short port = hookd::test::free_port();
  hookd::test::ChildProcess daemon({"/usr/bin/git", "daemon", "--export-all", "--reuseaddr",
                                    "--base-path=" + tmp.path().string(), "--listen=127.0.0.1",
                                    "--port=" + std::to_string(port), tmp.path().string()});
  REQUIRE(wait_until([&] { return port_open(port); }));

  RunbooksSource source(runbooks_test_options("git://127.0.0.1:" + std::to_string(port) + "/remote",
                                              tmp.path() / "data"));
  source.start();
  REQUIRE(wait_for_commit(source, head));
  CHECK(source.snapshot()->ref == "refs/heads/main");
  CHECK(read_file(*source.snapshot()->script_for("session.open")) == "print('open v1')\n");

  std::string next = commit_script(remote, "session-close.runbook.py", "print('close v2')\n");
  REQUIRE(wait_for_commit(source, next));
  CHECK(read_file(*source.snapshot()->script_for("session.close")) == "print('close v2')\n");
  source.stop();
}

TEST_CASE("a server that never answers is cut at fetch_timeout", "[runbooks]") {
  TempDir tmp;
  SilentServer silent;
  std::string url = "git://127.0.0.1:" + std::to_string(silent.port()) + "/remote";

  SECTION("the deadline cancels the fetch and the worker carries on") {
    auto o = runbooks_test_options(url, tmp.path() / "data");
    o.fetch_timeout = 1s;
    double timeouts_before = timeouts_total();
    RunbooksSource source(o);
    source.start();
    REQUIRE(wait_for_failures(source, 1));
    CHECK(source.stats().last_error.find("timed out") != std::string::npos);
    CHECK(timeouts_total() > timeouts_before);
    REQUIRE(wait_for_failures(source, 2));  // the next tick runs: the worker is not stuck
    CHECK(source.snapshot() == nullptr);
    auto stopped = std::async(std::launch::async, [&] { source.stop(); });
    CHECK(stopped.wait_for(15s) == std::future_status::ready);
  }
  SECTION("stop() cancels a stuck fetch long before its deadline") {
    auto o = runbooks_test_options(url, tmp.path() / "data");
    o.fetch_timeout = 600s;
    RunbooksSource source(o);
    source.start();
    REQUIRE(wait_until([&] { return source.stats().fetching; }));
    auto stopped = std::async(std::launch::async, [&] { source.stop(); });
    CHECK(stopped.wait_for(15s) == std::future_status::ready);
    CHECK(source.stats().fetches_failed == 0);  // a shutdown is not the remote's failure
  }
}

TEST_CASE("HTTP credentials refused: one attempt, no secret in the error", "[runbooks]") {
  TempDir tmp;
  unsigned short port = hookd::test::free_port();
  write_file(tmp.path() / "server.py",
             "import http.server, sys\n"
             "class H(http.server.BaseHTTPRequestHandler):\n"
             "    def do_GET(self):\n"
             "        self.send_response(401)\n"
             "        self.send_header('WWW-Authenticate', 'Basic realm=\"x\"')\n"
             "        self.send_header('Content-Length', '0')\n"
             "        self.end_headers()\n"
             "    def log_message(self, *a):\n"
             "        with open(sys.argv[2], 'a') as f: f.write('request\\n')\n"
             "http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()\n");
  fs::path requests = tmp.path() / "requests.log";
  hookd::test::ChildProcess server({"/usr/bin/python3", (tmp.path() / "server.py").string(),
                                    std::to_string(port), requests.string()});
  REQUIRE(wait_until([&] { return port_open(port); }));

  auto o = runbooks_test_options("http://127.0.0.1:" + std::to_string(port) + "/repo.git",
                                 tmp.path() / "data");
  o.user = "hookd";
  o.password = "s3cret-pw";
  o.ttl = 60s;
  RunbooksSource source(o);
  source.start();
  REQUIRE(wait_for_failures(source, 1));
  std::string error = source.stats().last_error;
  CHECK(error.find("refused") != std::string::npos);
  CHECK(error.find("s3cret-pw") == std::string::npos);
  CHECK(source.status_json().find("s3cret-pw") == std::string::npos);
  source.stop();
  // Unauthenticated probe, then one try with the credentials: no retry loop.
  CHECK(read_file(requests).size() <= std::string("request\n").size() * 3);
}

TEST_CASE("known_hosts: plain, [host]:port, hashed, patterns, revoked", "[runbooks]") {
  TempDir tmp;
  auto keygen = [&](const std::string& name) {
    std::string out;
    REQUIRE(run_command("ssh-keygen -q -t ed25519 -N '' -f " + quote(tmp.path() / name), &out) ==
            0);
    std::string pub = read_file(tmp.path() / (name + ".pub"));
    auto first_space = pub.find(' ');
    auto second_space = pub.find(' ', first_space + 1);
    std::string type = pub.substr(0, first_space);
    std::string b64 = pub.substr(first_space + 1, second_space - first_space - 1);
    while (!b64.empty() && (b64.back() == '\n' || b64.back() == '\r'))
      b64.pop_back();
    return std::make_pair(type + " " + b64, b64);
  };
  auto [good_line, good_b64] = keygen("good");
  auto [bad_line, bad_b64] = keygen("bad");
  auto decode = [](const std::string& b64) {
    std::string out;
    REQUIRE(run_command("printf %s '" + b64 + "' | base64 -d | od -An -v -tx1", &out) == 0);
    std::string bytes;
    std::istringstream in(out);
    std::string hex;
    while (in >> hex)
      bytes.push_back(static_cast<char>(std::stoi(hex, nullptr, 16)));
    return bytes;
  };
  std::string good = decode(good_b64);
  std::string bad = decode(bad_b64);

  fs::path kh = tmp.path() / "known_hosts";
  write_file(kh,
             "# comment\n"
             "\n"
             "git.example.com,10.0.0.1 " +
                 good_line +
                 "\n"
                 "[git.example.com]:2222 " +
                 bad_line +
                 "\n"
                 "*.corp.example,!evil.corp.example " +
                 good_line +
                 "\n"
                 "@cert-authority *.example.com " +
                 bad_line +
                 "\n"
                 "@revoked revoked.example.com " +
                 good_line +
                 "\n"
                 "revoked.example.com " +
                 good_line + "\n");
  CHECK(hookd::check_known_host(kh, "git.example.com", 22, good));
  CHECK(hookd::check_known_host(kh, "GIT.example.com", 22, good));
  CHECK(hookd::check_known_host(kh, "10.0.0.1", 22, good));
  CHECK_FALSE(hookd::check_known_host(kh, "git.example.com", 22, bad));
  CHECK(hookd::check_known_host(kh, "git.example.com", 2222, bad));
  CHECK_FALSE(hookd::check_known_host(kh, "git.example.com", 2222, good));
  CHECK(hookd::check_known_host(kh, "a.corp.example", 22, good));
  CHECK_FALSE(hookd::check_known_host(kh, "evil.corp.example", 22, good));
  CHECK_FALSE(hookd::check_known_host(kh, "unknown.example.org", 22, good));
  CHECK_FALSE(hookd::check_known_host(kh, "other.example.com", 22, bad));  // CA lines ignored
  auto revoked = hookd::check_known_host(kh, "revoked.example.com", 22, good);
  REQUIRE_FALSE(revoked);
  CHECK(revoked.error().message.find("revoked") != std::string::npos);
  CHECK_FALSE(hookd::check_known_host(tmp.path() / "missing", "git.example.com", 22, good));

  // Hashed names, as `ssh-keygen -H` writes them.
  fs::path hashed = tmp.path() / "known_hosts_hashed";
  write_file(hashed,
             "git.example.com " + good_line + "\n[git.example.com]:2222 " + good_line + "\n");
  std::string out;
  REQUIRE(run_command("ssh-keygen -q -H -f " + quote(hashed), &out) == 0);
  REQUIRE(read_file(hashed).find("git.example.com") == std::string::npos);
  CHECK(hookd::check_known_host(hashed, "git.example.com", 22, good));
  CHECK(hookd::check_known_host(hashed, "git.example.com", 2222, good));
  CHECK_FALSE(hookd::check_known_host(hashed, "git.example.com", 22, bad));
  CHECK_FALSE(hookd::check_known_host(hashed, "git.example.org", 22, good));
}

TEST_CASE("an SSH remote that never answers is cut at fetch_timeout", "[runbooks]") {
  // No sshd here: a server that never answers stands in, so this checks the
  // deadline covers the SSH transport too (libssh2 reads the socket itself).
  TempDir tmp;
  SilentServer silent;
  auto o = runbooks_test_options(
      "ssh://git@127.0.0.1:" + std::to_string(silent.port()) + "/repo.git", tmp.path() / "data");
  o.fetch_timeout = 1s;
  RunbooksSource source(o);
  source.start();
  REQUIRE(wait_for_failures(source, 1));
  CHECK(source.stats().last_error.find("timed out") != std::string::npos);
  auto stopped = std::async(std::launch::async, [&] { source.stop(); });
  CHECK(stopped.wait_for(15s) == std::future_status::ready);
}

TEST_CASE("fetches over ssh:// with host key checks and keys from a file or memory",
          "[runbooks][ssh]") {
  // A private sshd on 127.0.0.1 (openssh-server, installed by tools/setup).
  INFO("tools/setup installs openssh-server");
  REQUIRE(fs::exists("/usr/sbin/sshd"));
  if (::geteuid() != 0) {
    HOOKD_SKIP("sshd logs in as the current user, which needs root (CI runs as root)");
  }
  std::error_code ec;
  fs::create_directories("/run/sshd", ec);  // sshd's privilege separation directory
  TempDir tmp;
  fs::path remote = tmp.path() / "remote";
  make_runbooks_repo(remote);
  std::string head = git(remote, "rev-parse HEAD");
  std::string out;
  auto keygen = [&](const std::string& name, const std::string& args) {
    REQUIRE(run_command("ssh-keygen -q " + args + " -N '' -C '' -f " + quote(tmp.path() / name),
                        &out) == 0);
  };
  keygen("host_key", "-t ed25519");
  keygen("client_key", "-t ed25519");
  // PEM (not the OpenSSH format). Not RSA: Debian's libssh2 1.10 signs with
  // ssh-rsa (SHA-1), which OpenSSH >= 8.8 refuses by default.
  keygen("client_pem", "-t ecdsa -b 256 -m PEM");
  keygen("stranger_key", "-t ed25519");
  keygen("other_host_key", "-t ed25519");
  write_file(tmp.path() / "authorized_keys",
             read_file(tmp.path() / "client_key.pub") + read_file(tmp.path() / "client_pem.pub"));
  unsigned short port = hookd::test::free_port();
  write_file(tmp.path() / "sshd_config",
             "Port " + std::to_string(port) + "\nListenAddress 127.0.0.1\nHostKey " +
                 (tmp.path() / "host_key").string() + "\nPidFile " +
                 (tmp.path() / "sshd.pid").string() + "\nAuthorizedKeysFile " +
                 (tmp.path() / "authorized_keys").string() +
                 "\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n"
                 "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
                 "LogLevel ERROR\n");
  hookd::test::ChildProcess sshd(
      {"/usr/sbin/sshd", "-D", "-e", "-f", (tmp.path() / "sshd_config").string()});
  REQUIRE(wait_until([&] { return port_open(port); }));

  auto host_line = [&](const std::string& key) {
    std::string pub = read_file(tmp.path() / (key + ".pub"));
    return "[127.0.0.1]:" + std::to_string(port) + " " + pub;
  };
  write_file(tmp.path() / "known_hosts", host_line("host_key"));
  write_file(tmp.path() / "wrong_known_hosts", host_line("other_host_key"));

  std::string user = getenv("USER") ? getenv("USER") : "root";
  std::string url = "ssh://" + user + "@127.0.0.1:" + std::to_string(port) + remote.string();
  int n = 0;
  auto fetch = [&](auto&& adjust) {
    auto o = runbooks_test_options(url, tmp.path() / ("data" + std::to_string(n++)));
    o.ssh_known_hosts = (tmp.path() / "known_hosts").string();
    o.ssh_key = (tmp.path() / "client_key").string();
    o.ttl = 60s;
    adjust(o);
    RunbooksSource source(o);
    source.start();
    REQUIRE(wait_until([&] { return source.snapshot() || source.stats().fetches_failed > 0; }));
    auto snap = source.snapshot();
    return std::make_pair(snap ? snap->commit_id : std::string(), source.stats().last_error);
  };

  SECTION("key file") {
    auto [commit, error] = fetch([](RunbooksOptions&) {});
    INFO(error);
    CHECK(commit == head);
  }
  SECTION("OpenSSH key in memory") {
    auto [commit, error] =
        fetch([&](RunbooksOptions& o) { o.ssh_key = read_file(tmp.path() / "client_key"); });
    INFO(error);
    CHECK(commit == head);
  }
  SECTION("PEM key in memory") {
    auto [commit, error] =
        fetch([&](RunbooksOptions& o) { o.ssh_key = read_file(tmp.path() / "client_pem"); });
    INFO(error);
    CHECK(commit == head);
  }
  SECTION("unknown host key") {
    auto [commit, error] = fetch([&](RunbooksOptions& o) {
      o.ssh_known_hosts = (tmp.path() / "wrong_known_hosts").string();
    });
    CHECK(commit.empty());
    CHECK(error.find("host key mismatch") != std::string::npos);
  }
  SECTION("no known_hosts: no trust on first use") {
    auto [commit, error] = fetch([&](RunbooksOptions& o) { o.ssh_known_hosts.clear(); });
    CHECK(commit.empty());
    CHECK(error.find("known-hosts") != std::string::npos);
  }
  SECTION("key not authorised") {
    auto [commit, error] =
        fetch([&](RunbooksOptions& o) { o.ssh_key = (tmp.path() / "stranger_key").string(); });
    CHECK(commit.empty());
    CHECK(error.find("refused") != std::string::npos);
  }
}
