#include "io/atomic_write.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "autograd/error.h"

namespace shrink::io {
namespace {

/// fsync of a file or directory; returns errno (0 on success).
int sync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) return errno;
  const int rc = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return rc;
}

}  // namespace

std::string temporary_path(const std::string& path) { return path + ".tmp-" + std::to_string(::getpid()); }

void write_atomically(const std::string& path, const std::string& where,
                      const std::function<void(const std::string& tmp)>& write) {
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
    throw IOError(prefix + "cannot sync the temporary file '" + tmp + "': " + std::strerror(err));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    discard();
    throw IOError(prefix + "cannot replace the file with '" + tmp + "': " + ec.message());
  }
  // Make the rename itself durable; a failure here cannot undo it, so it is not an error.
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  sync_path(dir.empty() ? "." : dir.string(), true);
}

}  // namespace shrink::io
