// N-API glue: the few kernel calls Node itself lacks. No container logic lives here (that is the
// tsrun-init helper's job, see src/protocol/protocol.ts); each export checks its arguments and
// throws an Error carrying `code` (errno name), `errno` and `syscall`, like Node's fs errors.
#include <napi.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>
#include <linux/bpf.h>
#include <poll.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include "door/wire.h"

namespace {

const char* ErrnoName(int err) {
  switch (err) {
    case EAGAIN: return "EAGAIN";
    case EBADF: return "EBADF";
    case EINTR: return "EINTR";
    case EINVAL: return "EINVAL";
    case ENOLCK: return "ENOLCK";
    case EEXIST: return "EEXIST";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENOTDIR: return "ENOTDIR";
    case EROFS: return "EROFS";
    case ENOSPC: return "ENOSPC";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EPROTO: return "EPROTO";
    case EADDRINUSE: return "EADDRINUSE";
    case E2BIG: return "E2BIG";
    case EBUSY: return "EBUSY";
    case EFAULT: return "EFAULT";
    case ENOMEM: return "ENOMEM";
    case ENOSYS: return "ENOSYS";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ESRCH: return "ESRCH";
    default: return "EUNKNOWN";
  }
}

Napi::Error SysError(Napi::Env env, const char* syscall, int err, const std::string& path = "") {
  std::string msg = std::string(ErrnoName(err)) + ": " + strerror(err) + ", " + syscall;
  if (!path.empty()) msg += " '" + path + "'";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, ErrnoName(err)));
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("syscall", Napi::String::New(env, syscall));
  if (!path.empty()) e.Set("path", Napi::String::New(env, path));
  return e;
}

bool CheckArgs(const Napi::CallbackInfo& info, size_t count, const char* usage) {
  if (info.Length() != count) {
    Napi::TypeError::New(info.Env(), usage).ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

// Throws `e` and gives the value an export returns after throwing.
Napi::Value Throw(const Napi::Error& e) {
  e.ThrowAsJavaScriptException();
  return e.Env().Undefined();
}

// Checks for exactly `count` arguments, all numbers, and reads them as uint32 into `out`.
bool Uint32Args(const Napi::CallbackInfo& info, size_t count, const char* usage, uint32_t* out) {
  if (!CheckArgs(info, count, usage)) return false;
  for (size_t i = 0; i < count; i++) {
    if (!info[i].IsNumber()) {
      Napi::TypeError::New(info.Env(), usage).ThrowAsJavaScriptException();
      return false;
    }
    out[i] = info[i].As<Napi::Number>().Uint32Value();
  }
  return true;
}

// Checks for exactly one argument, a string, and reads it into `out`.
bool StringArg(const Napi::CallbackInfo& info, const char* usage, std::string* out) {
  if (!CheckArgs(info, 1, usage)) return false;
  if (!info[0].IsString()) {
    Napi::TypeError::New(info.Env(), usage).ThrowAsJavaScriptException();
    return false;
  }
  *out = info[0].As<Napi::String>().Utf8Value();
  return true;
}

// ---- bpf(2) for the cgroup v2 device controller (src/cgroups/bpf.ts) ----

long Bpf(int cmd, union bpf_attr* attr) {
  long rc;
  do {
    rc = syscall(__NR_bpf, cmd, attr, sizeof(*attr));
  } while (rc < 0 && errno == EINTR);
  return rc;
}

uint64_t Ptr(const void* p) { return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p)); }

