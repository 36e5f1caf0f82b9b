// The outbox's records as JSON (outbox_record_json, engine/outbox.hpp), byte for byte as
// SQLite's JSON functions built them before: senders may compare bytes.
#include <optional>
#include <string>
#include <string_view>

#include "engine/outbox.hpp"
#include "text/one_line.hpp"

namespace strata {

namespace {

// A text as a JSON string, escaped as SQLite's json_quote escapes it (these records were built
// by SQLite's JSON functions before, and senders may compare bytes): '"' and '\\' after a
// backslash, \b \t \n \f \r, other bytes below 0x20 as \u00xx (lower-case hex), and every
// other byte as it is (0x7f included). Bytes that are not UTF-8 (a --reason or --consumer
// given so), which json_quote would copy into invalid JSON, become \ufffd.
void append_json_text(std::string& out, std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += '"';
    for (size_t i = 0; i < text.size(); ++i) {
        const char ch = text[i];
        const auto c = static_cast<unsigned char>(ch);
        if (c >= 0x80) {
            const size_t n = text::utf8_sequence_length(text, i);
            if (n == 0) {
                out += "\\ufffd";
            } else {
                out.append(text.substr(i, n));
                i += n - 1;
            }
            continue;
        }
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\f':
                out += "\\f";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                if (c < 0x20) {
                    out += "\\u00";
                    out += kHex[c >> 4];
                    out += kHex[c & 15];
                } else {
                    out += ch;
                }
        }
    }
    out += '"';
}

// Reads one JSON value (RFC 8259) and writes it again without the whitespace between tokens,
// strings and numbers byte for byte as written: what SQLite's json() gives for a text its
// json_valid() accepts. Nesting deeper than SQLite's 2000 levels is refused, as SQLite does.
class JsonMinifier {
  public:
    explicit JsonMinifier(std::string_view text) : text_(text) {}

    // The value without whitespace, or nullopt when the text is not exactly one JSON value.
    std::optional<std::string> run() {
        skip_space();
        if (!value(0)) return std::nullopt;
        skip_space();
        if (pos_ != text_.size()) return std::nullopt;
        return std::move(out_);
    }

  private:
    static constexpr int kMaxDepth = 2000;

    char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
    bool is_digit() const { return peek() >= '0' && peek() <= '9'; }
    void take() { out_ += text_[pos_++]; }
    void skip_space() {
        while (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')
            ++pos_;
    }

    bool value(int depth) {
        switch (peek()) {
            case '{':
                return container(depth + 1, '}');
            case '[':
                return container(depth + 1, ']');
            case '"':
                return string();
            case 't':
                return word("true");
            case 'f':
                return word("false");
            case 'n':
                return word("null");
            default:
                return number();
        }
    }

    // An object (members "key":value) or an array (values), up to its closing character.
    bool container(int depth, char close) {
        if (depth > kMaxDepth) return false;
        take();
        skip_space();
        if (peek() == close) {
            take();
            return true;
        }
        for (;;) {
            if (close == '}') {
                if (peek() != '"' || !string()) return false;
                skip_space();
                if (peek() != ':') return false;
                take();
                skip_space();
            }
            if (!value(depth)) return false;
            skip_space();
            if (peek() == close) {
                take();
                return true;
            }
            if (peek() != ',') return false;
            take();
            skip_space();
        }
    }

    bool string() {
        take();  // the opening quote
        for (;;) {
            if (pos_ >= text_.size()) return false;
            const auto c = static_cast<unsigned char>(peek());
            if (c < 0x20) return false;
            take();
            if (c == '"') return true;
            if (c != '\\') continue;
            const char escaped = peek();
            if (escaped == 'u') {
                take();
                for (int i = 0; i < 4; ++i) {
                    if (!std::isxdigit(static_cast<unsigned char>(peek()))) return false;
                    take();
                }
            } else if (std::string_view("\"\\/bfnrt").find(escaped) != std::string_view::npos) {
                take();
            } else {
                return false;
            }
        }
    }

    bool word(std::string_view w) {
        if (text_.substr(pos_, w.size()) != w) return false;
        out_ += w;
        pos_ += w.size();
        return true;
    }

    // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    bool number() {
        if (peek() == '-') take();
        if (!is_digit()) return false;
        if (peek() == '0') {
            take();
        } else {
            while (is_digit())
                take();
        }
        if (peek() == '.') {
            take();
            if (!is_digit()) return false;
            while (is_digit())
                take();
        }
        if (peek() == 'e' || peek() == 'E') {
            take();
            if (peek() == '+' || peek() == '-') take();
            if (!is_digit()) return false;
            while (is_digit())
                take();
        }
        return true;
    }

    std::string_view text_;
    size_t pos_ = 0;
    std::string out_;
};

void append_optional_text(std::string& out, const std::optional<std::string>& text) {
    if (text)
        append_json_text(out, *text);
    else
        out += "null";
}

}  // namespace

std::string outbox_record_json(const OutboxEntry& e, bool listed) {
    std::string out = "{\"id\":" + std::to_string(e.id) + ",\"idempotency_key\":";
    append_json_text(out, e.row.idempotency_key);
    out += ",\"ruleset\":";
    append_json_text(out, e.row.ruleset);
    out += ",\"version\":" + std::to_string(e.row.version) + ",\"trigger\":";
    append_json_text(out, e.row.trigger_id);
    out += ",\"customer_key\":";
    if (const auto* i = std::get_if<int64_t>(&e.row.customer_key))
        out += std::to_string(*i);
    else
        append_json_text(out, std::get<Str>(e.row.customer_key).str());
    out += ",\"type\":";
    append_json_text(out, e.row.type);
    // A payload that is not JSON, which enqueue's contract rules out, stays a string rather
    // than making the whole record invalid.
    out += ",\"payload\":";
    if (auto payload = JsonMinifier(e.row.payload).run())
        out += *payload;
    else
        append_json_text(out, e.row.payload);
    out += ",\"run_id\":" + std::to_string(e.row.run_id) + ",\"as_of\":";
    append_json_text(out, e.row.as_of);
    out += ",\"attempt\":" + std::to_string(e.attempt);
    if (listed) {
        out += ",\"status\":";
        append_json_text(out, e.row.status);
        out += ",\"consumer\":";
        append_optional_text(out, e.consumer);
        out += ",\"lease_until\":";
        append_optional_text(out, e.lease_until);
        out += ",\"reason\":";
        append_optional_text(out, e.reason);
    }
    out += '}';
    return out;
}

}  // namespace strata
