// Whether a new file can be made at a path: its folder exists, is a folder, and this user may
// write in it. For messages said before SQLite's own "unable to open database file".
#pragma once

#include <string>

namespace strata::files {

// "" when a file can be made at `path` as far as its folder goes; else why not, as the end of a
// sentence: "folder 'x' does not exist", "'x' is not a folder", "folder 'x' is not writable
// (permission denied)".
std::string folder_problem(const std::string& path);

// What `path` is when it exists but is neither a regular file (nor a link to one) nor a folder:
// "a FIFO", "a socket", "a device"; "" otherwise. Opening a FIFO waits for a writer that may
// never come, so a database path is checked before SQLite opens it.
std::string special_file_kind(const std::string& path);

}  // namespace strata::files
