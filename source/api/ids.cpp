#include "hookd/api/ids.h"

#include <array>
#include <cstring>
#include <mutex>
#include <random>

#include "hookd/core/rfc3339.h"

namespace hookd::api {
namespace {

// KSUID: 4 bytes of seconds since this epoch (2014-05-13), big-endian, then
// the payload. As in Svix's millisecond KSUIDs, the payload's first byte is
// the fraction of the second in 1/256ths; 15 random bytes follow.
constexpr std::int64_t kEpochSeconds = 1400000000;
constexpr std::size_t kBytes = kIdBytes;
constexpr std::size_t kTimeBytes = 5;
constexpr char kBase62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

using Raw = std::array<unsigned char, kBytes>;

// Seconds and 1/256ths since the KSUID epoch, clamped to what 4 bytes hold.
std::uint64_t ticks_of(std::int64_t unix_ms) {
  std::int64_t ms = unix_ms - kEpochSeconds * 1000;
  if (ms < 0) ms = 0;
  std::uint64_t seconds = static_cast<std::uint64_t>(ms) / 1000;
  std::uint64_t fraction = (static_cast<std::uint64_t>(ms) % 1000) * 256 / 1000;
  if (seconds > 0xFFFFFFFFull) return 0xFFFFFFFFFFull;
  return (seconds << 8) | fraction;
}

void put_ticks(Raw& raw, std::uint64_t ticks) {
  for (std::size_t i = 0; i < kTimeBytes; ++i)
    raw[i] = static_cast<unsigned char>(ticks >> (8 * (kTimeBytes - 1 - i)));
}

// Two base62 digits per entry: kPairs[2 * v], kPairs[2 * v + 1] for v < 62^2.
constexpr std::size_t kPairCount = 62 * 62;
constexpr std::array<char, 2 * kPairCount> kPairs = [] {
  std::array<char, 2 * kPairCount> pairs{};
  for (std::size_t v = 0; v < kPairCount; ++v) {
    pairs[2 * v] = kBase62[v / 62];
    pairs[2 * v + 1] = kBase62[v % 62];
  }
  return pairs;
}();

// Writes `value` (< 62^2) as two digits at `out`.
void put_pair(char* out, std::uint32_t value) {
  std::memcpy(out, &kPairs[2 * value], 2);
}

// Writes the 27 base62 digits of `raw` at `out`.
void encode_body(char* out, const Raw& raw) {
  // 160 bits in base 62 is 27 digits (62^27 > 2^160): divide the big-endian
  // number (five 32-bit words) by 62^5 five times, each remainder giving
  // five digits from the right (as two pairs and one digit), and what is
  // left (< 62^2) is the first two. A word the quotient has left at zero is
  // not divided again: 19 divisions, not 25.
  constexpr std::uint64_t kChunk = 62ull * 62 * 62 * 62 * 62;  // < 2^32
  constexpr std::size_t kWords = kBytes / 4;
  std::uint32_t words[kWords];
  for (std::size_t w = 0; w < kWords; ++w) {
    words[w] = static_cast<std::uint32_t>(raw[4 * w]) << 24 |
               static_cast<std::uint32_t>(raw[4 * w + 1]) << 16 |
               static_cast<std::uint32_t>(raw[4 * w + 2]) << 8 | raw[4 * w + 3];
  }
  char* end = out + kIdBodyLength;
  std::size_t first = 0;  // words before it are zero
  for (std::size_t round = 0; round < 5; ++round) {
    std::uint64_t remainder = 0;
    for (std::size_t w = first; w < kWords; ++w) {
      std::uint64_t value = (remainder << 32) | words[w];
      words[w] = static_cast<std::uint32_t>(value / kChunk);
      remainder = value % kChunk;
    }
    while (first < kWords && words[first] == 0)
      ++first;
    auto chunk = static_cast<std::uint32_t>(remainder);
    end -= 5;
    put_pair(end + 3, chunk % kPairCount);
    chunk /= kPairCount;
    put_pair(end + 1, chunk % kPairCount);
    end[0] = kBase62[chunk / kPairCount];
  }
  // 2^160 / 62^25 < 62^2: only the last word is left, below 62^2.
  put_pair(end - 2, words[kWords - 1]);
}

// Adds one to the base62 number of `body`: the body of raw + 1, for a raw
// whose + 1 did not run past 2^160.
void increment_body(char* body) {
  for (std::size_t i = kIdBodyLength; i-- > 0;) {
    char& c = body[i];
    if (c == 'z') {
      c = '0';
      continue;
    }
    c = c == '9' ? 'A' : c == 'Z' ? 'a' : static_cast<char>(c + 1);
    return;
  }
}

std::string with_prefix(std::string_view prefix, const char* body) {
  std::string out(prefix.size() + kIdBodyLength, '0');
  std::memcpy(out.data(), prefix.data(), prefix.size());
  std::memcpy(out.data() + prefix.size(), body, kIdBodyLength);
  return out;
}

std::string encode(std::string_view prefix, const Raw& raw) {
  char body[kIdBodyLength];
  encode_body(body, raw);
  return with_prefix(prefix, body);
}

int digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  if (c >= 'a' && c <= 'z') return c - 'a' + 36;
  return -1;
}

std::optional<Raw> decode(std::string_view body) {
  if (body.size() != kIdBodyLength) return std::nullopt;
  Raw raw{};
  for (char c : body) {
    int digit = digit_value(c);
    if (digit < 0) return std::nullopt;
    unsigned carry = static_cast<unsigned>(digit);
    for (std::size_t i = kBytes; i-- > 0;) {
      unsigned value = raw[i] * 62u + carry;
      raw[i] = static_cast<unsigned char>(value & 0xFF);
      carry = value >> 8;
    }
    if (carry != 0) return std::nullopt;  // beyond 160 bits
  }
  return raw;
}

struct IdClock {
  IdClock() { encode_body(last_body, last); }

