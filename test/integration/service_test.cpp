// hookd as a systemd service: the notify-socket protocol spoken to a socket
// the test listens on, as a service manager would (READY=1 once listening,
// WATCHDOG=1 while running, STOPPING=1 when SIGTERM starts the drain), and
// tools/hookd.service checked by systemd's own analyzer where it exists.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "support/notify_socket.h"
#include "support/skip.h"
#include "support/support.h"

namespace {

using hookd::test::Daemon;
using hookd::test::DaemonOptions;
using hookd::test::NotifySocket;
using hookd::test::TempDir;

std::vector<std::string> lines(const std::string& message) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= message.size()) {
    std::size_t nl = message.find('\n', pos);
    out.push_back(message.substr(pos, nl == std::string::npos ? nl : nl - pos));
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return out;
}

bool has_line(const std::string& message, const std::string& line) {
  for (const auto& l : lines(message)) {
    if (l == line) return true;
  }
  return false;
}

void check_lifecycle(const std::string& socket_name, NotifySocket& socket) {
  DaemonOptions options;
  options.env = {"NOTIFY_SOCKET=" + socket_name, "WATCHDOG_USEC=400000"};
  Daemon hookd(options);
  const std::string ready = socket.receive_state();
  INFO(ready << "\n" << hookd.log());
  CHECK(has_line(ready, "READY=1"));
  CHECK(has_line(ready, "MAINPID=" + std::to_string(hookd.pid())));
  // READY=1 means serving: requests are answered from then on.
  CHECK(hookd::test::http(hookd.port(), "GET", "/healthz").status == 200);
  // Keep-alives at half WATCHDOG_USEC.
  CHECK(socket.receive() == "WATCHDOG=1");
  CHECK(hookd.terminate() == 0);
  CHECK(has_line(socket.receive_state(), "STOPPING=1"));
}

}  // namespace

TEST_CASE("hookd notifies READY=1, WATCHDOG=1 and STOPPING=1 on a notify socket path") {
  TempDir dir;
  const std::string path = (dir.path() / "notify").string();
  NotifySocket socket(path);
  check_lifecycle(path, socket);
}

TEST_CASE("hookd notifies an abstract notify socket named with @") {
  const std::string name = "@hookd-service-test-" + std::to_string(::getpid());
  NotifySocket socket(name);
  check_lifecycle(name, socket);
}

TEST_CASE("hookd sends no watchdog keep-alives meant for another process") {
  TempDir dir;
  const std::string path = (dir.path() / "notify").string();
  NotifySocket socket(path);
  DaemonOptions options;
  // WATCHDOG_PID names some other process (ours): the keep-alives are not hookd's to send.
  options.env = {"NOTIFY_SOCKET=" + path, "WATCHDOG_USEC=200000",
                 "WATCHDOG_PID=" + std::to_string(::getpid())};
  Daemon hookd(options);
  CHECK(has_line(socket.receive(), "READY=1"));
  CHECK(hookd.terminate() == 0);
  // The next message after READY is the drain, with no keep-alive between.
  CHECK(has_line(socket.receive(), "STOPPING=1"));
}

TEST_CASE("tools/hookd.service passes systemd-analyze verify and its security review") {
  std::string which;
  if (hookd::test::run_command("command -v systemd-analyze", &which) != 0) {
    HOOKD_SKIP("systemd-analyze is not installed (the systemd package has it)");
  }
  TempDir dir;
  // The unit as shipped, pointing at this build's binary (verify checks
  // that ExecStart= names an executable).
  std::string unit = hookd::test::read_file(std::string(HOOKD_SOURCE_DIR) + "/tools/hookd.service");
  const std::string shipped = "/usr/local/bin/hookd";
  for (std::size_t at; (at = unit.find(shipped)) != std::string::npos;)
    unit.replace(at, shipped.size(), HOOKD_BINARY);
  const auto path = dir.path() / "hookd.service";
  hookd::test::write_file(path, unit);

  std::string out;
  int rc = hookd::test::run_command("systemd-analyze verify '" + path.string() + "' 2>&1", &out);
  INFO(out);
  CHECK(rc == 0);
  CHECK(out.find("hookd.service") == std::string::npos);  // no complaint names the unit

  // systemd's own exposure score (0 = locked down, 10 = exposed; the
  // threshold counts tenths): the unit must stay at 2.0 or below.
  std::string review;
  rc = hookd::test::run_command(
      "systemd-analyze security --offline=true --threshold=20 '" + path.string() + "' 2>&1",
      &review);
  INFO(review);
  CHECK(rc == 0);
}
