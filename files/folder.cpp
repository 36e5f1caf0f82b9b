#include "files/folder.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace strata::files {

std::string folder_problem(const std::string& path) {
    const std::filesystem::path file(path);
    const std::string folder =
        file.has_parent_path() ? file.parent_path().string() : std::string(".");
    std::error_code ec;
    if (!std::filesystem::exists(folder, ec)) return "folder '" + folder + "' does not exist";
    if (!std::filesystem::is_directory(folder, ec)) return "'" + folder + "' is not a folder";
    if (::access(folder.c_str(), W_OK) != 0) {
        const int reason = errno;
        return "folder '" + folder + "' is not writable (" +
               (reason == EACCES ? std::string("permission denied")
                                 : std::string(std::strerror(reason))) +
               ")";
    }
    return "";
}

}  // namespace strata::files
