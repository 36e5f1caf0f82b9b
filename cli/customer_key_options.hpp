// The options that name one customer, shared by `eval` and `explain` so the two commands find
// a key the same way and describe it in the same words.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace strata::cli {

// Adds the required `--customer KEY` and the flag `--text-key` to `cmd`.
inline void add_customer_key_options(CLI::App* cmd, std::string& customer, bool& text_key) {
    cmd->add_option("--customer", customer,
                    "The customer's key: digits find an integer key, then a text key spelled so")
        ->required();
    cmd->add_flag("--text-key", text_key,
                  "Find only a text key: --customer 42 then finds the text key '42' of a base "
                  "that also has the integer key 42");
}

}  // namespace strata::cli
