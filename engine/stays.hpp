// Membership as history. A stay is one customer's uninterrupted membership of one segment
// (a general id, or a tactical path such as parent/child) of one ruleset: entered at a run,
// exited at a later run or still open. A run compares each customer's new placement with
// their open stays and writes only what changed, so a run over unchanged data writes no
// membership rows at all. Moves between general segments since the latest run are counted
// in a transition matrix.
#pragma once

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Database.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/store.hpp"
#include "engine/value.hpp"

namespace strata {

// Segment texts are interned: a run has few distinct ones, shared by many customers.
struct MembershipRow {
    Value key;
    Str segment;   // the general segment id
    Str tactical;  // tactical paths joined by ';' in rule-file order (a nested one is
                   // parent/child), or ''
};

// The tactical paths of a MembershipRow::tactical text, in order; none for ''.
std::vector<std::string> split_tactical(const std::string& tactical);

// A stay, as a key: ruleset, customer, level, segment and the run that began it.
struct StayRef {
    Value key;
    Str segment;
    int level = 0;  // 0 for the general segment, else 1 + the tactical's place in the file
    int64_t entered_run = 0;
};

// One open tactical stay of a placement (its customer is the placement's).
struct OpenTactical {
    Str segment;
    int level = 0;
    int64_t entered_run = 0;
};

// A placement's open tactical stays, in one allocation sized to fit: a run holds the open
// placements of the whole base, and most customers have none or one.
class OpenTacticals {
  public:
    OpenTacticals() = default;
    OpenTacticals(const OpenTacticals& other);
    OpenTacticals& operator=(const OpenTacticals& other);
    OpenTacticals(OpenTacticals&&) noexcept = default;
    OpenTacticals& operator=(OpenTacticals&&) noexcept = default;
    ~OpenTacticals() = default;

    void push_back(const OpenTactical& stay);
    // Replaces the stays with `stays`, in one allocation.
    void assign(const std::vector<OpenTactical>& stays);
    const OpenTactical* begin() const { return items_.get(); }
    const OpenTactical* end() const { return items_.get() + size_; }
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }

  private:
    std::unique_ptr<OpenTactical[]> items_;
    uint32_t size_ = 0;
};

// One customer's open stays in a ruleset: what the latest run placed them in. 64 bytes and
// 24 a tactical stay: at 10M customers these are a run's largest structure after its columns.
struct OpenPlacement {
    Value key;
    Str general;                    // the general segment (null pointer: none)
    int64_t general_since_run = 0;  // the run that began the general stay
    Str tactical_text;              // the paths joined by ';'
    OpenTacticals tactical;         // in rule-file order
    std::optional<Date> since;      // the general stay's run's as_of

    // A tactical stay of this customer as a stay key.
    StayRef stay(const OpenTactical& t) const { return {key, t.segment, t.level, t.entered_run}; }
};

// Every open stay of `ruleset`, a placement per customer, in key order (integers first,
// numerically, then texts bytewise: the order of key_order). With `only`, only that customer's
// (an integer key matches only an integer stored key, a text only a text): none or one.
// With `before_run`, the stays as that stored run found them: those the ruleset's runs before
// it left open (what it compared its placements with). Throws SQLite::Exception.
std::vector<OpenPlacement> load_open_placements(SQLite::Database& state, const std::string& ruleset,
                                                const Value* only = nullptr,
                                                std::optional<int64_t> before_run = std::nullopt);

// A customer's general stay as a day began, where it differs from the placements a run
// compares with: what previous_segment, segment_since and days_in_segment read (language.md).
struct DayStartStay {
    Value key;
    Str general;                // null pointer: not in the base as the day began
    std::optional<Date> since;  // the general stay's run's as_of
};

// The general stays open before run `first` (the ruleset's first run of the day) of the
// customers for whom they differ from `compared`: the placements open before run
// `compared_before` (before any run yet to come when null), as load_open_placements gives them.
// Those are the customers whose general stay `compared` holds began at `first` or later, and
// those a run from `first` on, before `compared_before`, moved or saw leave; a few per run, so
// a run of a day already run holds these beside `compared`, not a second copy of the base.
// In key order. `compared` with these laid over it is, general stay for general stay,
// load_open_placements(state, ruleset, nullptr, first). REQUIRES: `compared` in key order,
// first <= compared_before. Throws SQLite::Exception.
std::vector<DayStartStay> day_start_changes(SQLite::Database& state, const std::string& ruleset,
                                            int64_t first, std::optional<int64_t> compared_before,
                                            const std::vector<OpenPlacement>& compared);

// One customer's open stays at a time, for a caller that asks for many in turn (a live engine's
// connection): the same placements as load_open_placements(state, ruleset, &key), with the
// statement prepared once, each run's as_of read from the state the first time a stay refers
// to it, and the segment names read once (and again when a stay names a code not seen yet),
// not on every call. Names are interned on each call into
// the pool then in scope. Not thread-safe: one per connection.
class OneCustomerStays {
  public:
    OneCustomerStays(SQLite::Database& state, std::string ruleset);
    ~OneCustomerStays();
    // None or one placement. Throws SQLite::Exception.
    std::vector<OpenPlacement> operator()(const Value& key);
    // The customer's general stay as the day `as_of` (YYYY-MM-DD) began: the one open before
    // the ruleset's first run of that day or a later one (first_run_from), which is what
    // previous_segment, segment_since and days_in_segment read. `now` is what operator() gave
    // for the key; when no such run exists, or the general stay in `now` began before it, that
    // is the answer, else the stay that run or a later one ended is read. None or one
    // placement, with the general stay only (no tactical stays). Throws SQLite::Exception.
    std::vector<OpenPlacement> at_day_start(const Value& key, const std::string& as_of,
                                            const std::vector<OpenPlacement>& now);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The open stays of a ruleset a page at a time, in key order, for a run that only compares its
// placements with them: at most `page_rows` stay rows' placements are held at once, instead of
// the whole base's (84 bytes a customer). Stays that run `run_id` opened are left out, so
// pages read while the run writes its own stays are those of the latest run before it.
// Throws SQLite::Exception.
class OpenPlacementPages {
  public:
    OpenPlacementPages(SQLite::Database& state, const std::string& ruleset, int64_t run_id,
                       size_t page_rows);
    // Replaces `out` with the next page's placements; false (and `out` empty) at the end.
    // REQUIRES: of the customers after the last key handed out, the run has written only the
    // stays it opened.
    bool operator()(std::vector<OpenPlacement>& out);