// bpfLoadCgroupDeviceProgram(instructions, license, name) -> fd: BPF_PROG_LOAD of a
// BPF_PROG_TYPE_CGROUP_DEVICE program. The first try goes without a log (the verifier is faster and
// a short log buffer cannot fail a good program with ENOSPC); a refused program is loaded again with
// a log, which the error carries as `verifierLog`.
Napi::Value BpfLoadCgroupDeviceProgram(const Napi::CallbackInfo& info) {
  const char* usage = "bpfLoadCgroupDeviceProgram(instructions: Uint8Array, license: string, name: string)";
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 3, usage)) return env.Undefined();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
      !info[1].IsString() || !info[2].IsString()) {
    return Throw(Napi::TypeError::New(env, usage));
  }
  Napi::Uint8Array insns = info[0].As<Napi::Uint8Array>();
  if (insns.ByteLength() == 0 || insns.ByteLength() % sizeof(struct bpf_insn) != 0) {
    return Throw(Napi::TypeError::New(env, "bpfLoadCgroupDeviceProgram: instructions must be whole 8-byte bpf_insn records"));
  }
  std::string license = info[1].As<Napi::String>().Utf8Value();
  std::string name = info[2].As<Napi::String>().Utf8Value();
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = Ptr(insns.Data());
  attr.insn_cnt = static_cast<uint32_t>(insns.ByteLength() / sizeof(struct bpf_insn));
  attr.license = Ptr(license.c_str());
  strncpy(attr.prog_name, name.c_str(), sizeof(attr.prog_name) - 1);
  long fd = Bpf(BPF_PROG_LOAD, &attr);
  if (fd >= 0) return Napi::Number::New(env, static_cast<double>(fd));
  int err = errno;
  std::vector<char> log(256 * 1024, '\0');
  attr.log_level = 1;
  attr.log_buf = Ptr(log.data());
  attr.log_size = static_cast<uint32_t>(log.size());
  fd = Bpf(BPF_PROG_LOAD, &attr);
  if (fd >= 0) return Napi::Number::New(env, static_cast<double>(fd));  // refused once, accepted now
  Napi::Error e = SysError(env, "bpf(BPF_PROG_LOAD)", err);
  log.back() = '\0';
  e.Set("verifierLog", Napi::String::New(env, log.data()));
  return Throw(e);
}

// BPF_PROG_ATTACH or BPF_PROG_DETACH of (cgroupFd, programFd) as a BPF_CGROUP_DEVICE program.
Napi::Value CgroupDeviceLink(const Napi::CallbackInfo& info, int cmd, const char* syscall, const char* usage) {
  uint32_t a[2];
  if (!Uint32Args(info, 2, usage, a)) return info.Env().Undefined();
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.target_fd = a[0];
  attr.attach_bpf_fd = a[1];
  attr.attach_type = BPF_CGROUP_DEVICE;
  // ALLOW_MULTI: programs attached to ancestors (and a second one here during an update) all keep
  // running. Detach takes no flags; with ALLOW_MULTI it needs to be told which program.
  if (cmd == BPF_PROG_ATTACH) attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (Bpf(cmd, &attr) < 0) return Throw(SysError(info.Env(), syscall, errno));
  return info.Env().Undefined();
}

// bpfAttachCgroupDevice(cgroupFd, programFd)
Napi::Value BpfAttachCgroupDevice(const Napi::CallbackInfo& info) {
  return CgroupDeviceLink(info, BPF_PROG_ATTACH, "bpf(BPF_PROG_ATTACH)", "bpfAttachCgroupDevice(cgroupFd: number, programFd: number)");
}

// bpfDetachCgroupDevice(cgroupFd, programFd)
Napi::Value BpfDetachCgroupDevice(const Napi::CallbackInfo& info) {
  return CgroupDeviceLink(info, BPF_PROG_DETACH, "bpf(BPF_PROG_DETACH)", "bpfDetachCgroupDevice(cgroupFd: number, programFd: number)");
}

// bpfQueryCgroupDevice(cgroupFd) -> ids: BPF_PROG_QUERY of the device programs attached to this
// cgroup itself (not the ones inherited from ancestors). ENOSPC says how many there are: retry.
Napi::Value BpfQueryCgroupDevice(const Napi::CallbackInfo& info) {
  uint32_t a[1];
  Napi::Env env = info.Env();
  if (!Uint32Args(info, 1, "bpfQueryCgroupDevice(cgroupFd: number)", a)) return env.Undefined();
  std::vector<uint32_t> ids(64);
  union bpf_attr attr;
  for (int tries = 0;; tries++) {
    memset(&attr, 0, sizeof(attr));
    attr.query.target_fd = a[0];
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = Ptr(ids.data());
    attr.query.prog_cnt = static_cast<uint32_t>(ids.size());
    if (Bpf(BPF_PROG_QUERY, &attr) == 0) break;
    if (errno != ENOSPC || tries >= 5) return Throw(SysError(env, "bpf(BPF_PROG_QUERY)", errno));
    ids.resize(attr.query.prog_cnt + 16);  // more were attached meanwhile: grow with room
  }
  Napi::Array out = Napi::Array::New(env, attr.query.prog_cnt);
  for (uint32_t i = 0; i < attr.query.prog_cnt; i++) out.Set(i, Napi::Number::New(env, ids[i]));
  return out;
}

