// SharedTally: counters and last values that every node adds to, so that
// each shows the same figures (with --queue: one Redis hash per key). add()
// and set() never block: they are queued and sent by the owner in the
// background. read() answers from the last fetch of a watched key, so a
// change shows on every node within the refresh period. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace hookd {

class SharedTally {
 public:
  virtual ~SharedTally() = default;

  virtual void add(const std::string& key, const std::string& field, std::int64_t by) = 0;
  virtual void set(const std::string& key, const std::string& field, const std::string& value) = 0;
  // This node's share of a figure: read() gives `field` as the sum of every
  // node's share (e.g. the dead letters each node holds).
  virtual void set_own_share(const std::string& key, const std::string& field,
                             std::uint64_t value) = 0;
  // Starts fetching the key; until the first fetch read() is empty.
  virtual void watch(const std::string& key) = 0;
  virtual std::map<std::string, std::string> read(const std::string& key) const = 0;
};

}  // namespace hookd
