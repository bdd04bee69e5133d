#pragma once
/// \file
/// Atomic file replacement: every writer in io/ writes a temporary file next to `path` and
/// renames it over `path` only once the content is complete and synced, so a crash or a failing
/// write never leaves a half-written file (the old file, if any, stays intact).
///
/// The temporary name is "<path>.tmp-<pid>-<16 random hex digits>": unpredictable, so nobody can
/// plant a symlink there in advance, and created exclusively by the writer (H5File::create uses
/// H5F_ACC_EXCL, i.e. O_CREAT|O_EXCL, which also refuses to follow a symlink). A writer killed
/// with SIGKILL leaves its temporary file behind; the next write_atomically of the same `path`
/// removes the temporaries of writers whose pid no longer exists (only names of exactly this
/// pattern, for this path; also the legacy "<path>.tmp-<pid>" of earlier versions).

#include <functional>
#include <string>
#include <sys/types.h>

namespace shrink::io {

/// A fresh temporary name for writing `path`: "<path>.tmp-<pid>-<16 random hex digits>".
std::string temporary_path(const std::string& path);

/// The pid encoded in `file_name` if it is the name (without directory) of a temporary file of
/// `path` ("<name>.tmp-<pid>-<16 hex>" or the legacy "<name>.tmp-<pid>"); -1 otherwise.
pid_t temporary_owner(const std::string& path, const std::string& file_name);

/// Removes the temporary files of `path` left by writers that no longer run (their pid does not
/// exist). Files of live writers and anything not matching the pattern are kept. Returns how
/// many were removed; never throws (an unreadable directory removes nothing).
std::size_t remove_stale_temporaries(const std::string& path);

/// Removes stale temporaries (above), then calls `write(tmp)` to produce the whole file at a
/// fresh tmp = temporary_path(path), which does not exist yet and must be created exclusively;
/// fsyncs it, renames it to `path` and fsyncs the directory. If `write` throws, or
/// syncing/renaming fails, the temporary file is removed and the error propagates (sync and
/// rename failures as IOError "<where>: '<path>': ..." naming the user's path, not tmp); `path`
/// is then untouched.
void write_atomically(const std::string& path, const std::string& where,
                      const std::function<void(const std::string& tmp)>& write);

/// write_atomically() of a text file holding `text` (JSON configs, caches, reports); a failed
/// write is an IOError "<where>: cannot write '<path>': <reason>".
void write_text_atomically(const std::string& path, const std::string& where, const std::string& text);

}  // namespace shrink::io
