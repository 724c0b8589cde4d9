// A bad flag value is a configuration error: the real binary, on a fresh
// data dir, exits 2 with one line on stderr naming the flag, before it
// creates the data dir (or anything else).
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "support/certificates.h"
#include "support/support.h"

using namespace hookd::test;
namespace fs = std::filesystem;

namespace {

std::string shell_quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

struct Run {
  int exit_code = -1;
  std::string stderr_text;
  std::string stdout_text;
};

// hookd with `args` (and `env` assignments) on the data dir `data`.
Run run_hookd(const std::vector<std::string>& args, const fs::path& data, const fs::path& out,
              const std::string& env = "") {
  std::string command = env + " " + HOOKD_BINARY + " --data-dir " + shell_quoted(data.string());
  for (const auto& a : args)
    command += " " + shell_quoted(a);
  Run run;
  // stderr to the pipe run_command reads, stdout to a file of its own.
  run.exit_code = run_command("{ " + command + " 2>&1 >" + shell_quoted(out.string()) + "; }",
                              &run.stderr_text);
  run.stdout_text = read_file(out);
  return run;
}

struct Case {
  std::vector<std::string> args;
  std::string flag;
  std::string env = "";  // "NAME=value" assignments before the command
};

}  // namespace

TEST_CASE("every bad flag exits 2 with one line naming it and leaves the data dir alone") {
  TempDir files;  // certificates and the like, outside the scratch dir
  auto a = make_self_signed_certificate(files.path(), "a");
  auto b = make_self_signed_certificate(files.path(), "b");
  write_file(files.path() / "not-executable", "#!/bin/sh\n");
  std::vector<std::string> hooks_on = {"--git-url", files.path().string(), "--git-hook-config-ttl",
                                       "5"};
  auto with_hooks = [&](std::vector<std::string> extra) {
    extra.insert(extra.begin(), hooks_on.begin(), hooks_on.end());
    return extra;
  };

  std::vector<Case> cases = {
      {{"--listen", "nonsense"}, "--listen"},
      {{"--listen", "127.0.0.1:70000"}, "--listen"},
      {{"--listen", "::1:8080"}, "--listen"},
      {{}, "--listen", "HOOKD_LISTEN=nowhere"},
      {{"--admin-listen", "nonsense"}, "--admin-listen"},
      {{"--listen", "127.0.0.1:18080", "--admin-listen", "127.0.0.1:18080"}, "--admin-listen"},
      {{"--listen", "0.0.0.0:18080", "--admin-listen", "127.0.0.1:18080"}, "--admin-listen"},
      {{"--tls-cert", "/nonexistent/cert.pem", "--tls-key", a.key}, "--tls-cert"},
      {{"--tls-cert", a.cert, "--tls-key", "/nonexistent/key.pem"}, "--tls-key"},
      {{"--tls-cert", a.cert, "--tls-key", b.key}, "--tls-key"},
      {{"--tls-cert", a.cert}, "--tls-key"},
      {{"--tls-cert", a.cert, "--tls-key", a.key, "--tls-client-ca", "/nonexistent/ca.pem"},
       "--tls-client-ca"},
      {{"--tls-cert", a.cert, "--tls-key", a.key, "--tls-client-ca", a.key}, "--tls-client-ca"},
      {{"--tls-client-ca", a.cert}, "--tls-client-ca"},
      {{"--endpoint", "name=siem"}, "--endpoint"},
      {{"--endpoint", "name=siem,url=http://127.0.0.1:1/,fromat=ndjson"}, "--endpoint"},
      {{"--endpoint", "name=a,url=http://127.0.0.1:1/", "--endpoint",
        "name=a,url=http://127.0.0.1:2/"},
       "--endpoint"},
      {{"--endpoint", "name=siem,url=https://127.0.0.1:1/,ca=/nonexistent/ca.pem"}, "--endpoint"},
      {{"--retry-schedule", "soon"}, "--retry-schedule"},
      {{"--queue", "rediss://127.0.0.1:6390", "--queue-ca", "/nonexistent/ca.pem"}, "--queue-ca"},
      {{"--queue", "rediss://127.0.0.1:6390", "--queue-ca", a.key}, "--queue-ca"},
      // Not TLS: a CA would be ignored, which is never what was meant.
      {{"--queue", "redis://127.0.0.1:6390", "--queue-ca", a.cert}, "--queue-ca"},
      {{"--queue-ca", a.cert}, "--queue-ca"},
      {{"--retry-jitter", "2"}, "--retry-jitter"},
      {{"--inbound-secret", "not_base64!!"}, "--inbound-secret"},
      {{}, "--inbound-secret", "HOOKD_INBOUND_SECRET=whsec_!!"},
      {{"--hook-env", "NOEQUALS"}, "--hook-env"},
      {{"--hook-env", "1BAD=x"}, "--hook-env"},
      {{"--hook-env", "HOOP_RUNBOOK_HOOK_PAYLOAD=x"}, "--hook-env"},
      {{}, "--hook-env", "HOOKD_HOOK_ENV='OK=1\nNOT-OK=2'"},
      {with_hooks({"--hook-interpreter", "/nonexistent/python3"}), "--hook-interpreter"},
      {with_hooks({"--hook-interpreter", (files.path() / "not-executable").string()}),
       "--hook-interpreter"},
      {{"--git-hook-config-ttl", "1.5"}, "--git-hook-config-ttl"},
      {{"--port-file", "/nonexistent/dir/port"}, "--port-file"},
      {{"--fsync", "sometimes"}, "--fsync"},
      {{"--max-header-bytes", "1MiB"}, "--max-header-bytes"},
      {{"--read-timeout", "0"}, "--read-timeout"},
      {{"--threads", "many"}, "--threads"},
      {{"--log-level", "loud"}, "--log-level"},
  };
  for (const auto& c : cases) {
    TempDir scratch;
    auto data = scratch.path() / "data";
    auto out = files.path() / "stdout";
    std::string shown = c.env;
    for (const auto& arg : c.args)
      shown += " " + arg;
    INFO(shown);
    Run run = run_hookd(c.args, data, out, c.env);
    INFO(run.stderr_text);
    CHECK(run.exit_code == 2);
    CHECK(std::count(run.stderr_text.begin(), run.stderr_text.end(), '\n') == 1);
    CHECK(run.stderr_text.rfind("hookd: ", 0) == 0);
    CHECK(run.stderr_text.find(c.flag) != std::string::npos);
    CHECK(run.stdout_text.empty());
    CHECK_FALSE(fs::exists(data));
    CHECK(fs::is_empty(scratch.path()));
  }
}

TEST_CASE("the same values, made good, start the daemon") {
  TempDir files;
  auto a = make_self_signed_certificate(files.path(), "a");
  DaemonOptions options;
  options.args = {"--tls-cert",       a.cert,
                  "--tls-key",        a.key,
                  "--endpoint",       "name=siem,url=http://127.0.0.1:1/",
                  "--retry-schedule", "1s,5s",
                  "--hook-env",       "GOOD_NAME=1"};
  Daemon daemon(options);
  CHECK(daemon.port() != 0);
  CHECK(fs::exists(daemon.data_dir() / "journal"));
}

TEST_CASE("help shows the flag groups") {
  std::string out;
  REQUIRE(run_command(std::string(HOOKD_BINARY) + " --help", &out) == 0);
  std::size_t previous = 0;
  for (const char* title : {"\nServer:\n", "\nIngest:\n", "\nJournal:\n", "\nRunbooks:\n",
                            "\nHooks:\n", "\nDelivery:\n", "\nLogging:\n"}) {
    INFO(title);
    auto at = out.find(title);
    REQUIRE(at != std::string::npos);
    CHECK(at > previous);
    previous = at;
  }
}
