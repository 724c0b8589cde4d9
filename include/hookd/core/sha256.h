// SHA-256 for per-request digests (bearer tokens, idempotency keys, derived
// ids), on one OpenSSL context per thread that is reset for each digest:
// making and freeing a context per request costs more than the hashing.
// Sha256 objects are for one thread, one at a time per thread.
#pragma once

#include <array>
#include <string_view>

namespace hookd {

using Sha256Digest = std::array<unsigned char, 32>;

class Sha256 {
 public:
  Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void add(std::string_view bytes);
  Sha256Digest finish();
};

Sha256Digest sha256(std::string_view bytes);

}  // namespace hookd
