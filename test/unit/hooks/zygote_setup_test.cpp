// A contained run's ChildSetup as the PARAM entries and descriptors of a
// RUN (zygote_setup.h), as tables.
#include "hookd/hooks/zygote_setup.h"

#include <sys/resource.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using hookd::ChildSetup;
using hookd::HookIdentity;
using hookd::zygote_run_setup;
using Params = std::vector<std::string>;

namespace {

HookIdentity nobody() {
  HookIdentity id;
  id.user = "nobody";
  id.uid = 65534;
  id.gid = 65534;
  id.groups = {65534, 100};
  return id;
}

}  // namespace

TEST_CASE("a run's setup becomes session, cgroups, rlimits, subreaper, no_new_privs",
          "[zygote_setup]") {
  ChildSetup run;
  run.cgroup_fds = {11, 12};
  run.rlimits = {{RLIMIT_NOFILE, 256}, {RLIMIT_CORE, 0}, {RLIMIT_AS, RLIM_INFINITY}};
  run.child_subreaper = true;
  auto said = zygote_run_setup(run, nullptr);
  REQUIRE(said.ok());
  CHECK(said->params == Params{"session=1", "cgroup.fds=2", "rlimit.NOFILE=256:256",
                               "rlimit.CORE=0:0", "rlimit.AS=inf:inf", "subreaper=1",
                               "no_new_privs=1"});
  CHECK(said->fds == std::vector<int>{11, 12});
}

TEST_CASE("a zygote that is already the hook user is not asked to switch again", "[zygote_setup]") {
  ChildSetup run;
  run.identity = nobody();
  run.no_new_privs = false;
  ChildSetup zygote = run;
  auto said = zygote_run_setup(run, &zygote);
  REQUIRE(said.ok());
  CHECK(said->params == Params{"session=1"});
  CHECK(said->fds.empty());
}

TEST_CASE("a zygote of hookd's own identity switches each child to the hook user",
          "[zygote_setup]") {
  ChildSetup run;
  run.identity = nobody();
  run.no_new_privs = false;
  auto said = zygote_run_setup(run, nullptr);
  REQUIRE(said.ok());
  CHECK(said->params == Params{"session=1", "groups=65534,100", "gid=65534", "uid=65534"});
}

TEST_CASE("what a zygote cannot apply is an error, so the run spawns", "[zygote_setup]") {
  ChildSetup other_user;
  other_user.identity = nobody();
  ChildSetup zygote;
  zygote.identity = nobody();
  zygote.identity->uid = 1000;
  CHECK_FALSE(zygote_run_setup(other_user, &zygote).ok());

  ChildSetup no_longer_user;  // the zygote cannot become hookd again
  CHECK_FALSE(zygote_run_setup(no_longer_user, &zygote).ok());

  ChildSetup many;
  many.cgroup_fds = {3, 4, 5, 6, 7, 8, 9};
  CHECK_FALSE(zygote_run_setup(many, nullptr).ok());

  ChildSetup unnamed;
  unnamed.rlimits = {{RLIMIT_RTTIME, 1}};
  CHECK_FALSE(zygote_run_setup(unnamed, nullptr).ok());
}
