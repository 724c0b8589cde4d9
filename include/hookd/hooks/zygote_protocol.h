// The prewarm zygote's wire protocol: what hookd and its warm Python
// (source/hooks/zygote.py) say to each other over one AF_UNIX SOCK_SEQPACKET
// socketpair, the zygote's end being its stdin. One record is one message,
// so a message and the descriptors sent with it (SCM_RIGHTS) arrive together.
//
// Record 0, hookd -> zygote, unframed: the zygote's Python source, which the
// `-c` bootstrap executes. Every later record is framed:
//
//   u32  length    bytes after this field (big-endian, like every integer)
//   u8   version   kZygoteProtocolVersion
//   u8   type      MessageType
//   then fields up to the end of the record, each
//   u8   tag       FieldTag
//   u32  length
//   ...  value     bytes; integers are 8 bytes (u64)
//
// A record is at most kZygoteMaxRecordBytes. A record that breaks any of
// this is a protocol error: the zygote stops, hookd gives the zygote up.
//
// The conversation:
//
//   hookd -> LOAD     INTERPRETER (its argv[0]), ENV* (the environment it was
//                     started with: what the interpreter added at start-up,
//                     such as PEP 538's LC_CTYPE, is added to every run too),
//                     PRELOAD* (modules), SCRIPT* (paths to compile)
//   zygote -> READY   PID, IMPLEMENTATION, VERSION, SCRIPT* (those compiled
//                     cleanly; runs of any other script use spawn), NOTE*
//                     (preload and compile problems); or ERROR alone when
//                     this interpreter cannot be a zygote (not CPython, no
//                     os.fork or os.pidfd_open), after which it exits.
//   hookd -> RUN      RUN_ID, SCRIPT, ARG* (sys.argv), ENV* (the run's whole
//                     environment), CWD, PARAM* ("name=value", see below);
//                     SCM_RIGHTS: [stdin, stdout+stderr write end, then the
//                     cgroup.procs files of cgroup.fds]
//   zygote -> FAILED  RUN_ID, ERROR: nothing was forked
//   child -> STARTED  RUN_ID, PID; SCM_RIGHTS: [its own pidfd]. The forked
//                     child sends this itself (it holds the socket until it
//                     closes its descriptors), once it is in its own process
//                     group and before the script runs.
//       or FAILED     RUN_ID, PID, ERROR: it could not set itself up, and
//                     exits without running the script
//   hookd -> REAP     RUN_ID, once the child has exited (its pidfd is
//                     readable), or after a FAILED with PID
//   zygote -> STATUS  RUN_ID, STATUS (the raw waitpid status)
//          or STATUS  RUN_ID, ERROR (not a child of this zygote)
//   zygote -> ERROR   ERROR: hookd sent a bad record; the zygote exits
//
// The zygote stays the parent of every child until hookd asks for the reap,
// so a pid it reported is never recycled while hookd may still signal its
// group, and the pidfd (opened by the child for itself) is certainly of that
// child; hookd also checks that it names PID. A child runs its script only
// after it sent STARTED: a run hookd never heard of never ran, so hookd can
// start it elsewhere without running it twice. The zygote does next to
// nothing between a fork and the next record: whatever it writes while a
// child shares its pages is copied.
//
// Run parameters (PARAM) are applied in the child before the script, in
// ChildSetup's order (child_setup.h), and a name the zygote does not know
// fails the run before the fork:
//   session=1              setsid (else setpgid: a group of its own)
//   cgroup.fds=N           write "0" to each of the N descriptors after the
//                          first two (cgroup.procs files hookd opened: the
//                          kernel checks the opener's rights), N <= 6
//   cgroup=DIR             join DIR (writes the pid to DIR/cgroup.procs)
//   rlimit.NAME=SOFT:HARD  setrlimit(RLIMIT_NAME), "inf" for no limit
//   subreaper=1 / no_new_privs=1   the prctl()s
//   (then the chdir to CWD)
//   groups=G,G / gid=G / uid=U   setgroups, setgid, setuid, in that order
//
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hookd/core/result.h"

namespace hookd {

inline constexpr std::uint8_t kZygoteProtocolVersion = 1;
// SOCK_SEQPACKET records must fit the sender's socket buffer, which both
// ends raise to twice this.
inline constexpr std::size_t kZygoteMaxRecordBytes = 192 * 1024;

enum class ZygoteMessageType : std::uint8_t {
  load = 1,
  run = 2,
  reap = 3,
  ready = 16,
  started = 17,
  failed = 18,
  status = 19,
  error = 20,
};

enum class ZygoteTag : std::uint8_t {
  run_id = 1,
  script = 2,
  arg = 3,
  env = 4,
  cwd = 5,
  param = 6,
  preload = 7,
  pid = 8,
  status = 9,
  error = 10,
  note = 11,
  implementation = 12,
  version = 13,
  interpreter = 14,
};

struct ZygoteMessage {
  ZygoteMessageType type{};
  std::vector<std::pair<ZygoteTag, std::string>> fields;  // in record order

  void add(ZygoteTag tag, std::string_view value) { fields.emplace_back(tag, std::string(value)); }
  void add_u64(ZygoteTag tag, std::uint64_t value);

  // The first field with this tag.
  std::optional<std::string_view> get(ZygoteTag tag) const;
  // nullopt when absent or not 8 bytes long.
  std::optional<std::uint64_t> get_u64(ZygoteTag tag) const;
  std::vector<std::string_view> all(ZygoteTag tag) const;
};

// The framed record. Its size is not checked here: see kZygoteMaxRecordBytes.
std::string encode_zygote_message(const ZygoteMessage& message);

// One received record. Errors name what is wrong with it.
Result<ZygoteMessage> decode_zygote_message(std::string_view record);

}  // namespace hookd
