// known_hosts matching as a table: each row is a host, a port and a key
// against one known_hosts text, with the verdict OpenSSH would give.
#include "hookd/runbooks/known_hosts.h"

#include <catch2/catch.hpp>
#include <string>

#include "support/support.h"

using namespace hookd;

namespace {

// Key blobs are opaque bytes to the matcher; short ones keep the rows legible.
// Their base64 forms cover one, two and no padding characters.
const std::string kGood = "good-key";   // Z29vZC1rZXk=
const std::string kBad = "bad-key";     // YmFkLWtleQ==
const std::string kNine = "ninebytes";  // bmluZWJ5dGVz

const std::string kKnownHosts =
    "# comment\n"
    "\n"
    "git.example.com,10.0.0.1 ssh-ed25519 Z29vZC1rZXk=\n"
    "[git.example.com]:2222 ssh-ed25519 YmFkLWtleQ==\n"
    "*.corp.example,!evil.corp.example ssh-ed25519 Z29vZC1rZXk=\n"
    "build-?.example.net\tssh-ed25519   bmluZWJ5dGVz  a comment\n"
    "@cert-authority *.example.com ssh-ed25519 YmFkLWtleQ==\n"
    "@revoked revoked.example.com ssh-ed25519 Z29vZC1rZXk=\n"
    "revoked.example.com ssh-ed25519 Z29vZC1rZXk=\n"
    "two.example.com ssh-ed25519 Z29vZC1rZXk=\n"
    "two.example.com ssh-rsa YmFkLWtleQ==\n"
    "short.example.com ssh-ed25519\n"
    "broken.example.com ssh-ed25519 not*base64\n"
    "unpadded.example.com ssh-ed25519 Z29vZC1rZXk\n"
    // Made by `ssh-keygen -H` from "git.example.com" and "[git.example.com]:2222".
    "|1|+hGlZnCDXFT22w7q81XfNKb6JS0=|yIPDPoJTtA1gpg7UatSNOlpYeQo= ssh-ed25519 bmluZWJ5dGVz\n"
    "|1|3sij8eqGVix/r+RrsNhHQAm1q7M=|JFmYDNTbXGaANJ1HTfF0derI2uo= ssh-ed25519 bmluZWJ5dGVz\n";

struct Row {
  const char* host;
  int port;
  const std::string& key;
  bool accepted;
  const char* error_part;  // in the refusal's message
};

}  // namespace

TEST_CASE("known_hosts table: names, ports, patterns, hashes, markers", "[known_hosts]") {
  const Row rows[] = {
      {"git.example.com", 22, kGood, true, ""},
      {"GIT.Example.COM", 22, kGood, true, ""},  // host names compare case-insensitively
      {"10.0.0.1", 22, kGood, true, ""},         // second name of a comma list
      {"git.example.com", 22, kBad, false, "mismatch"},
      {"git.example.com", 2222, kBad, true, ""},  // [host]:port is its own entry
      {"git.example.com", 2222, kGood, false, "mismatch"},
      {"git.example.com", 2223, kBad, false, "not in"},
      {"a.corp.example", 22, kGood, true, ""},
      {"deep.a.corp.example", 22, kGood, true, ""},  // '*' spans dots
      {"corp.example", 22, kGood, false, "not in"},
      {"evil.corp.example", 22, kGood, false, "not in"},     // !negation wins over '*'
      {"build-7.example.net", 22, kNine, true, ""},          // tab-separated, trailing comment
      {"build-17.example.net", 22, kNine, false, "not in"},  // '?' is one character
      {"other.example.com", 22, kBad, false, "not in"},      // @cert-authority ignored
      {"revoked.example.com", 22, kGood, false, "@revoked"},
      {"revoked.example.com", 22, kBad, false, "mismatch"},
      {"two.example.com", 22, kGood, true, ""},  // any listed key of the host will do
      {"two.example.com", 22, kBad, true, ""},
      {"short.example.com", 22, kGood, false, "not in"},  // no key field: not a line
      {"broken.example.com", 22, kGood, false, "mismatch"},
      {"unpadded.example.com", 22, kGood, false, "mismatch"},  // a key is whole base64 quanta
      {"unknown.example.org", 22, kGood, false, "not in"},
  };
  for (const Row& row : rows) {
    INFO(row.host << ":" << row.port << " key " << row.key);
    Status verdict = check_known_host_lines(kKnownHosts, "kh", row.host, row.port, row.key);
    CHECK(verdict.ok() == row.accepted);
    if (!verdict.ok()) CHECK(verdict.error().message.find(row.error_part) != std::string::npos);
  }
}

