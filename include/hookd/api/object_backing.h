// ObjectBacking: where ApiStore keeps its objects when that is not its own
// files, so that several nodes share them (Redis with --queue). Objects are
// named as their files would be, relative to the store's directory
// ("apps/<id>.json", "endpoints/<id>.json", "event-types/<name>.json"),
// and hold the same text (store_codec). Every call blocks: the store makes
// them on its writer thread, its refresh thread and at start-up, never on a
// reactor. Implementations must be thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "hookd/core/result.h"

namespace hookd::api {

class ObjectBacking {
 public:
  struct Write {
    std::string name;
    std::string content;  // empty with remove
    bool remove = false;
  };

  virtual ~ObjectBacking() = default;

  // Every object (name, content) and the version they are at.
  struct Snapshot {
    std::vector<std::pair<std::string, std::string>> objects;
    std::uint64_t version = 0;
  };
  virtual Result<Snapshot> load() = 0;

  // Applies the writes in order, atomically, and moves the version on.
  virtual Status apply(const std::vector<Write>& writes) = 0;

  // The version now: when it differs from the last one seen, some node
  // changed an object.
  virtual Result<std::uint64_t> version() = 0;
};

}  // namespace hookd::api
