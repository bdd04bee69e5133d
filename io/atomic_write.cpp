#include "io/atomic_write.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <system_error>

#include "autograd/error.h"

namespace shrink::io {
namespace {

/// The infix between a target's file name and the writer's pid.
constexpr const char* kTmpInfix = ".tmp-";
/// Hex digits of the random part of a temporary name.
constexpr std::size_t kRandomDigits = 16;

/// fsync of a file or directory; returns errno (0 on success).
int sync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno;
  const int rc = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return rc;
}

bool all_of(const std::string& s, std::size_t from, std::size_t to, int (*pred)(int)) {
  if (from >= to) return false;
  for (std::size_t i = from; i < to; ++i)
    if (!pred(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

int is_lower_hex(int c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

/// Whether a process with this pid exists (EPERM: it exists but belongs to someone else).
bool process_exists(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

std::filesystem::path directory_of(const std::string& path) {
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  return dir.empty() ? std::filesystem::path(".") : dir;
}

}  // namespace

std::string temporary_path(const std::string& path) {
  static thread_local std::mt19937_64 engine{(std::uint64_t(std::random_device{}()) << 32) ^ std::random_device{}()};
  char suffix[kRandomDigits + 1];
  std::snprintf(suffix, sizeof suffix, "%016llx", static_cast<unsigned long long>(engine()));
  return path + kTmpInfix + std::to_string(::getpid()) + "-" + suffix;
}

pid_t temporary_owner(const std::string& path, const std::string& file_name) {
  const std::string stem = std::filesystem::path(path).filename().string() + kTmpInfix;
  if (stem.size() == std::strlen(kTmpInfix) || file_name.compare(0, stem.size(), stem) != 0) return -1;
  const std::size_t dash = file_name.find('-', stem.size());
  const std::size_t pid_end = dash == std::string::npos ? file_name.size() : dash;
  if (!all_of(file_name, stem.size(), pid_end, ::isdigit) || pid_end - stem.size() > 9) return -1;
  if (dash != std::string::npos &&
      (file_name.size() - dash - 1 != kRandomDigits || !all_of(file_name, dash + 1, file_name.size(), is_lower_hex)))
    return -1;
  const long pid = std::stol(file_name.substr(stem.size(), pid_end - stem.size()));
  return pid > 0 ? static_cast<pid_t>(pid) : -1;
}

std::size_t remove_stale_temporaries(const std::string& path) {
  std::size_t removed = 0;
  std::error_code ec;
  std::filesystem::directory_iterator it(directory_of(path), ec);
  for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const pid_t pid = temporary_owner(path, it->path().filename().string());
    if (pid <= 0 || pid == ::getpid() || process_exists(pid)) continue;
    std::error_code ignored;
    // remove() unlinks a symlink itself, never what it points to.
    if (std::filesystem::remove(it->path(), ignored)) ++removed;
  }
  return removed;
}

void write_atomically(const std::string& path, const std::string& where,
                      const std::function<void(const std::string& tmp)>& write) {
  // Renaming over a device (/dev/null) or a FIFO would replace it with a regular file.
  std::error_code status_error;
  const auto status = std::filesystem::symlink_status(path, status_error);
  if (!status_error && std::filesystem::exists(status) && !std::filesystem::is_regular_file(status) &&
      !std::filesystem::is_directory(status) &&
      !std::filesystem::is_symlink(status))
    throw IOError(where + ": '" + path + "': expected a regular file or a new path, got a special file (a device, "
                  "FIFO or socket); Shrink writes a temporary file and renames it over the target");
  remove_stale_temporaries(path);
  const std::string tmp = temporary_path(path);
  const std::string prefix = where + ": '" + path + "': ";
  auto discard = [&] {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
  };
  try {
    write(tmp);
  } catch (...) {
    discard();
    throw;
  }
  if (const int err = sync_path(tmp, false); err != 0) {
    discard();
    throw IOError(prefix + "cannot sync the written data: " + std::strerror(err));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    discard();
    throw IOError(prefix + "cannot replace the file: " + ec.message());
  }
  // Make the rename itself durable; a failure here cannot undo it, so it is not an error.
  sync_path(directory_of(path).string(), true);
}

void write_text_atomically(const std::string& path, const std::string& where, const std::string& text) {
  write_atomically(path, where, [&](const std::string& tmp) {
    std::FILE* f = std::fopen(tmp.c_str(), "wx");  // "x": created exclusively, as write_atomically asks
    SHRINK_CHECK_T(IOError, f != nullptr, where, ": cannot write '", path, "': ", std::strerror(errno));
    const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    const bool closed = std::fclose(f) == 0;
    SHRINK_CHECK_T(IOError, written && closed, where, ": cannot write '", path, "': ", std::strerror(errno));
  });
}

}  // namespace shrink::io
