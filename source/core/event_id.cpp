#include "hookd/core/event_id.h"

#include <cstdint>
#include <mutex>
#include <random>

#include "hookd/core/rfc3339.h"

namespace hookd {
namespace {

// ULID state shared by every thread: ids made in the same millisecond take
// the previous random part plus one, so they still sort in creation order.
struct UlidClock {
  std::mutex mutex;
  std::uint64_t last_ms = 0;
  std::uint16_t random_high = 0;  // top 16 of the 80 random bits
  std::uint64_t random_low = 0;   // low 64
  std::mt19937_64 rng{[] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }()};
};

UlidClock& ulid_clock() {
  static UlidClock clock;
  return clock;
}
}  // namespace

std::string new_event_id() {
  static constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  auto now = static_cast<std::uint64_t>(now_unix_ms()) & ((std::uint64_t{1} << 48) - 1);

  std::uint64_t ms;
  std::uint64_t high;
  std::uint64_t low;
  {
    UlidClock& clock = ulid_clock();
    std::lock_guard lock(clock.mutex);
    if (now > clock.last_ms) {
      clock.last_ms = now;
      clock.random_low = clock.rng();
      clock.random_high = static_cast<std::uint16_t>(clock.rng());
    } else {
      // Same millisecond, or the clock stepped back: keep the last time and
      // count up so ids never go backwards.
      if (++clock.random_low == 0 && ++clock.random_high == 0) ++clock.last_ms;
    }
    ms = clock.last_ms;
    high = clock.random_high;
    low = clock.random_low;
  }

  __extension__ using u128 = unsigned __int128;
  u128 value = (static_cast<u128>(ms) << 80) | (static_cast<u128>(high) << 64) | low;
  std::string id = "evt_";
  id.resize(4 + 26);
  for (int i = 0; i < 26; ++i) {
    id[4 + i] = kCrockford[static_cast<unsigned>(value >> (125 - 5 * i)) & 31];
  }
  return id;
}

}  // namespace hookd
