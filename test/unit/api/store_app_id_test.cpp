// ApiStore::app_id_of: the per-thread answer message create uses never
// outlives a change of the model, nor the store it came from.
#include <catch2/catch.hpp>
#include <future>
#include <memory>
#include <string>

#include "hookd/api/route_support.h"
#include "hookd/api/store.h"
#include "support/support.h"

namespace {

using hookd::api::ApiStore;
using hookd::api::ApplicationInput;
using hookd::api::Change;
using hookd::api::Model;

std::string create_app(ApiStore& store, const std::string& uid) {
  ApplicationInput input;
  input.name = {true, false, uid};
  input.uid = {true, false, uid};
  std::string id;
  // Answered once written, on the store's writer thread.
  auto status = std::make_shared<std::promise<int>>();
  std::future<int> answered = status->get_future();
  store.change([&](Model& model) { return create_application(store, model, input, false, &id); },
               [status](int code, std::string) { status->set_value(code); });
  REQUIRE(answered.get() == 201);
  return id;
}

void delete_app(ApiStore& store, const std::string& id, const std::string& uid) {
  store.change(
      [&](Model& model) {
        model.apps.erase(id);
        model.app_id_by_uid.erase(uid);
        return Change{};
      },
      [](int, std::string) {});
}

}  // namespace

TEST_CASE("ApiStore::app_id_of answers by id and uid and follows every change", "[api][store]") {
  hookd::test::TempDir dir;
  auto opened = ApiStore::open(dir.path() / "api", hookd::api::Limits{});
  REQUIRE(opened);
  ApiStore& store = **opened;
  CHECK(store.app_id_of("bench").empty());
  const std::string id = create_app(store, "bench");  // after an answer of none
  CHECK(store.app_id_of("bench") == id);
  CHECK(store.app_id_of("bench") == id);  // the remembered answer
  CHECK(store.app_id_of(id) == id);
  CHECK(store.app_id_of("other").empty());
  delete_app(store, id, "bench");
  CHECK(store.app_id_of("bench").empty());
  CHECK(store.app_id_of(id).empty());
}

TEST_CASE("ApiStore::app_id_of never answers with another store's application", "[api][store]") {
  hookd::test::TempDir dir;
  std::string first_id;
  {
    auto first = ApiStore::open(dir.path() / "first", hookd::api::Limits{});
    REQUIRE(first);
    first_id = create_app(**first, "bench");
    CHECK((*first)->app_id_of("bench") == first_id);
  }
  // Likely at the first one's address, with as many changes behind it.
  auto second = ApiStore::open(dir.path() / "second", hookd::api::Limits{});
  REQUIRE(second);
  const std::string second_id = create_app(**second, "bench");
  REQUIRE(second_id != first_id);
  CHECK((*second)->app_id_of("bench") == second_id);
}
