// Embedding strata in a service: open the rules and the customer database once, then
// evaluate customers as their data changes. Build target `strata_embed_example`.
//
//   strata_embed_example RULES DB [--state STATE] KEY...
//
// prints each customer's segment, the move against their stored placement and the actions
// their triggers would enqueue, evaluates the same keys again from four threads to show that
// one Engine serves concurrent callers, and refreshes its thresholds as a long-lived service
// does after each batch run. Only include/strata/strata.hpp is used.
#include <strata/strata.hpp>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s RULES DB [--state STATE] KEY...\n", argv[0]);
        return 2;
    }
    strata::EngineOptions options;
    options.rules_path = argv[1];
    options.db_path = argv[2];
    int first_key = 3;
    if (std::string(argv[3]) == "--state") {
        if (argc < 6) {  // the state's path and at least one key
            std::fprintf(stderr, "usage: %s RULES DB [--state STATE] KEY...\n", argv[0]);
            return 2;
        }
        options.state_path = argv[4];
        first_key = 5;
    }
    strata::Result<strata::Engine> engine = strata::Engine::open(options);
    if (!engine) {
        std::fprintf(stderr, "cannot open: %s\n", engine.error().message.c_str());
        return engine.error().exit_code();
    }
    std::printf("%s as of %s, thresholds of run %lld\n", engine->ruleset().c_str(),
                engine->as_of().c_str(), static_cast<long long>(engine->thresholds_run()));
    std::vector<std::string> keys(argv + first_key, argv + argc);
    int failed = 0;
    for (const std::string& key : keys) {
        strata::Result<strata::CustomerResult> r = engine->evaluate(key);
        if (!r) {
            std::printf("%s: error: %s\n", key.c_str(), r.error().message.c_str());
            failed = r.error().exit_code();
            continue;
        }
        std::printf("%s: %s (%s", key.c_str(), r->segment.c_str(), r->transition.c_str());
        if (r->transition == "moves") std::printf(" from %s", r->previous_segment->c_str());
        std::printf(")");
        for (const std::string& t : r->tactical)
            std::printf(" +%s", t.c_str());
        for (const strata::PlannedAction& a : r->actions)
            std::printf(" [%s %s %s]", a.trigger.c_str(), a.type.c_str(), a.status.c_str());
        std::printf("\n");
    }
    // The same keys from four threads at once: every answer is the one above.
    std::vector<int> agree(4, 1);
    std::vector<std::thread> threads;
    for (size_t t = 0; t < agree.size(); ++t) {
        threads.emplace_back([&engine, &keys, &agree, t] {
            for (const std::string& key : keys) {
                auto a = engine->evaluate(key);
                auto b = engine->evaluate(key);
                if (a.ok() != b.ok() || (a.ok() && a->segment != b->segment)) agree[t] = 0;
            }
        });
    }
    for (std::thread& t : threads)
        t.join();
    for (int a : agree) {
        if (!a) {
            std::fprintf(stderr, "threads disagreed\n");
            return 1;
        }
    }
    // A service that runs for days takes each new batch run's thresholds (after `strata run`)
    // with refresh(), from any thread, while others evaluate.
    strata::Result<bool> refreshed = engine->refresh();
    if (!refreshed) {
        std::fprintf(stderr, "cannot refresh: %s\n", refreshed.error().message.c_str());
        return refreshed.error().exit_code();
    }
    std::printf("refresh: %s (run %lld)\n",
                refreshed.value() ? "took a later run's thresholds" : "the thresholds are current",
                static_cast<long long>(engine->thresholds_run()));
    return failed;
}
