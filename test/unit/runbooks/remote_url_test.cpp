// What the runbooks source reads out of the remote URL, and the redaction of
// secrets in what it logs, as tables.
#include "hookd/runbooks/remote_url.h"

#include <catch2/catch.hpp>
#include <string>

#include "hookd/runbooks/runbooks.h"

using namespace hookd;

TEST_CASE("redact_remote_url table", "[remote_url]") {
  struct {
    const char* url;
    const char* redacted;
  } rows[] = {
      {"https://user:secret@host/x", "https://user:***@host/x"},
      {"https://user:secret@host", "https://user:***@host"},
      {"https://user:p@ss@host/x", "https://user:***@host/x"},  // the last '@' ends the userinfo
      {"https://user@host/x", "https://user@host/x"},           // no password: unchanged
      {"https://host/x", "https://host/x"},
      {"https://host/a:b@c", "https://host/a:b@c"},  // '@' in the path is not userinfo
      {"ssh://git:pw@host:2222/repo", "ssh://git:***@host:2222/repo"},
      {"git@github.com:org/repo.git", "git@github.com:org/repo.git"},  // scp-like: no scheme
      {"/srv/runbooks", "/srv/runbooks"},
      {"", ""},
  };
  for (const auto& row : rows) {
    INFO(row.url);
    CHECK(redact_remote_url(row.url) == row.redacted);
  }
}

TEST_CASE("redact_secrets replaces the URL's and the configured secrets", "[remote_url]") {
  RunbooksOptions o;
  o.url = "https://hookd:url-secret@git.example.com/runbooks.git";
  o.password = "s3cret-pw";
  o.ssh_keypass = "key-pass";
  CHECK(redact_secrets("fetch " + o.url + " failed", o) ==
        "fetch https://hookd:***@git.example.com/runbooks.git failed");
  CHECK(redact_secrets("bad s3cret-pw, s3cret-pw and key-pass", o) == "bad ***, *** and ***");
  CHECK(redact_secrets("nothing to hide", o) == "nothing to hide");
  // Secrets under 3 characters would mangle ordinary words: left alone.
  o.password = "pw";
  o.ssh_keypass = "";
  CHECK(redact_secrets("the pw field", o) == "the pw field");
}

TEST_CASE("ssh_port_of table", "[remote_url]") {
  struct {
    const char* url;
    int port;
  } rows[] = {
      {"ssh://git@host/repo", 22},
      {"ssh://git@host:2222/repo", 2222},
      {"ssh://host:2200/repo", 2200},
      {"ssh+git://host:7/repo", 7},
      {"git+ssh://u@host:8022/repo", 8022},
      {"ssh://git@[::1]:2222/repo", 2222},
      {"ssh://git@[::1]/repo", 22},
      {"ssh://git@host:/repo", 22},     // empty port
      {"ssh://git@host:abc/repo", 22},  // not a number
      {"ssh://git@host:0/repo", 22},
      {"ssh://u:pw@host:2222/repo", 2222},  // the colon of the userinfo is not the port's
      {"git@host:org/repo.git", 22},        // scp-like
      {"https://host:8443/repo", 22},       // not SSH
  };
  for (const auto& row : rows) {
    INFO(row.url);
    CHECK(ssh_port_of(row.url) == row.port);
  }
}

TEST_CASE("is_http_url and is_local_path table", "[remote_url]") {
  struct {
    const char* url;
    bool http;
    bool local;
  } rows[] = {
      {"http://host/x", true, false},   {"https://host/x", true, false},
      {"HTTPS://host/x", false, false},  // schemes compare as written
      {"git://host/x", false, false},   {"file:///srv/x", false, false},
      {"git@host:x", false, false},     {"/srv/runbooks", false, true},
      {"relative/dir", false, true},    {"nonsense", false, true},
  };
  for (const auto& row : rows) {
    INFO(row.url);
    CHECK(is_http_url(row.url) == row.http);
    CHECK(is_local_path(row.url) == row.local);
  }
}
