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

std::string special_file_kind(const std::string& path) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (ec) return "";
    switch (status.type()) {
        case std::filesystem::file_type::fifo:
            return "a FIFO";
        case std::filesystem::file_type::socket:
            return "a socket";
        case std::filesystem::file_type::block:
        case std::filesystem::file_type::character:
            return "a device";
        default:
            return "";
    }
}

}  // namespace strata::files
