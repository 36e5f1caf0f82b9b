#include "warehouse/clickhouse_text.hpp"

namespace strata::warehouse {

namespace {

// Appends the escape of one byte shared by literals and TSV fields, or the byte itself.
void append_escaped(std::string& out, char c) {
    switch (c) {
        case '\\':
            out += "\\\\";
            break;
        case '\0':
            out += "\\0";
            break;
        case '\t':
            out += "\\t";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        default:
            out += c;
    }
}

// Undoes ClickHouse's escapes in one field of its TabSeparated output.
std::optional<std::string> unescape_field(std::string_view field, std::string& error) {
    std::string out;
    out.reserve(field.size());
    for (std::size_t i = 0; i < field.size(); ++i) {
        if (field[i] != '\\') {
            out += field[i];
            continue;
        }
        if (i + 1 == field.size()) {
            error = "a field of ClickHouse's answer ends in a lone backslash";
            return std::nullopt;
        }
        char c = field[++i];
        switch (c) {
            case 'b':
                out += '\b';
                break;
            case 'f':
                out += '\f';
                break;
            case 'n':
                out += '\n';
                break;
            case 'r':
                out += '\r';
                break;
            case 't':
                out += '\t';
                break;
            case '0':
                out += '\0';
                break;
            case 'a':
                out += '\a';
                break;
            case 'v':
                out += '\v';
                break;
            // \\ \' and any other escaped character stand for the character itself.
            default:
                out += c;
        }
    }
    return out;
}

}  // namespace

std::string clickhouse_string_literal(std::string_view value) {
    std::string out = "'";
    out.reserve(value.size() + 2);
    for (char c : value) {
        if (c == '\'') {
            out += "\\'";
        } else {
            append_escaped(out, c);
        }
    }
    out += '\'';
    return out;
}

std::string clickhouse_tsv_field(const Cell& value) {
    if (!value) return "\\N";
    std::string out;
    out.reserve(value->size());
    for (char c : *value)
        append_escaped(out, c);
    return out;
}

std::optional<ResultTable> parse_tab_separated_with_names(std::string_view text,
                                                          std::string& error) {
    ResultTable table;
    if (text.empty()) return table;
    if (text.back() != '\n') {
        error = "ClickHouse's answer does not end with a line feed (cut short?)";
        return std::nullopt;
    }
    bool header = true;
    std::size_t line_number = 0;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        std::string_view line = text.substr(start, end - start);
        start = end + 1;
        ++line_number;
        Row row;
        std::size_t field_start = 0;
        while (true) {
            std::size_t tab = line.find('\t', field_start);
            std::string_view field =
                line.substr(field_start, tab == std::string_view::npos ? std::string_view::npos
                                                                       : tab - field_start);
            if (field == "\\N" && !header) {
                row.emplace_back(std::nullopt);
            } else {
                auto value = unescape_field(field, error);
                if (!value) return std::nullopt;
                row.emplace_back(std::move(*value));
            }
            if (tab == std::string_view::npos) break;
            field_start = tab + 1;
        }
        if (header) {
            for (auto& name : row)
                table.columns.push_back(std::move(*name));
            header = false;
            continue;
        }
        if (row.size() != table.columns.size()) {
            error = "line " + std::to_string(line_number) + " of ClickHouse's answer has " +
                    std::to_string(row.size()) + " fields, not " +
                    std::to_string(table.columns.size());
            return std::nullopt;
        }
        table.rows.push_back(std::move(row));
    }
    return table;
}

}  // namespace strata::warehouse