// bpfProgramFdById(id) -> fd: BPF_PROG_GET_FD_BY_ID, to detach a program this process did not load.
Napi::Value BpfProgramFdById(const Napi::CallbackInfo& info) {
  uint32_t a[1];
  if (!Uint32Args(info, 1, "bpfProgramFdById(id: number)", a)) return info.Env().Undefined();
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.prog_id = a[0];
  long fd = Bpf(BPF_PROG_GET_FD_BY_ID, &attr);
  if (fd < 0) return Throw(SysError(info.Env(), "bpf(BPF_PROG_GET_FD_BY_ID)", errno));
  return Napi::Number::New(info.Env(), static_cast<double>(fd));
}

// ---- pidfds: signals that cannot reach a recycled pid (src/state/proc.ts) ----

// pidfdOpen(pid) -> fd (close-on-exec) referring to that process for as long as the fd lives; ESRCH
// when there is no such process. A pid <= 0 is refused here too: kill(2) would read 0 as "my
// process group" and -1 as "every process I may signal".
Napi::Value PidfdOpen(const Napi::CallbackInfo& info) {
  const char* usage = "pidfdOpen(pid: number)";
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 1, usage)) return env.Undefined();
  if (!info[0].IsNumber()) return Throw(Napi::TypeError::New(env, usage));
  double pid = info[0].As<Napi::Number>().DoubleValue();
  if (!(pid >= 1 && pid <= 4194304) || pid != static_cast<double>(static_cast<int>(pid))) {
    return Throw(SysError(env, "pidfd_open", EINVAL));
  }
  long fd = syscall(__NR_pidfd_open, static_cast<pid_t>(pid), 0);
  if (fd < 0) return Throw(SysError(env, "pidfd_open", errno));
  // pidfd_open(2) sets O_CLOEXEC itself.
  return Napi::Number::New(env, static_cast<double>(fd));
}

// pidfdSendSignal(pidfd, signal) -> true, or false when the process has exited (ESRCH): the
// signal goes to the process the fd was opened for, never to whoever has its pid now. Signal 0
// checks that it is still alive.
Napi::Value PidfdSendSignal(const Napi::CallbackInfo& info) {
  uint32_t a[2];
  Napi::Env env = info.Env();
  if (!Uint32Args(info, 2, "pidfdSendSignal(pidfd: number, signal: number)", a)) return env.Undefined();
  if (a[1] > 64) return Throw(SysError(env, "pidfd_send_signal", EINVAL));
  long rc;
  do {
    rc = syscall(__NR_pidfd_send_signal, static_cast<int>(a[0]), static_cast<int>(a[1]), nullptr, 0);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    if (errno == ESRCH) return Napi::Boolean::New(env, false);
    return Throw(SysError(env, "pidfd_send_signal", errno));
  }
  return Napi::Boolean::New(env, true);
}

