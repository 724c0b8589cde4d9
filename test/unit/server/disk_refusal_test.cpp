// How POST /v1/events answers when the journal's disk fails: an I/O error is
// 503 with Retry-After (the journal probes the disk again by itself), not the
// 500 of a closed journal. The error is real: RLIMIT_FSIZE makes the writes
// fail with EFBIG, in a child process so the limit stays there.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <future>
#include <optional>
#include <string>

#include "hookd/server/ingest.h"
#include "support/journal_appends.h"
#include "support/support.h"

namespace {

using hookd::HttpRequest;
using hookd::HttpResponse;
using hookd::Router;

HttpResponse post_event(const Router& router, const std::string& id) {
  HttpRequest request;
  request.method = "POST";
  request.target = request.path = "/v1/events";
  request.headers.emplace_back("content-type", "application/json");
  request.body = R"({"type":"session.open","id":")" + id + R"(","payload":{"data":")" +
                 std::string(1000, 'e') + R"("}})";
  std::promise<HttpResponse> answer;
  router.dispatch(request, [&](HttpResponse response) { answer.set_value(std::move(response)); });
  return answer.get_future().get();
}

std::string header(const HttpResponse& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "";
}

}  // namespace

TEST_CASE("an I/O error in the journal answers 503 with Retry-After", "[ingest][disk]") {
  hookd::test::TempDir tmp;
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{16384, 16384};
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(10);
    hookd::JournalOptions options;
    options.dir = tmp.path() / "journal";
    auto journal = hookd::test::open_journal_or_throw(options);
    Router router;
    hookd::IngestOptions ingest;
    ingest.retry_after_seconds = 3;
    hookd::add_event_routes(router, *journal, ingest);
    std::optional<HttpResponse> refused;
    for (int i = 0; i < 100 && !refused; ++i) {
      HttpResponse r = post_event(router, "io-" + std::to_string(i));
      if (r.status != 202) refused = std::move(r);
    }
    if (!refused || refused->status != 503) {
      std::fprintf(stderr, "refused: %d %s\n", refused ? refused->status : 0,
                   refused ? refused->body.c_str() : "");
      _exit(11);
    }
    if (header(*refused, "Retry-After") != "3") _exit(12);
    // Refused at once while the disk is probed, the same way.
    HttpResponse again = post_event(router, "io-again");
    if (again.status != 503 || header(again, "Retry-After").empty()) _exit(13);
    journal->close();
    _exit(0);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
