#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <spdlog/spdlog.h>

#include <memory>

#include "engine/value_pool.hpp"

namespace {

// Every test case runs with a value pool of its own, current on the test's thread from the
// case's start to its end (threads the engine starts inherit it), and freed after it: values
// never carry over from one test case to the next.
class ValuePoolPerTestCase : public doctest::IReporter {
  public:
    explicit ValuePoolPerTestCase(const doctest::ContextOptions&) {}

    void test_case_start(const doctest::TestCaseData&) override {
        pool_ = std::make_unique<strata::ValuePool>();
        scope_ = std::make_unique<strata::ValuePoolScope>(*pool_);
    }
    void test_case_end(const doctest::CurrentTestCaseStats&) override {
        scope_.reset();
        pool_.reset();
    }

    void report_query(const doctest::QueryData&) override {}
    void test_run_start() override {}
    void test_run_end(const doctest::TestRunStats&) override {}
    void test_case_reenter(const doctest::TestCaseData&) override {}
    void test_case_exception(const doctest::TestCaseException&) override {}
    void subcase_start(const doctest::SubcaseSignature&) override {}
    void subcase_end() override {}
    void log_assert(const doctest::AssertData&) override {}
    void log_message(const doctest::MessageData&) override {}
    void test_case_skipped(const doctest::TestCaseData&) override {}

  private:
    std::unique_ptr<strata::ValuePool> pool_;
    std::unique_ptr<strata::ValuePoolScope> scope_;
};

}  // namespace

REGISTER_LISTENER("value_pool_per_test_case", 1, ValuePoolPerTestCase);

int main(int argc, char** argv) {
    spdlog::set_level(spdlog::level::warn);  // as the strata binary does without -v
    doctest::Context context(argc, argv);
    return context.run();
}