// flock(fd, exclusive, wait): whole-file advisory lock. The state directory's lock file is held
// for the length of one command; the kernel drops it when the process exits, so a killed tsrun
// never leaves a stale lock behind.
Napi::Value Flock(const Napi::CallbackInfo& info) {
  const char* usage = "flock(fd: number, exclusive: boolean, wait: boolean)";
  if (!CheckArgs(info, 3, usage)) return info.Env().Undefined();
  if (!info[0].IsNumber() || !info[1].IsBoolean() || !info[2].IsBoolean()) {
    Napi::TypeError::New(info.Env(), usage).ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  int op = info[1].As<Napi::Boolean>().Value() ? LOCK_EX : LOCK_SH;
  if (!info[2].As<Napi::Boolean>().Value()) op |= LOCK_NB;
  int rc;
  do {
    rc = flock(fd, op);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    if (errno == EWOULDBLOCK) return Napi::Boolean::New(info.Env(), false);
    SysError(info.Env(), "flock", errno).ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  return Napi::Boolean::New(info.Env(), true);
}

// mkfifo(path, mode): Node has no mkfifo; exec.fifo is what `start` opens to release the init.
Napi::Value Mkfifo(const Napi::CallbackInfo& info) {
  const char* usage = "mkfifo(path: string, mode: number)";
  if (!CheckArgs(info, 2, usage)) return info.Env().Undefined();
  if (!info[0].IsString() || !info[1].IsNumber()) {
    Napi::TypeError::New(info.Env(), usage).ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  mode_t mode = static_cast<mode_t>(info[1].As<Napi::Number>().Uint32Value());
  if (mkfifo(path.c_str(), mode) < 0) {
    SysError(info.Env(), "mkfifo", errno, path).ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  // mkfifo honours the umask; the init may run as another uid and must be able to open it.
  if (chmod(path.c_str(), mode) < 0) {
    SysError(info.Env(), "chmod", errno, path).ThrowAsJavaScriptException();
  }
  return info.Env().Undefined();
}

// recvmsg of up to `len` bytes and the fds sent with them, close-on-exec (no fd of a peer may
// reach a process Node spawns), retried on EINTR; `msg` keeps the control data for CMSG_FIRSTHDR.
ssize_t RecvWithRights(int conn, void* buf, size_t len, void* control, size_t control_len, int flags, struct msghdr* msg) {
  struct iovec iov = {buf, len};
  msg->msg_iov = &iov;
  msg->msg_iovlen = 1;
  msg->msg_control = control;
  msg->msg_controllen = control_len;
  ssize_t n;
  do {
    n = recvmsg(conn, msg, MSG_CMSG_CLOEXEC | flags);
  } while (n < 0 && errno == EINTR);
  msg->msg_iov = nullptr;
  msg->msg_iovlen = 0;
  return n;
}

// Waits, on a worker thread, for one connection on a new AF_UNIX socket at `path` and one
// SCM_RIGHTS message on it: the pty master that tsrun-init sends for `terminal: true`. Used by a
// foreground `run`, which is its own console socket. Node's net module cannot receive fds.
class ReceiveFdWorker : public Napi::AsyncWorker {
 public:
  ReceiveFdWorker(Napi::Env env, std::string path, int listen_fd, int timeout_ms)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), path_(std::move(path)),
        listen_fd_(listen_fd), timeout_ms_(timeout_ms) {}
  ~ReceiveFdWorker() override {
    if (listen_fd_ >= 0) close(listen_fd_);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    struct pollfd p = {listen_fd_, POLLIN, 0};
    int r;
    do {
      r = poll(&p, 1, timeout_ms_);
    } while (r < 0 && errno == EINTR);
    if (r == 0) return Fail("accept", ETIMEDOUT);
    if (r < 0) return Fail("poll", errno);
    int conn = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) return Fail("accept", errno);
    char name[256];
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    struct msghdr msg = {};
    ssize_t n = RecvWithRights(conn, name, sizeof(name) - 1, control, sizeof(control), 0, &msg);
    int saved = errno;
    close(conn);
    if (n < 0) return Fail("recvmsg", saved);
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    if (c == nullptr || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
        c->cmsg_len != CMSG_LEN(sizeof(int)))
      return Fail("recvmsg", EPROTO);
    memcpy(&fd_, CMSG_DATA(c), sizeof(int));
  }
  void OnOK() override { deferred_.Resolve(Napi::Number::New(Env(), fd_)); }
  void OnError(const Napi::Error&) override {
    deferred_.Reject(SysError(Env(), syscall_, errno_, path_).Value());
  }

 private:
  void Fail(const char* syscall, int err) {
    syscall_ = syscall;
    errno_ = err;
    SetError(syscall);
  }
  Napi::Promise::Deferred deferred_;
  std::string path_;
  int listen_fd_;
  int timeout_ms_;
  int fd_ = -1;
  const char* syscall_ = "";
  int errno_ = 0;
};

// receiveFd(path, timeoutMs): binds and listens synchronously (so the path exists when this
// returns), then resolves with the received fd.
Napi::Value ReceiveFd(const Napi::CallbackInfo& info) {
  const char* usage = "receiveFd(path: string, timeoutMs: number)";
  if (!CheckArgs(info, 2, usage)) return info.Env().Undefined();
  if (!info[0].IsString() || !info[1].IsNumber()) {
    Napi::TypeError::New(info.Env(), usage).ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    SysError(info.Env(), "bind", ENAMETOOLONG, path).ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    SysError(info.Env(), "socket", errno).ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)) < 0 || listen(fd, 1) < 0) {
    int saved = errno;
    close(fd);
    SysError(info.Env(), "bind", saved, path).ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  auto* worker = new ReceiveFdWorker(info.Env(), path, fd, info[1].As<Napi::Number>().Int32Value());
  worker->Queue();
  return worker->Promise();
}

// setWindowSize(fd, rows, cols): TIOCSWINSZ on a pty (the container's terminal follows ours).
Napi::Value SetWindowSize(const Napi::CallbackInfo& info) {
  const char* usage = "setWindowSize(fd: number, rows: number, cols: number)";
  if (!CheckArgs(info, 3, usage)) return info.Env().Undefined();
  if (!info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber()) {
    Napi::TypeError::New(info.Env(), usage).ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  struct winsize ws = {};
  ws.ws_row = static_cast<unsigned short>(info[1].As<Napi::Number>().Uint32Value());
  ws.ws_col = static_cast<unsigned short>(info[2].As<Napi::Number>().Uint32Value());
  if (ioctl(info[0].As<Napi::Number>().Int32Value(), TIOCSWINSZ, &ws) < 0) {
    SysError(info.Env(), "ioctl", errno).ThrowAsJavaScriptException();
  }
  return info.Env().Undefined();
}

// eventfd() -> fd: a new eventfd (counter 0, close-on-exec). cgroup v1 signals one registered through
// cgroup.event_control (src/cgroups/oom.ts); Node reads its 8-byte counter like any fd.
Napi::Value EventFd(const Napi::CallbackInfo& info) {
  if (!CheckArgs(info, 0, "eventfd()")) return info.Env().Undefined();
  int fd = eventfd(0, EFD_CLOEXEC);
  if (fd < 0) return Throw(SysError(info.Env(), "eventfd", errno));
  return Napi::Number::New(info.Env(), fd);
}

// engineListen(path) -> fd: the resident engine's socket (close-on-exec, mode 0600; its directory
// is 0700), listening. src/engine/server.ts owns the directory and the path.
Napi::Value EngineListen(const Napi::CallbackInfo& info) {
  std::string path;
  if (!StringArg(info, "engineListen(path: string)", &path)) return info.Env().Undefined();
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return Throw(SysError(info.Env(), "bind", ENAMETOOLONG, path));
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Throw(SysError(info.Env(), "socket", errno));
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)) < 0 || chmod(path.c_str(), 0600) < 0 ||
      listen(fd, 128) < 0) {
    int saved = errno;
    close(fd);
    return Throw(SysError(info.Env(), "bind", saved, path));
  }
  return Napi::Number::New(info.Env(), fd);
}

