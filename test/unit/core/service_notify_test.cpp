// ServiceNotifier against a real AF_UNIX datagram socket (by path and in the
// abstract namespace), and settings read from systemd credentials.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "hookd/core/service_credentials.h"
#include "hookd/core/service_notify.h"
#include "support/notify_socket.h"
#include "support/support.h"

using hookd::test::NotifySocket;

TEST_CASE("service notifications arrive as one datagram each on a socket path") {
  hookd::test::TempDir dir;
  const std::string path = (dir.path() / "notify").string();
  NotifySocket socket(path);
  hookd::ServiceNotifier notifier(path, std::chrono::microseconds(3000000));
  REQUIRE(notifier.enabled());
  REQUIRE(notifier.ready("listening on port 8080").ok());
  CHECK(socket.receive() ==
        "READY=1\nMAINPID=" + std::to_string(::getpid()) + "\nSTATUS=listening on port 8080");
  REQUIRE(notifier.watchdog().ok());
  CHECK(socket.receive() == "WATCHDOG=1");
  REQUIRE(notifier.stopping().ok());
  CHECK(socket.receive().rfind("STOPPING=1", 0) == 0);
  CHECK(notifier.watchdog_interval() == std::chrono::microseconds(1500000));
}

TEST_CASE("service notifications reach an abstract socket named with @") {
  const std::string name = "@hookd-notify-test-" + std::to_string(::getpid());
  NotifySocket socket(name);
  hookd::ServiceNotifier notifier(name);
  REQUIRE(notifier.ready("").ok());
  CHECK(socket.receive() == "READY=1\nMAINPID=" + std::to_string(::getpid()));
  CHECK_FALSE(notifier.watchdog_interval());
}

TEST_CASE("without a notify socket nothing is sent, and a bad name is an error") {
  hookd::ServiceNotifier off;
  CHECK_FALSE(off.enabled());
  CHECK(off.ready("x").ok());
  hookd::ServiceNotifier relative("notify");
  CHECK_FALSE(relative.ready("x").ok());
  hookd::test::TempDir dir;
  hookd::ServiceNotifier nobody((dir.path() / "nobody-listens").string());
  CHECK_FALSE(nobody.ready("x").ok());
}

TEST_CASE("settings come from systemd credentials named after their variables") {
  CHECK(hookd::credential_name("HOOKD_ADMIN_TOKEN") == "admin-token");
  CHECK(hookd::credential_name("GIT_PASSWORD") == "git-password");
  CHECK(hookd::credential_name("HOOKD_ENDPOINT") == "endpoint");
  CHECK(hookd::credential_name("HOOKD_INBOUND_SECRET") == "inbound-secret");

  hookd::test::TempDir dir;
  hookd::test::write_file(dir.path() / "admin-token", "s3cret-token\n");
  hookd::test::write_file(dir.path() / "endpoint",
                          "name=a,url=https://a/x\nname=b,url=https://b/x\n");
  auto getenv = hookd::environment_with_credentials(dir.path());
  const char* argv[] = {"hookd"};
  auto parsed = hookd::parse_command_line(1, argv, getenv);
  REQUIRE(parsed.ok());
  CHECK(parsed->config.admin_token == "s3cret-token");
  CHECK(parsed->config.endpoints ==
        std::vector<std::string>{"name=a,url=https://a/x", "name=b,url=https://b/x"});

  // A flag still wins over the credential.
  const char* with_flag[] = {"hookd", "--admin-token", "from-flag"};
  auto flagged = hookd::parse_command_line(3, with_flag, getenv);
  REQUIRE(flagged.ok());
  CHECK(flagged->config.admin_token == "from-flag");

  auto none = hookd::environment_with_credentials("");
  CHECK(none("HOOKD_ADMIN_TOKEN_NOT_SET_ANYWHERE") == nullptr);
}