TEST_CASE("known_hosts table: host fields, patterns and hashed names", "[known_hosts]") {
  // Made by `ssh-keygen -H` from "git.example.com" and "[git.example.com]:2222".
  const char* hashed_22 = "|1|+hGlZnCDXFT22w7q81XfNKb6JS0=|yIPDPoJTtA1gpg7UatSNOlpYeQo=";
  const char* hashed_2222 = "|1|3sij8eqGVix/r+RrsNhHQAm1q7M=|JFmYDNTbXGaANJ1HTfF0derI2uo=";
  struct {
    const char* field;
    const char* name;
    bool matches;
  } rows[] = {
      {"host", "host", true},
      {"host", "host2", false},
      {"*", "anything", true},
      {"*", "", true},
      {"h*t", "host", true},
      {"h*t", "hostx", false},
      {"h?st", "host", true},
      {"h?st", "hst", false},
      {"**.example", "a.example", true},
      {"a,b,c", "b", true},
      {"a,,c", "c", true},
      {"!a", "a", false},
      {"!a", "b", false},  // a negation alone matches nothing
      {"*,!b", "b", false},
      {"!b,*", "b", false},  // order does not matter
      {"*,!b", "c", true},
      {"[h]:2222", "[H]:2222", true},
      {"[h]:*", "[h]:2222", true},
      {hashed_22, "git.example.com", true},
      {hashed_22, "GIT.example.com", false},  // a hash is of the exact bytes
      {hashed_22, "git.example.org", false},
      {hashed_22, "[git.example.com]:2222", false},
      {hashed_2222, "[git.example.com]:2222", true},
      {hashed_2222, "git.example.com", false},
      // Damaged hashes never match.
      {"|1|", "git.example.com", false},
      {"|1|nobar", "git.example.com", false},
      {"|1|+hGlZnCDXFT22w7q81XfNKb6JS0=|", "git.example.com", false},
      {"|1|!!!!|yIPD", "git.example.com", false},
      {"|1|+hGlZnCDXFT22w7q81XfNKb6JS0=|Z29vZC1rZXk=", "git.example.com", false},  // not 20 bytes
  };
  for (const auto& row : rows) {
    INFO(row.field << " ~ " << row.name);
    CHECK(known_hosts_field_matches(row.field, row.name) == row.matches);
  }
  // And through whole lines, with the port's bracketed name.
  CHECK(check_known_host_lines(kKnownHosts, "kh", "git.example.com", 22, kNine));
  CHECK(check_known_host_lines(kKnownHosts, "kh", "git.example.com", 2222, kNine));
}

TEST_CASE("known_hosts_name brackets every port but 22", "[known_hosts]") {
  CHECK(known_hosts_name("git.example.com", 22) == "git.example.com");
  CHECK(known_hosts_name("git.example.com", 2222) == "[git.example.com]:2222");
  CHECK(known_hosts_name("::1", 22) == "::1");
  CHECK(known_hosts_name("::1", 2200) == "[::1]:2200");
}

TEST_CASE("check_known_host reads the file and names it in errors", "[known_hosts]") {
  hookd::test::TempDir tmp;
  auto file = tmp.path() / "known_hosts";
  hookd::test::write_file(file, kKnownHosts);
  CHECK(check_known_host(file, "git.example.com", 22, kGood));
  auto unknown = check_known_host(file, "unknown.example.org", 22, kGood);
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().message.find(file.string()) != std::string::npos);
  auto missing = check_known_host(tmp.path() / "missing", "git.example.com", 22, kGood);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("cannot read") != std::string::npos);
}
