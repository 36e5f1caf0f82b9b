// What a rule test's run left out of its fixture (a date that is not one, a fact row for a
// customer the case does not have): a real run reports these as data-quality findings, and a
// test that passes without the row it meant to test should say so.
#pragma once

#include <string>

#include "engine/reader.hpp"

namespace strata {

// The findings of `dq` in words ("1 orders row with an unknown time (a time that is null or
// not a date)"; "…; …"), or empty when there are none. Rows after as_of are not findings.
std::string fixture_findings(const DataQuality& dq);

}  // namespace strata
