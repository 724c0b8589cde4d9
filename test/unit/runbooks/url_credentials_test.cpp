// The credentials a runbooks remote URL carries are taken out of it, so the
// URL libgit2 stores in the clone holds no secret; as tables.
#include <catch2/catch.hpp>
#include <string>

#include "hookd/runbooks/remote_url.h"
#include "hookd/runbooks/runbooks.h"

using namespace hookd;

TEST_CASE("take_credentials_from_url table", "[remote_url]") {
  struct {
    const char* url;
    const char* clean;
    const char* user;
    const char* password;
  } rows[] = {
      {"https://bob:TOKEN@git.example.com/runbooks.git", "https://git.example.com/runbooks.git",
       "bob", "TOKEN"},
      {"http://bob:TOKEN@127.0.0.1:8080/r.git", "http://127.0.0.1:8080/r.git", "bob", "TOKEN"},
      {"https://bob@host/r.git", "https://host/r.git", "bob", ""},
      {"https://:TOKEN@host/r.git", "https://host/r.git", "", "TOKEN"},
      {"https://host/r.git", "https://host/r.git", "", ""},
      // Percent-decoded, as the URL spells characters a userinfo cannot hold.
      {"https://a%40b.c:p%40ss%3Aw%2Frd%25@host/r", "https://host/r", "a@b.c", "p@ss:w/rd%"},
      // A bare '@' in the password: the last one ends the userinfo.
      {"https://bob:p@ss@host/r", "https://host/r", "bob", "p@ss"},
      // Not valid percent-encoding: taken literally.
      {"https://bob:100%@host/r", "https://host/r", "bob", "100%"},
      {"https://host/a:b@c", "https://host/a:b@c", "", ""},  // '@' in the path
      {"https://bob:TOKEN@host", "https://host", "bob", "TOKEN"},
      // SSH: the user names the account and stays; a password goes.
      {"ssh://git:pw@host:2222/repo", "ssh://git@host:2222/repo", "", "pw"},
      {"ssh://git@host/repo", "ssh://git@host/repo", "", ""},
      {"git@github.com:org/repo.git", "git@github.com:org/repo.git", "", ""},
      {"/srv/runbooks", "/srv/runbooks", "", ""},
      {"", "", "", ""},
  };
  for (const auto& row : rows) {
    INFO(row.url);
    UrlCredentials taken = take_credentials_from_url(row.url);
    CHECK(taken.url == row.clean);
    CHECK(taken.user == row.user);
    CHECK(taken.password == row.password);
    CHECK(url_without_credentials(row.url) == row.clean);
  }
}

TEST_CASE("credentials_out_of_url: explicit user and password win, field by field",
          "[remote_url]") {
  RunbooksOptions o;
  o.url = "https://bob:url-token@host/r.git";
  SECTION("none given: the URL's") {
    auto out = credentials_out_of_url(o);
    CHECK(out.url == "https://host/r.git");
    CHECK(out.user == "bob");
    CHECK(out.password == "url-token");
  }
  SECTION("--git-password given: it wins, the URL's user stays") {
    o.password = "flag-token";
    auto out = credentials_out_of_url(o);
    CHECK(out.url == "https://host/r.git");
    CHECK(out.user == "bob");
    CHECK(out.password == "flag-token");
  }
  SECTION("both given: the URL's are dropped") {
    o.user = "alice";
    o.password = "flag-token";
    auto out = credentials_out_of_url(o);
    CHECK(out.url == "https://host/r.git");
    CHECK(out.user == "alice");
    CHECK(out.password == "flag-token");
  }
}
