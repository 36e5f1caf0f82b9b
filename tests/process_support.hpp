// Child processes for tests that start the strata binary and may kill it (SIGKILL) at a
// chosen moment.
#pragma once

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace strata::testing {

using Clock = std::chrono::steady_clock;

// Starts `argv` (argv[0] a path) as a child process, stdout to `out_path` and stderr to
// `err_path`.
inline pid_t start(const std::vector<std::string>& argv, const std::string& out_path,
                   const std::string& err_path) {
    posix_spawn_file_actions_t files;
    posix_spawn_file_actions_init(&files);
    posix_spawn_file_actions_addopen(&files, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_addopen(&files, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    std::vector<char*> args;
    for (const std::string& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, args[0], &files, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&files);
    REQUIRE_MESSAGE(rc == 0, "cannot start " << argv[0] << ": " << std::strerror(rc));
    return pid;
}

struct Ended {
    bool killed = false;  // by us, at the deadline
    int exit_code = -1;   // when it ended on its own
};

// Waits for the child to end on its own until `deadline`, then kills it (SIGKILL) and reaps
// it: when this returns, the process is gone and holds no lock.
inline Ended finish_or_kill(pid_t pid, Clock::time_point deadline) {
    int status = 0;
    for (;;) {
        const pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid) break;
        if (done < 0) FAIL("waitpid: ", std::strerror(errno));
        if (Clock::now() >= deadline) {
            ::kill(pid, SIGKILL);
            pid_t reaped;
            while ((reaped = ::waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
            }
            if (reaped != pid) FAIL("waitpid: ", std::strerror(errno));
            break;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    if (WIFSIGNALED(status)) {
        REQUIRE(WTERMSIG(status) == SIGKILL);
        return {true, -1};
    }
    return {false, WEXITSTATUS(status)};
}

inline constexpr auto kNever = Clock::time_point::max();

inline std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace strata::testing
