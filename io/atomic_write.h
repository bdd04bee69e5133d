#pragma once
/// \file
/// Atomic file replacement: every writer in io/ writes to `<path>.tmp-<pid>` and renames it over
/// `path` only once the content is complete and synced, so a crash or a failing write never
/// leaves a half-written file (the old file, if any, stays intact) nor a stray temporary file.

#include <functional>
#include <string>

namespace shrink::io {

/// The temporary file name used while writing `path`: "<path>.tmp-<pid>".
std::string temporary_path(const std::string& path);

/// Calls `write(tmp)` to produce the whole file at tmp = temporary_path(path), fsyncs it, renames
/// it to `path` and fsyncs the directory. If `write` throws, or syncing/renaming fails, the
/// temporary file is removed and the error propagates (renaming failures as IOError starting
/// with "<where>: '<path>': "); `path` is then untouched.
void write_atomically(const std::string& path, const std::string& where,
                      const std::function<void(const std::string& tmp)>& write);

}  // namespace shrink::io