  std::mutex mutex;
  std::uint64_t last_ticks = 0;
  Raw last{};
  // The digits of `last`: an id within the same tick is the last one plus
  // one, so its digits are the last digits plus one, with no division.
  char last_body[kIdBodyLength] = {};
  std::mt19937_64 rng{[] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }()};
};

IdClock& id_clock() {
  static IdClock clock;
  return clock;
}

}  // namespace

std::string new_id(std::string_view prefix) {
  return new_id(prefix, now_unix_ms());
}

std::string new_id(std::string_view prefix, std::int64_t now_unix_ms) {
  std::uint64_t now = ticks_of(now_unix_ms);
  char body[kIdBodyLength];
  {
    IdClock& clock = id_clock();
    std::lock_guard lock(clock.mutex);
    if (now > clock.last_ticks) {
      clock.last_ticks = now;
      put_ticks(clock.last, now);
      for (std::size_t i = kTimeBytes; i < kBytes; i += 8) {
        std::uint64_t random = clock.rng();
        for (std::size_t j = i; j < std::min(kBytes, i + 8); ++j) {
          clock.last[j] = static_cast<unsigned char>(random);
          random >>= 8;
        }
      }
      encode_body(clock.last_body, clock.last);
    } else {
      // Same tick, or the clock stepped back: count up from the last id so
      // ids keep their order (the carry may run into the time bytes).
      std::size_t i = kBytes;
      while (i-- > 0 && ++clock.last[i] == 0) {
      }
      if (i < kBytes) {
        increment_body(clock.last_body);
      } else {
        encode_body(clock.last_body, clock.last);  // 2^160 - 1 + 1 wrapped to 0
      }
    }
    std::memcpy(body, clock.last_body, kIdBodyLength);
  }
  return with_prefix(prefix, body);
}

std::string id_at(std::string_view prefix, std::int64_t unix_ms, bool high) {
  Raw raw;
  raw.fill(high ? 0xFF : 0x00);
  put_ticks(raw, ticks_of(unix_ms));
  return encode(prefix, raw);
}

std::string id_of_bytes(std::string_view prefix, const std::array<unsigned char, kIdBytes>& bytes) {
  return encode(prefix, bytes);
}

bool is_id(std::string_view id, std::string_view prefix) {
  return id.size() == prefix.size() + kIdBodyLength && id.substr(0, prefix.size()) == prefix &&
         decode(id.substr(prefix.size())).has_value();
}

std::optional<std::int64_t> id_unix_ms(std::string_view id, std::string_view prefix) {
  if (id.substr(0, prefix.size()) != prefix) return std::nullopt;
  auto raw = decode(id.substr(prefix.size()));
  if (!raw) return std::nullopt;
  std::uint64_t ticks = 0;
  for (std::size_t i = 0; i < kTimeBytes; ++i)
    ticks = (ticks << 8) | (*raw)[i];
  return (kEpochSeconds + static_cast<std::int64_t>(ticks >> 8)) * 1000 +
         static_cast<std::int64_t>((ticks & 0xFF) * 1000 / 256);
}

}  // namespace hookd::api
