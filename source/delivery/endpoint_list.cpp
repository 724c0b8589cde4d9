#include "hookd/delivery/endpoint_list.h"

#include <map>
#include <set>

#include "hookd/core/ascii.h"
#include "hookd/core/durable_file.h"

namespace hookd {

std::vector<EndpointLine> endpoint_file_lines(std::string_view text) {
  std::vector<EndpointLine> out;
  std::size_t pos = 0;
  std::size_t number = 0;
  while (pos <= text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
    ++number;
    line = trim_ows(line);
    if (!line.empty() && line.back() == '\r') line = trim_ows(line.substr(0, line.size() - 1));
    if (!line.empty() && line.front() != '#') out.push_back({number, std::string(line)});
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return out;
}

Result<std::vector<EndpointSpec>> load_endpoint_list(const std::vector<std::string>& flags,
                                                     const std::filesystem::path& file) {
  std::vector<EndpointSpec> out;
  std::set<std::string> names;
  auto add = [&](std::string_view text, const std::string& where) -> Status {
    auto spec = parse_endpoint_spec(text);
    if (!spec) return make_error(where + ": " + spec.error().message);
    if (!names.insert(spec->name).second) {
      return make_error(where + ": endpoint \"" + spec->name + "\" given twice");
    }
    out.push_back(std::move(spec).value());
    return Ok{};
  };
  for (const auto& text : flags) {
    if (Status st = add(text, "--endpoint"); !st) return st.error();
  }
  if (!file.empty()) {
    auto text = read_whole_file(file);
    if (!text) return make_error("--endpoints-file: cannot read " + file.string());
    for (const auto& line : endpoint_file_lines(*text)) {
      if (Status st = add(line.text, file.string() + ":" + std::to_string(line.line)); !st) {
        return st.error();
      }
    }
  }
  return out;
}

EndpointChanges endpoint_changes(const std::vector<EndpointSpec>& running,
                                 const std::vector<EndpointSpec>& wanted) {
  std::map<std::string, const EndpointSpec*> now;
  for (const auto& spec : running)
    now[spec.name] = &spec;
  EndpointChanges changes;
  std::set<std::string> kept;
  for (const auto& spec : wanted) {
    kept.insert(spec.name);
    auto it = now.find(spec.name);
    if (it == now.end()) {
      changes.added.push_back(spec);
    } else if (it->second->source != spec.source) {
      changes.changed.push_back(spec);
    }
  }
  for (const auto& spec : running) {
    if (!kept.count(spec.name)) changes.removed.push_back(spec.name);
  }
  return changes;
}

}  // namespace hookd
