#pragma once

#include <utility>

namespace strata::state {

// Runs a clean-up when the scope it guards ends, however it ends (a return, an exception).
// Used for the temporary tables and the abandoned runs of work done inside a warehouse.
// REQUIRES: the clean-up does not throw.
template <typename CleanUp>
class AtScopeExit {
  public:
    explicit AtScopeExit(CleanUp clean_up) : clean_up_(std::move(clean_up)) {}
    AtScopeExit(const AtScopeExit&) = delete;
    AtScopeExit& operator=(const AtScopeExit&) = delete;
    ~AtScopeExit() { clean_up_(); }

  private:
    CleanUp clean_up_;
};

}  // namespace strata::state
