// A file written beside its target and renamed over it once whole: a reader never sees half
// a file, and a failure leaves the target as it was.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace strata::files {

// Makes a new, empty file beside `target` for the new contents: `TARGET.PID.partial`, or
// `TARGET.PID.N.partial` (N from 1) when a file of that name is there already, such as one
// left by a killed process that had the same id. Made exclusively, so never a file someone
// else has there. Its path, or nullopt with the reason in `error`.
std::optional<std::string> make_partial_beside(const std::string& target, std::string& error);

// The file that new contents for `path` replace, and the permissions it has.
struct ReplacedFile {
    std::string path;  // `path`, or the file a symbolic link there leads to (the link stays)
    std::optional<std::filesystem::perms> mode;  // the existing file's; none when it is new
};

// Where to rename the new contents of `path` to: through symbolic links (so that a link stays
// a link and its file gets the contents), to a regular file or to none yet. nullopt, with the
// reason in `error`, when a folder, a device, a FIFO or a socket is there (renaming over it
// would replace it), or the links go round in a circle.
std::optional<ReplacedFile> file_to_replace(const std::string& path, std::string& error);

}  // namespace strata::files
