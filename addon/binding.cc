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
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

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
    struct iovec iov = {name, sizeof(name) - 1};
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    struct msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n;
    do {
      n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
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
  return exports;
}

}  // namespace

NODE_API_MODULE(tsrun_native, Init)
