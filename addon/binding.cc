// N-API glue: the few kernel calls Node itself lacks. No container logic lives here (that is the
// tsrun-init helper's job, see src/protocol/protocol.ts); each export checks its arguments and
// throws an Error carrying `code` (errno name), `errno` and `syscall`, like Node's fs errors.
#include <napi.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

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

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("flock", Napi::Function::New(env, Flock));
  exports.Set("mkfifo", Napi::Function::New(env, Mkfifo));
  return exports;
}

}  // namespace

NODE_API_MODULE(tsrun_native, Init)
