#include "files/partial_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace strata::files {

namespace fs = std::filesystem;

std::optional<std::string> make_partial_beside(const std::string& target, std::string& error) {
    const std::string stem = target + "." + std::to_string(::getpid());
    for (int n = 0; n < 1000; ++n) {
        const std::string path = stem + (n ? "." + std::to_string(n) : "") + ".partial";
        const int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
        if (fd >= 0) {
            ::close(fd);
            return path;
        }
        if (errno != EEXIST) {
            error = "cannot make '" + path + "': " + std::strerror(errno);
            return std::nullopt;
        }
    }
    error = "cannot make a file beside it: '" + stem + ".partial' and 999 more names are taken";
    return std::nullopt;
}

std::optional<ReplacedFile> file_to_replace(const std::string& path, std::string& error) {
    fs::path at(path);
    std::error_code ec;
    for (int links = 0;; ++links) {
        const fs::file_status status = fs::symlink_status(at, ec);
        if (!fs::is_symlink(status)) break;
        if (links == 40) {
            error = "'" + path + "' is a symbolic link that leads round in a circle";
            return std::nullopt;
        }
        const fs::path to = fs::read_symlink(at, ec);
        if (ec) {
            error = "cannot read the symbolic link '" + at.string() + "': " + ec.message();
            return std::nullopt;
        }
        at = to.is_absolute() ? to : at.parent_path() / to;
    }
    const std::string shown =
        at.string() == path ? "'" + path + "'" : "'" + path + "' (a link to '" + at.string() + "')";
    const fs::file_status status = fs::status(at, ec);
    if (!fs::exists(status)) return ReplacedFile{at.string(), std::nullopt};
    if (fs::is_directory(status)) {
        error = shown + " is a folder";
        return std::nullopt;
    }
    if (!fs::is_regular_file(status)) {
        const char* kind = fs::is_character_file(status) || fs::is_block_file(status) ? "a device"
                           : fs::is_fifo(status)                                      ? "a FIFO"
                           : fs::is_socket(status)                                    ? "a socket"
                                                   : "of another kind";
        error = shown + " is " + kind + ", not a regular file: the new file would replace it";
        return std::nullopt;
    }
    return ReplacedFile{at.string(), status.permissions()};
}

}  // namespace strata::files