  private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

// A customer key as the state stores it: an integer, or a text.
Value key_from_column(const SQLite::Column& c);

// Orders keys as runs write them: integers first, numerically, then texts bytewise.
int compare_keys(const Value& a, const Value& b);

// Moves between general segments since the latest run; "" stands for none (a customer new
// to the base, or one who left it).
struct Transitions {
    std::map<std::pair<std::string, std::string>, size_t> counts;  // (from, to) → customers
    size_t moved = 0;    // customers whose general segment changed (new and leaving ones too)
    size_t entered = 0;  // new customers
    size_t left = 0;     // customers no longer in the base
    size_t tactical_entered = 0;
    size_t tactical_left = 0;
    size_t stays_written = 0;  // stay rows opened or closed
    // New customers whose key is, as the other kind, the key of a customer who left: an
    // integer key and a text that spells it (5 and '5'). A key column whose type changed
    // makes the whole base such customers. `retyped_example` is one of them ("'5' was 5").
    size_t retyped = 0;
    std::string retyped_example;
    bool retyped_as_text = false;  // the example's new key is the text (its old one the integer)
};

// What a run changes in the stays: stays to close, stays to open, and stays that go on under
// a new level (a new version reordered its tactical segments).
struct StayChanges {
    struct Opened {
        Value key;
        Str segment;
        int level;
    };
    struct Releveled {
        StayRef stay;
        int level;  // the stay's path's level in this run's rule file
    };
    // A customer's open stays after the run, for each customer whose open stays changed: the
    // state keeps them in one row. A run number 0 stands for this run.
    struct Placed {
        Value key;
        Str general;  // null pointer: the customer left the base (their row goes)
        int64_t general_since = 0;
        std::vector<OpenTactical> tactical;  // in level order
        bool existed = false;                // the customer had open stays before
        Str general_before;                  // what the run read (null pointer: none)
        int64_t general_since_before = 0;
    };
    std::vector<StayRef> closed;
    std::vector<Opened> opened;
    std::vector<Releveled> releveled;
    std::vector<Placed> placed;  // in key order
    void clear() {
        closed.clear();
        opened.clear();
        releveled.clear();
        placed.clear();
    }
};

// Compares new placements, given in key order in as many pieces as come, with the open
// stays, and says what changes.
class StayDiff {
  public:
    // `tactical_levels`: each tactical path's level (1 + its depth-first place in the file).
    StayDiff(std::vector<OpenPlacement> open, std::unordered_map<std::string, int> tactical_levels);
    // Reads the open stays a page at a time as the rows come: open() is then only the page
    // at hand.
    StayDiff(OpenPlacementPages pages, std::unordered_map<std::string, int> tactical_levels);

    // REQUIRES: rows in key order, after every row given before.
    void add(const MembershipRow* rows, size_t count, StayChanges& out);
    // Customers with open stays that the run did not place have left the base.
    void finish(StayChanges& out);

    // The open stays it compares with, in key order (without pages).
    const std::vector<OpenPlacement>& open() const { return open_; }
    // Complete after finish().
    const Transitions& transitions() const { return transitions_; }

  private:
    void left_base(const OpenPlacement& p, StayChanges& out);
    // open_[next_], the first open placement not yet matched (reading the next page if it
    // is needed), or null when there is none.
    const OpenPlacement* peek();
    // A path's level from the rule file, or (for state migrated from before levels were kept)
    // its place among the row's own paths.
    int level_of(const std::string& path, size_t place_in_row) const;

    std::vector<OpenPlacement> open_;
    std::unordered_map<std::string, int> levels_;
    std::optional<OpenPlacementPages> pages_;  // while more pages may come
    size_t next_ = 0;                          // open_[next_] is the first not yet matched
    Transitions transitions_;                  // counts filled in by finish()
    // Moves by interned segment texts while rows come (none_ for no segment): cheaper per row
    // than counting by strings.
    std::map<std::pair<const std::string*, const std::string*>, size_t> moves_;
    Str none_;
    // Keys of the customers who left and of the new ones that are integers or texts spelling
    // one, as (the integer, whether the key is the text): finish() counts the retyped ones.
    std::vector<std::pair<int64_t, bool>> left_integers_, new_integers_;
};

// Writes a run's stay changes. The caller holds the transaction.
class StayWriter {
  public:
    // Throws SQLite::Exception.
    StayWriter(SQLite::Database& state, const std::string& ruleset, int64_t run_id);
    ~StayWriter();
    StayWriter(const StayWriter&) = delete;
    StayWriter& operator=(const StayWriter&) = delete;
    // Throws SQLite::Exception.
    void write(const StayChanges& changes);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// A stored run's full membership, from the stays, in key order. Throws SQLite::Exception.
std::vector<MembershipRow> membership_of_run(SQLite::Database& state, int64_t run_id);

}  // namespace strata
