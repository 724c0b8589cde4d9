// libgit2's standard socket stream replaced by one whose every wait ends at
// the fetch's deadline or its cancel (FetchControl). Every socket libgit2
// opens goes through git_socket_stream_new(), which honours a registered
// GIT_STREAM_STANDARD constructor: git://, http:// and https:// (the TLS
// stream wraps the standard one) do all their I/O through ours; libssh2 takes
// the descriptor and reads it itself, which FetchControl's shutdown() covers.
// Thread-safe: each fetching thread names its own control.
#pragma once

namespace hookd {

class FetchControl;

// Registers the stream with libgit2; after every git_libgit2_init(), since
// the registry is reset when libgit2's init count drops to zero. Returns
// libgit2's error code (0 on success).
int register_deadline_socket_stream();

// While alive, the streams libgit2 creates on this thread (it creates them
// synchronously, on the calling thread) obey `control`; outside one, a
// stream waits without deadline as libgit2's own does.
class ScopedFetchControl {
 public:
  explicit ScopedFetchControl(FetchControl& control);
  ~ScopedFetchControl();
  ScopedFetchControl(const ScopedFetchControl&) = delete;
  ScopedFetchControl& operator=(const ScopedFetchControl&) = delete;

 private:
  FetchControl* previous_;
};

}  // namespace hookd
