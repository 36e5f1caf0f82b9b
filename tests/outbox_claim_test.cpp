// What a claim promises its sender: the lines it printed are claimed, those it could not
// print go back to pending, and a lease is whole however long the claim waited for the lock.
#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <sstream>
#include <streambuf>
#include <string>
#include <thread>
#include <vector>

#include "outbox_fixture.hpp"
#include "test_support.hpp"

using namespace strata::testing;
using namespace strata::testing::outbox_fixture;

TEST_CASE("a claim whose output cannot be written puts its actions back to pending") {
    TempDir dir;
    const std::string db = outbox_state(dir, pending(3));
    std::ostringstream out, err;
    out.setstate(std::ios::badbit);  // as a full disk would
    const int code = strata::cli::run_main(
        {"outbox", "claim", "--db", db, "--limit", "2", "--consumer", "a"}, out, err);
    CHECK(code == 2);
    CHECK(err.str() ==
          "strata outbox claim: the claimed actions could not be written to the output; 2 of 2 "
          "went back to pending, as they were\n");
    for (int64_t id : {1, 2}) {
        CHECK(column(db, id, "status") == "pending");
        CHECK(column(db, id, "attempt") == "0");
        CHECK(column(db, id, "consumer") == "<none>");
    }
    CHECK(ids_of(outbox("claim", db, {"--limit", "3", "--consumer", "b"}).out) ==
          Ids{"1", "2", "3"});
}

namespace {

// An output that takes `lines` whole lines, then fails every write (a reader that read the
// first lines and went away).
class OutputFailingAfter : public std::streambuf {
  public:
    explicit OutputFailingAfter(int lines) : lines_left_(lines) {}
    std::string taken;

  protected:
    int_type overflow(int_type c) override {
        if (traits_type::eq_int_type(c, traits_type::eof())) return 0;
        const char ch = traits_type::to_char_type(c);
        return xsputn(&ch, 1) == 1 ? c : traits_type::eof();
    }
    std::streamsize xsputn(const char* s, std::streamsize n) override {
        std::streamsize k = 0;
        for (; k < n && lines_left_ > 0; ++k) {
            taken.push_back(s[k]);
            if (s[k] == '\n') --lines_left_;
        }
        return k;
    }

  private:
    int lines_left_;
};

}  // namespace

TEST_CASE("a claim whose output fails midway keeps the lines it wrote claimed") {
    TempDir dir;
    const std::string db = outbox_state(dir, pending(3));
    OutputFailingAfter buffer(1);
    std::ostream out(&buffer);
    std::ostringstream err;
    const int code = strata::cli::run_main(
        {"outbox", "claim", "--db", db, "--limit", "3", "--consumer", "a"}, out, err);
    CHECK(code == 2);
    CHECK(ids_of(buffer.taken) == Ids{"1"});
    CHECK(err.str().find("strata outbox claim: the output failed after 1 of 3 claimed actions; "
                         "the 1 written stay claimed by a until ") == 0);
    CHECK(err.str().find("; 2 of 2 not written went back to pending, as they were\n") !=
          std::string::npos);
    // The sender saw action 1 whole: it may send it, and its ack counts.
    CHECK(column(db, 1, "status") == "in_flight");
    CHECK(column(db, 1, "attempt") == "1");
    for (int64_t id : {2, 3}) {
        CHECK(column(db, id, "status") == "pending");
        CHECK(column(db, id, "attempt") == "0");
    }
    CHECK(outbox("ack", db, {"1", "--consumer", "a"}).code == 0);
    CHECK(column(db, 1, "status") == "done");
    CHECK(ids_of(outbox("claim", db, {"--limit", "3", "--consumer", "b"}).out) == Ids{"2", "3"});
}

TEST_CASE("a claim whose reader stops early puts the batch back instead of dying of SIGPIPE") {
    TempDir dir;
    const std::string db = outbox_state(dir, pending(2000));  // far more than a pipe holds
    // The process starts with SIGPIPE's default action, as from a shell; this test process
    // may have it ignored (claims run in it), and a child would inherit that.
    const auto before = std::signal(SIGPIPE, SIG_DFL);
    const std::string command = "bash -c '" STRATA_BINARY " outbox claim --db " + db +
                                " --limit 2000 --consumer a 2>/dev/null | head -n 1 >/dev/null; "
                                "echo ${PIPESTATUS[0]}'";
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe);
    char status[16] = {};
    REQUIRE(std::fgets(status, sizeof status, pipe));
    ::pclose(pipe);
    std::signal(SIGPIPE, before);
    CHECK(std::string(status) == "2\n");  // not 141, killed by SIGPIPE
    // What reached the pipe before `head` went away stays claimed (head read the first of
    // them); the rest went back to pending.
    const int64_t back =
        scalar(db, "SELECT count(*) FROM strata_outbox WHERE status = 'pending' AND attempt = 0");
    const int64_t kept = scalar(
        db, "SELECT count(*) FROM strata_outbox WHERE status = 'in_flight' AND consumer = 'a'");
    CHECK(back + kept == 2000);
    CHECK(kept >= 1);
    CHECK(back >= 1000);  // far more than a pipe holds
    CHECK(scalar(db, "SELECT min(id) FROM strata_outbox WHERE status = 'pending'") == kept + 1);
}

TEST_CASE("outbox commands wait up to --wait for a lock held while the file is opened") {
    TempDir dir;
    const std::string db = outbox_state(dir, pending(1));
    SQLite::Database other(db, SQLite::OPEN_READWRITE);
    other.exec("BEGIN EXCLUSIVE");
    const auto started = std::chrono::steady_clock::now();
    const Run locked = outbox("claim", db, {"--limit", "1", "--consumer", "c", "--wait", "1s"});
    const auto waited = std::chrono::steady_clock::now() - started;
    CHECK(locked.code == 2);
    CHECK(locked.err == "strata outbox claim: '" + db +
                            "' stayed locked by another process for longer than --wait 1s\n");
    CHECK(waited >= std::chrono::milliseconds(900));
    CHECK(waited < std::chrono::milliseconds(4000));
    other.exec("ROLLBACK");
}

TEST_CASE("a claim that waited for the lock still gets its whole lease") {
    TempDir dir;
    const std::string db = outbox_state(dir, pending(1));
    // A run holds the write lock for 2.5 s; the claim waits for it with a lease of 2 s. Read
    // before the wait, the clock would give a lease that had ended when the line came out,
    // and the next claim would send the action a second time.
    SQLite::Database run(db, SQLite::OPEN_READWRITE);
    run.exec("BEGIN IMMEDIATE");
    std::thread finish([&run] {
        std::this_thread::sleep_for(std::chrono::milliseconds(2500));
        run.exec("COMMIT");
    });
    const Run claimed =
        outbox("claim", db, {"--limit", "1", "--consumer", "a", "--lease", "2s", "--wait", "20s"});
    const std::string returned = strata::utc_timestamp(std::time(nullptr));
    finish.join();
    REQUIRE(claimed.code == 0);
    REQUIRE(ids_of(claimed.out) == Ids{"1"});
    CHECK(column(db, 1, "lease_until") > returned);
    CHECK(outbox("claim", db, {"--limit", "1", "--consumer", "b"}).out.empty());
}
