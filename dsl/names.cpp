#include "dsl/names.hpp"

#include <tao/pegtl.hpp>

#include "dsl/grammar.hpp"

namespace strata::names {

namespace pegtl = tao::pegtl;

size_t name_char_length(std::string_view s, size_t i) {
    if (i >= s.size()) return 0;
    pegtl::memory_input in(s.data() + i, s.size() - i, "name");
    if (!pegtl::parse<grammar::ident_other>(in)) return 0;
    return static_cast<size_t>(in.current() - (s.data() + i));
}

size_t char_length(std::string_view s, size_t i) {
    if (i >= s.size()) return 0;
    pegtl::memory_input in(s.data() + i, s.size() - i, "text");
    if (!pegtl::parse<pegtl::utf8::any>(in)) return 1;
    return static_cast<size_t>(in.current() - (s.data() + i));
}

size_t char_count(std::string_view s) {
    size_t count = 0;
    for (size_t i = 0; i < s.size(); i += char_length(s, i))
        ++count;
    return count;
}

bool is_ascii(std::string_view s) {
    for (char c : s) {
        if (static_cast<unsigned char>(c) >= 0x80) return false;
    }
    return true;
}

}  // namespace strata::names
