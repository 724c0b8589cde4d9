#include "support/runbooks_repos.h"

#include <chrono>
#include <stdexcept>

#include "hookd/core/metrics.h"
#include "support/support.h"

namespace hookd::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string git(const fs::path& repo, const std::string& args) {
  std::string out;
  if (run_command("git -C '" + repo.string() + "' -c user.email=t@t -c user.name=t " + args,
                  &out) != 0) {
    throw std::runtime_error("git " + args + ": " + out);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
    out.pop_back();
  return out;
}

void make_runbooks_repo(const fs::path& dir, bool with_hooks) {
  fs::create_directories(dir);
  git(dir, "init -q -b main");
  write_file(dir / "README.md", "runbooks\n");
  if (with_hooks) {
    write_file(dir / "hoop-hooks" / "session-open.runbook.py", "print('open v1')\n");
    write_file(dir / "hoop-hooks" / "session-close.runbook.py", "print('close v1')\n");
    write_file(dir / "hoop-hooks" / "notes.txt", "not a hook\n");
  }
  git(dir, "add -A");
  git(dir, "commit -q -m initial");
}

std::string commit_script(const fs::path& dir, const std::string& name, const std::string& body) {
  write_file(dir / "hoop-hooks" / name, body);
  git(dir, "add -A");
  git(dir, "commit -q -m change");
  return git(dir, "rev-parse HEAD");
}

RunbooksOptions runbooks_test_options(const std::string& url, const fs::path& data) {
  RunbooksOptions o;
  o.url = url;
  o.dir = data / "runbooks";
  o.ttl = 1s;
  o.retry_min = 1s;
  o.fetch_timeout = 10s;
  return o;
}

bool wait_for_commit(const RunbooksSource& source, const std::string& commit) {
  return wait_until([&] {
    auto snap = source.snapshot();
    return snap && snap->commit_id == commit;
  });
}

bool wait_for_failures(const RunbooksSource& source, std::uint64_t at_least) {
  return wait_until([&] { return source.stats().fetches_failed >= at_least; });
}

double runbooks_fetches_failed_total() {
  return metrics()
      .counter("hookd_runbooks_fetches_total", "Runbooks fetches by result", {{"result", "failed"}})
      .value();
}

}  // namespace hookd::test
