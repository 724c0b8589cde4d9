// SipHash-2-4 with its 128-bit output (Aumasson and Bernstein): a keyed
// pseudorandom function that is cheap on short inputs. Whoever does not know
// the key can neither predict a digest nor make two inputs share one, so a
// digest under a secret key names its input as well as SHA-256 does for an
// in-memory table, at a tenth of the instructions. Pure; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace hookd::api {

using SipKey = std::array<std::uint64_t, 2>;  // k0, k1: the key's bytes read little-endian
using SipDigest = std::array<unsigned char, 16>;

// Fed in pieces: the digest is that of the concatenation.
class SipHash128 {
 public:
  explicit SipHash128(const SipKey& key);
  void add(std::string_view bytes);
  SipDigest finish();

 private:
  void compress(std::uint64_t word);

  std::uint64_t v_[4];
  std::uint64_t tail_ = 0;  // bytes not yet a whole word, little-endian
  std::size_t tail_bytes_ = 0;
  std::uint64_t length_ = 0;  // bytes added so far
};

// A key from the operating system's random source.
SipKey random_sip_key();

}  // namespace hookd::api
