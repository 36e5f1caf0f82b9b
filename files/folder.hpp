// Whether a new file can be made at a path: its folder exists, is a folder, and this user may
// write in it. For messages said before SQLite's own "unable to open database file".
#pragma once

#include <string>

namespace strata::files {

// "" when a file can be made at `path` as far as its folder goes; else why not, as the end of a
// sentence: "folder 'x' does not exist", "'x' is not a folder", "folder 'x' is not writable
// (permission denied)".
std::string folder_problem(const std::string& path);

}  // namespace strata::files
