// Runbooks over HTTPS against a git server set up as a deployment would run
// one (support/git_https_server.h): nginx terminating TLS with a certificate
// from a CA made here and checking basic auth, fcgiwrap running Debian's
// git-http-backend. Credentials reach it through libgit2's callback only, and
// never rest in the data directory.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "hookd/runbooks/runbooks.h"
#include "support/data_dir_scan.h"
#include "support/git_https_server.h"
#include "support/runbooks_repos.h"
#include "support/support.h"

namespace fs = std::filesystem;
namespace json = boost::json;
using hookd::RunbooksOptions;
using hookd::RunbooksSource;
using hookd::test::commit_script;
using hookd::test::files_containing;
using hookd::test::git;
using hookd::test::GitHttpsServer;
using hookd::test::read_file;
using hookd::test::requests_logged;
using hookd::test::TempDir;
using hookd::test::wait_for_commit;
using hookd::test::wait_for_failures;
using hookd::test::wait_until;
using hookd::test::write_file;
using namespace std::chrono_literals;

namespace {

constexpr const char* kUser = "hookd";
constexpr const char* kPassword = "Right-pw-5f0c2a";
constexpr const char* kWrongPassword = "Wrong-pw-9b17e4";

const hookd::test::TestCertificates& certs() {
  return hookd::test::git_https_certificates();
}

RunbooksOptions https_options(const GitHttpsServer& server, const fs::path& data) {
  auto o = hookd::test::runbooks_test_options(server.url("runbooks.git"), data);
  o.user = kUser;
  o.password = kPassword;
  o.ca_file = certs().pem("ca");
  return o;
}

}  // namespace

TEST_CASE("clones over HTTPS with basic auth and the test CA, then fetches a pushed commit",
          "[runbooks][https]") {
  TempDir tmp;
  GitHttpsServer server("server", kUser, kPassword);
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
  GitHttpsServer server("server", kUser, kPassword);
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
  GitHttpsServer server(leaf, kUser, kPassword);
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

namespace {

// A password with every character a URL's userinfo must percent-encode, as
// the server knows it and as an operator writes it into --git-url.
constexpr const char* kUrlPassword = "Url:p@ss/w%rd-71c3";
constexpr const char* kUrlPasswordEncoded = "Url%3Ap%40ss%2Fw%25rd-71c3";

// A server whose account takes kUrlPassword, and options that give the
// credentials in the URL only: no --git-user, no --git-password.
struct UrlCredentials {
  TempDir tmp;
  GitHttpsServer server{"server", kUser, kUrlPassword};
  fs::path work = tmp.path() / "work";
  fs::path data = tmp.path() / "data";
  RunbooksOptions options;

  UrlCredentials() {
    server.serve_runbooks("runbooks.git", work);
    options = hookd::test::runbooks_test_options(url(), data);
    options.ca_file = certs().pem("ca");
  }

  std::string url() const {
    return "https://" + std::string(kUser) + ":" + kUrlPasswordEncoded +
           "@127.0.0.1:" + std::to_string(server.port()) + "/runbooks.git";
  }

  std::string clone_config(const std::string& key) const {
    std::string value;
    hookd::test::run_command("git -C '" + (data / "runbooks" / "repo").string() + "' config " + key,
                             &value);
    while (!value.empty() && value.back() == '\n')
      value.pop_back();
    return value;
  }

  // The files under the data dir holding the password, in either spelling.
  std::vector<fs::path> holding_secret() const {
    auto found = files_containing(data, kUrlPassword);
    auto encoded = files_containing(data, kUrlPasswordEncoded);
    found.insert(found.end(), encoded.begin(), encoded.end());
    return found;
  }

  void check_nothing_stored() const {
    CHECK(clone_config("remote.origin.url") == server.url("runbooks.git"));
    std::string files;
    for (const auto& file : holding_secret())
      files += file.string() + "\n";
    INFO(files);
    CHECK(files.empty());
  }
};

}  // namespace

TEST_CASE("credentials in the URL are sent through the callback and never stored",
          "[runbooks][https][secrets]") {
  UrlCredentials setup;
  RunbooksSource source(setup.options);
  source.start();
  bool cloned = wait_for_commit(source, git(setup.work, "rev-parse HEAD"));
  INFO(source.stats().last_error << "\n" << setup.server.error_log());
  REQUIRE(cloned);
  // The server saw the user and accepted the decoded password.
  CHECK(requests_logged(setup.server.access_log(), kUser, 200) >= 2);
  std::string status = source.status_json();
  source.stop();

  CHECK(hookd::test::entries_under(setup.data) > 10);  // the search had a clone to look at
  setup.check_nothing_stored();
  CHECK(setup.clone_config("hookd.source") == setup.server.url("runbooks.git"));
  CHECK(status.find(kUrlPasswordEncoded) == std::string::npos);
  CHECK(status.find(kUrlPassword) == std::string::npos);
}

TEST_CASE("a clone that stored the password in its config is rewritten, not cloned again",
          "[runbooks][https][secrets]") {
  UrlCredentials setup;
  const fs::path repo = setup.data / "runbooks" / "repo";
  {
    RunbooksSource first(setup.options);
    first.start();
    REQUIRE(wait_for_commit(first, git(setup.work, "rev-parse HEAD")));
  }

  // What an older hookd left behind: the URL as given, in the remote and in
  // the record of the last good fetch ("<url>\n<branch>", no branch here).
  git(repo, "config remote.origin.url '" + setup.url() + "'");
  git(repo, "config hookd.source '" + setup.url() + "\n'");
  REQUIRE_FALSE(setup.holding_secret().empty());
  // A re-clone would remove the clone directory, and this with it.
  write_file(repo / "hookd-test-marker", "kept\n");

  std::string second = commit_script(setup.work, "session-open.runbook.py", "print('open v2')\n");
  setup.server.push(setup.work, "runbooks.git");
  RunbooksSource restarted(setup.options);
  restarted.start();
  bool fetched = wait_for_commit(restarted, second);
  INFO(restarted.stats().last_error << "\n" << setup.server.error_log());
  REQUIRE(fetched);
  restarted.stop();

  CHECK(fs::exists(repo / "hookd-test-marker"));
  setup.check_nothing_stored();
  CHECK(setup.clone_config("hookd.source") == setup.server.url("runbooks.git"));
}
