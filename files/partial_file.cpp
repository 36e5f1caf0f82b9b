#include "files/partial_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace strata::files {

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

}  // namespace strata::files