// One door's call as the engine receives it (addon/door/wire.h), credentials from SO_PEERCRED.
struct DoorRequest {
  int conn = -1;
  struct ucred peer = {};
  uint32_t umask = 0;
  int fds[TSRUN_DOOR_NFDS] = {-1, -1, -1};
  std::vector<std::string> strings;  // cwd, then argc args, then envc entries
  uint32_t argc = 0;

  void Close() {
    for (int& fd : fds) {
      if (fd >= 0) close(fd);
      fd = -1;
    }
    if (conn >= 0) close(conn);
    conn = -1;
  }
};

static bool ReadFull(int fd, char* buf, size_t len) {
  while (len > 0) {
    ssize_t n = read(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buf += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

// Reads one request from a new connection; false (and nothing kept open) when it is not one.
static bool ReadDoorRequest(int conn, DoorRequest& req) {
  req.conn = conn;
  // a peer that connects and says nothing must not hold the engine's accept loop for long
  struct timeval timeout = {5, 0};
  setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  socklen_t len = sizeof(req.peer);
  if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &req.peer, &len) < 0) return false;
  struct tsrun_door_request head;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int) * TSRUN_DOOR_NFDS)];
  struct msghdr msg = {};
  ssize_t n = RecvWithRights(conn, &head, sizeof(head), control, sizeof(control), MSG_WAITALL, &msg);
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    int got[TSRUN_DOOR_NFDS * 2];
    if (count > TSRUN_DOOR_NFDS * 2) count = TSRUN_DOOR_NFDS * 2;
    memcpy(got, CMSG_DATA(c), count * sizeof(int));
    for (size_t i = 0; i < count; i++) {
      if (i < TSRUN_DOOR_NFDS && req.fds[i] < 0) req.fds[i] = got[i];
      else close(got[i]);
    }
  }
  if (n != static_cast<ssize_t>(sizeof(head)) || (msg.msg_flags & MSG_CTRUNC)) return false;
  if (head.magic != TSRUN_DOOR_MAGIC || head.version != TSRUN_DOOR_VERSION || head.payload_len > TSRUN_DOOR_MAX_PAYLOAD)
    return false;
  for (int fd : req.fds) {
    if (fd < 0) return false;
  }
  std::string payload(head.payload_len, '\0');
  if (!ReadFull(conn, &payload[0], payload.size())) return false;
  size_t want = 1 + static_cast<size_t>(head.argc) + head.envc;
  for (size_t at = 0; at < payload.size();) {
    size_t end = payload.find('\0', at);
    if (end == std::string::npos) return false;
    req.strings.emplace_back(payload, at, end - at);
    at = end + 1;
  }
  if (req.strings.size() != want) return false;
  req.argc = head.argc;
  req.umask = head.umask;
  return true;
}

