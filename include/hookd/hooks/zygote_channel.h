// The socket between hookd and a zygote, at the level of records: one
// AF_UNIX SOCK_SEQPACKET socketpair, where each send is one record that
// arrives whole, with the descriptors passed along (SCM_RIGHTS). What the
// records say is zygote_protocol.h's.
//
// Free functions over a descriptor. send_zygote_record() may be called from
// several threads at once (the kernel keeps records whole); receive from one.
#pragma once

#include <array>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/core/result.h"

namespace hookd {

// [hookd's end, the zygote's end], both close-on-exec, their buffers raised
// so a record of kZygoteMaxRecordBytes fits.
Result<std::array<int, 2>> make_zygote_socketpair();

// Sends one record with `fds`, waiting while the socket buffer is full, at
// most until `deadline`.
Status send_zygote_record(int socket, std::string_view record, const std::vector<int>& fds,
                          std::chrono::steady_clock::time_point deadline);

struct ReceivedRecord {
  enum class Kind {
    record,    // `bytes` and `fds` (close-on-exec, the caller's to close)
    none_yet,  // nothing to read now
    end,       // the peer closed its end (or `error`)
    oversized  // over kZygoteMaxRecordBytes, or descriptors cut short (closed already)
  };
  Kind kind = Kind::none_yet;
  std::string bytes;
  std::vector<int> fds;
  std::string error;
};

// One record, without waiting. `buffer` is reused between calls.
ReceivedRecord receive_zygote_record(int socket, std::vector<char>& buffer);

// Closes each descriptor and empties the list.
void close_fds(std::vector<int>& fds);

}  // namespace hookd
