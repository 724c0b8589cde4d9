// What the fuzz targets share: a property check that survives NDEBUG and
// turns a broken property into a libFuzzer crash report with its message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace hookd::fuzz {

[[noreturn]] inline void property_failed(const char* file, int line, const char* what) {
  std::fprintf(stderr, "%s:%d: property does not hold: %s\n", file, line, what);
  std::abort();
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace hookd::fuzz

// Checks `condition` on every build; on failure libFuzzer saves the input.
#define FUZZ_CHECK(condition) \
  ((condition) ? void(0) : ::hookd::fuzz::property_failed(__FILE__, __LINE__, #condition))