// Accepts, on a worker thread, the next door's call; a connection that is not a well-formed
// request is closed and the next one awaited.
class EngineAcceptWorker : public Napi::AsyncWorker {
 public:
  EngineAcceptWorker(Napi::Env env, int listen_fd)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), listen_fd_(listen_fd) {}
  ~EngineAcceptWorker() override { req_.Close(); }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    for (;;) {
      int conn = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        errno_ = errno;
        SetError("accept");
        return;
      }
      req_ = DoorRequest();
      if (ReadDoorRequest(conn, req_)) return;
      req_.Close();
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object out = Napi::Object::New(env);
    out.Set("conn", req_.conn);
    out.Set("pid", static_cast<double>(req_.peer.pid));
    out.Set("uid", static_cast<double>(req_.peer.uid));
    out.Set("gid", static_cast<double>(req_.peer.gid));
    out.Set("umask", req_.umask);
    Napi::Array fds = Napi::Array::New(env, TSRUN_DOOR_NFDS);
    for (uint32_t i = 0; i < TSRUN_DOOR_NFDS; i++) fds.Set(i, req_.fds[i]);
    out.Set("fds", fds);
    out.Set("cwd", req_.strings[0]);
    Napi::Array argv = Napi::Array::New(env, req_.argc);
    for (uint32_t i = 0; i < req_.argc; i++) argv.Set(i, req_.strings[1 + i]);
    out.Set("argv", argv);
    size_t envc = req_.strings.size() - 1 - req_.argc;
    Napi::Array envs = Napi::Array::New(env, envc);
    for (size_t i = 0; i < envc; i++) envs.Set(static_cast<uint32_t>(i), req_.strings[1 + req_.argc + i]);
    out.Set("env", envs);
    // the fds and the connection are JavaScript's now
    req_.conn = -1;
    for (int& fd : req_.fds) fd = -1;
    deferred_.Resolve(out);
  }
  void OnError(const Napi::Error&) override { deferred_.Reject(SysError(Env(), "accept", errno_).Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  int listen_fd_;
  DoorRequest req_;
  int errno_ = 0;
};

// engineClose(listenFd): shutdown(2) wakes the worker blocked in accept (close alone would not,
// and Node's exit waits for its thread pool), then close.
Napi::Value EngineClose(const Napi::CallbackInfo& info) {
  const char* usage = "engineClose(listenFd: number)";
  if (!CheckArgs(info, 1, usage)) return info.Env().Undefined();
  if (!info[0].IsNumber()) {
    Napi::TypeError::New(info.Env(), usage).ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  shutdown(fd, SHUT_RDWR);
  close(fd);
  return info.Env().Undefined();
}

// engineAccept(listenFd) -> Promise<DoorRequest>: the next call (fds and connection close-on-exec).
Napi::Value EngineAccept(const Napi::CallbackInfo& info) {
  const char* usage = "engineAccept(listenFd: number)";
  if (!CheckArgs(info, 1, usage)) return info.Env().Undefined();
  if (!info[0].IsNumber()) {
    Napi::TypeError::New(info.Env(), usage).ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  auto* worker = new EngineAcceptWorker(info.Env(), info[0].As<Napi::Number>().Int32Value());
  worker->Queue();
  return worker->Promise();
}

// ---- fds the engine hands to the door's children (src/engine/door-session.ts, src/spawn.ts) ----

// Two new fds [a, b] (close-on-exec) from pipe2 (`kind` "pipe": a reads, b writes) or a
// socketpair (`kind` "socketpair": AF_UNIX stream), for a process spawned by a door.
Napi::Value FdPair(const Napi::CallbackInfo& info) {
  const char* usage = "fdPair(kind: 'pipe' | 'socketpair')";
  std::string kind;
  if (!StringArg(info, usage, &kind)) return info.Env().Undefined();
  int fds[2];
  if (kind == "pipe") {
    if (pipe2(fds, O_CLOEXEC) < 0) return Throw(SysError(info.Env(), "pipe2", errno));
  } else if (kind == "socketpair") {
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) return Throw(SysError(info.Env(), "socketpair", errno));
  } else {
    Napi::TypeError::New(info.Env(), usage).ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, fds[0]);
  out.Set(1u, fds[1]);
  return out;
}

// dup(fd) -> a new fd (close-on-exec) for the same open file: a stream of its own to close.
Napi::Value Dup(const Napi::CallbackInfo& info) {
  uint32_t fd;
  if (!Uint32Args(info, 1, "dup(fd: number)", &fd)) return info.Env().Undefined();
  int copy = fcntl(static_cast<int>(fd), F_DUPFD_CLOEXEC, 3);
  if (copy < 0) return Throw(SysError(info.Env(), "dup", errno));
  return Napi::Number::New(info.Env(), copy);
}

// sendWithRights(fd, data, fds): one sendmsg of all of `data` with `fds` attached (SCM_RIGHTS).
// The engine's messages to a door are small and the door reads them at once: a full socket buffer
// (EAGAIN on the non-blocking fd) is waited out with poll, briefly.
Napi::Value SendWithRights(const Napi::CallbackInfo& info) {
  const char* usage = "sendWithRights(fd: number, data: Uint8Array, fds: number[])";
  if (!CheckArgs(info, 3, usage)) return info.Env().Undefined();
  if (!info[0].IsNumber() || !info[1].IsTypedArray() || !info[2].IsArray()) {
    Napi::TypeError::New(info.Env(), usage).ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Uint8Array data = info[1].As<Napi::Uint8Array>();
  Napi::Array list = info[2].As<Napi::Array>();
  std::vector<int> fds;
  for (uint32_t i = 0; i < list.Length(); i++) fds.push_back(list.Get(i).As<Napi::Number>().Int32Value());
  std::vector<char> control(fds.empty() ? 0 : CMSG_SPACE(sizeof(int) * fds.size()));
  const char* at = reinterpret_cast<const char*>(data.Data());
  size_t left = data.ByteLength();
  bool first = true;
  while (left > 0) {
    struct iovec iov = {const_cast<char*>(at), left};
    struct msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (first && !fds.empty()) {
      msg.msg_control = control.data();
      msg.msg_controllen = control.size();
      struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
      memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      struct pollfd p = {fd, POLLOUT, 0};
      if (poll(&p, 1, 5000) == 0) return Throw(SysError(info.Env(), "sendmsg", ETIMEDOUT));
      continue;
    }
    if (n < 0) return Throw(SysError(info.Env(), "sendmsg", errno));
    first = false;
    at += n;
    left -= static_cast<size_t>(n);
  }
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("receiveFd", Napi::Function::New(env, ReceiveFd));
  exports.Set("setWindowSize", Napi::Function::New(env, SetWindowSize));
  exports.Set("flock", Napi::Function::New(env, Flock));
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen));
  exports.Set("pidfdSendSignal", Napi::Function::New(env, PidfdSendSignal));
  exports.Set("mkfifo", Napi::Function::New(env, Mkfifo));
  exports.Set("bpfLoadCgroupDeviceProgram", Napi::Function::New(env, BpfLoadCgroupDeviceProgram));
  exports.Set("bpfAttachCgroupDevice", Napi::Function::New(env, BpfAttachCgroupDevice));
  exports.Set("bpfDetachCgroupDevice", Napi::Function::New(env, BpfDetachCgroupDevice));
  exports.Set("bpfQueryCgroupDevice", Napi::Function::New(env, BpfQueryCgroupDevice));
  exports.Set("bpfProgramFdById", Napi::Function::New(env, BpfProgramFdById));
  exports.Set("eventfd", Napi::Function::New(env, EventFd));
  exports.Set("engineListen", Napi::Function::New(env, EngineListen));
  exports.Set("engineAccept", Napi::Function::New(env, EngineAccept));
  exports.Set("engineClose", Napi::Function::New(env, EngineClose));
  exports.Set("fdPair", Napi::Function::New(env, FdPair));
  exports.Set("dup", Napi::Function::New(env, Dup));
  exports.Set("sendWithRights", Napi::Function::New(env, SendWithRights));
  return exports;
}

}  // namespace

NODE_API_MODULE(tsrun_native, Init)
