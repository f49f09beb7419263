// N-API glue: the few kernel calls Node itself lacks. No container logic lives here (that is the
// tsrun-init helper's job, see src/protocol/protocol.ts); each export checks its arguments and
// throws an Error carrying `code` (errno name), `errno` and `syscall`, like Node's fs errors.
#include <napi.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <poll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("receiveFd", Napi::Function::New(env, ReceiveFd));
  exports.Set("setWindowSize", Napi::Function::New(env, SetWindowSize));
  exports.Set("flock", Napi::Function::New(env, Flock));
  exports.Set("mkfifo", Napi::Function::New(env, Mkfifo));
  return exports;
}

}  // namespace

NODE_API_MODULE(tsrun_native, Init)
