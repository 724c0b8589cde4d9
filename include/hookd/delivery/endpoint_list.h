// The endpoints hookd runs: the --endpoint flags plus the lines of an
// --endpoints-file (read again on SIGHUP), and what changes between the
// endpoints running and the ones a reload asks for. Thread-safe; reading
// the file blocks.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/core/result.h"
#include "hookd/delivery/endpoint_spec.h"

namespace hookd {

// The specs in an endpoints file: one per line; blank lines and lines whose
// first non-blank character is '#' are skipped. Each with its line number.
struct EndpointLine {
  std::size_t line = 0;
  std::string text;
};
std::vector<EndpointLine> endpoint_file_lines(std::string_view text);

// Every spec of `flags`, then of `file` (none when empty), parsed; names
// must be unique. An error names where the bad spec came from:
// `--endpoint: ...` or `<file>:<line>: ...`.
Result<std::vector<EndpointSpec>> load_endpoint_list(const std::vector<std::string>& flags,
                                                     const std::filesystem::path& file);

// From `running` to `wanted`, by name: new names are added, missing ones
// removed, and a name whose spec text differs is changed (restarted).
struct EndpointChanges {
  std::vector<EndpointSpec> added;
  std::vector<std::string> removed;
  std::vector<EndpointSpec> changed;
  bool empty() const { return added.empty() && removed.empty() && changed.empty(); }
};
EndpointChanges endpoint_changes(const std::vector<EndpointSpec>& running,
                                 const std::vector<EndpointSpec>& wanted);

}  // namespace hookd
