#include "toml_reader.h"

#include <algorithm>

#include "aisle/common/config.h"

namespace aisle::fwconfig::detail {
namespace {

const char* typeName(toml::node_type t) {
  switch (t) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a decimal number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::size_t editDistance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

SourcePos posOf(const toml::source_region& r) {
  return {static_cast<int>(r.begin.line), static_cast<int>(r.begin.column)};
}

std::string suggest(const std::string& word, const std::vector<std::string>& choices,
                    const std::string& what) {
  std::string best;
  std::size_t bestDistance = 3;  // more than two edits away is a different word, not a typo
  for (const auto& c : choices) {
    const std::size_t d = editDistance(word, c);
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  if (!best.empty()) return "did you mean '" + best + "'?";
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
  return list.empty() ? "no " + what + "s are defined" : "known " + what + "s: " + list;
}

TableReader::TableReader(const toml::table& table, std::string label, Diagnostics& diags,
                         KeyPositions* pos)
    : table_(table), label_(std::move(label)), diags_(diags), pos_(pos) {
  if (pos_) pos_->setTable(tablePos());
}

SourcePos TableReader::tablePos() const {
  const SourcePos p = posOf(table_.source());
  // The root table and implicitly created tables have no position: point at the file's start.
  return p.line > 0 ? p : SourcePos{1, 1};
}

const toml::node* TableReader::use(const std::string& key, Need need, const std::string& hint) {
  used_.insert(key);
  const toml::node* n = table_.get(key);
  if (!n) {
    if (need == Need::Required)
      diags_.add(tablePos(), label_ + ": missing key '" + key + "'", hint);
    return nullptr;
  }
  if (pos_) pos_->set(key, posOf(n->source()));
  return n;
}

void TableReader::wrongType(const std::string& key, const toml::node& n,
                            const std::string& expected, const std::string& hint) {
  diags_.add(posOf(n.source()),
             label_ + ": '" + key + "' must be " + expected + ", not " + typeName(n.type()), hint);
}

void TableReader::problem(const std::string& key, std::string message, std::string hint) {
  const toml::node* n = table_.get(key);
  diags_.add(n ? posOf(n->source()) : tablePos(), label_ + ": " + message, std::move(hint));
}

bool TableReader::string(const std::string& key, std::string& out, Need need,
                         const std::string& hint) {
  const toml::node* n = use(key, need, hint);
  if (!n) return false;
  const auto* s = n->as_string();
  if (!s) {
    wrongType(key, *n, "a string", hint);
    return false;
  }
  out = s->get();
  if (out.empty() && need == Need::Required) {
    problem(key, "'" + key + "' must not be empty", hint);
    return false;
  }
  return true;
}

bool TableReader::integer(const std::string& key, std::int64_t& out, std::int64_t min,
                          std::int64_t max, Need need, const std::string& hint) {
  const toml::node* n = use(key, need, hint);
  if (!n) return false;
  const auto* i = n->as_integer();
  if (!i) {
    wrongType(key, *n, "an integer", hint);
    return false;
  }
  const std::int64_t v = i->get();
  if (v < min || v > max) {
    problem(key,
            key + " = " + std::to_string(v) + " is out of range [" + std::to_string(min) + ", " +
                std::to_string(max) + "]",
            hint);
    return false;
  }
  out = v;
  return true;
}

bool TableReader::boolean(const std::string& key, bool& out, Need need, const std::string& hint) {
  const toml::node* n = use(key, need, hint);
  if (!n) return false;
  const auto* b = n->as_boolean();
  if (!b) {
    wrongType(key, *n, "true or false", hint);
    return false;
  }
  out = b->get();
  return true;
}

bool TableReader::duration(const std::string& key, std::chrono::milliseconds& out,
                           std::chrono::milliseconds min, std::chrono::milliseconds max, Need need,
                           const std::string& hint) {
  const toml::node* n = use(key, need, hint);
  if (!n) return false;
  const auto* s = n->as_string();
  if (!s) {
    wrongType(key, *n, "a duration string", hint);
    return false;
  }
  auto d = parseDuration(s->get());
  if (!d) {
    problem(key, key + " = \"" + s->get() + "\" is not a duration", hint);
    return false;
  }
  if (*d < min || *d > max) {
    problem(key,
            key + " = \"" + s->get() + "\" is out of range [" + formatDuration(min) + ", " +
                formatDuration(max) + "]",
            hint);
    return false;
  }
  out = *d;
  return true;
}

bool TableReader::stringList(const std::string& key, std::vector<std::string>& out, Need need,
                             const std::string& hint) {
  const toml::node* n = use(key, need, hint);
  if (!n) return false;
  const auto* a = n->as_array();
  if (!a) {
    wrongType(key, *n, "an array of strings", hint);
    return false;
  }
  std::vector<std::string> items;
  for (const auto& e : *a) {
    const auto* s = e.as_string();
    if (!s) {
      wrongType(key, e, "an array of strings", hint);
      return false;
    }
    items.push_back(s->get());
  }
  out = std::move(items);
  return true;
}

bool TableReader::range(const std::string& key, std::uint16_t& lo, std::uint16_t& hi, Need need,
                        const std::string& hint) {
  const toml::node* n = use(key, need, hint);
  if (!n) return false;
  std::int64_t a = 0, b = 0;
  if (const auto* i = n->as_integer()) {
    a = b = i->get();
  } else if (const auto* arr = n->as_array();
             arr && arr->size() == 2 && (*arr)[0].is_integer() && (*arr)[1].is_integer()) {
    a = (*arr)[0].as_integer()->get();
    b = (*arr)[1].as_integer()->get();
  } else {
    wrongType(key, *n, "an integer or a [first, last] pair", hint);
    return false;
  }
  if (a < 0 || b > 65535 || a > b) {
    problem(key,
            key + " = [" + std::to_string(a) + ", " + std::to_string(b) +
                "] is not a range within [0, 65535]",
            hint);
    return false;
  }
  lo = static_cast<std::uint16_t>(a);
  hi = static_cast<std::uint16_t>(b);
  return true;
}

const toml::table* TableReader::table(const std::string& key, Need need, const std::string& hint) {
  if (need == Need::Required && !table_.contains(key)) {
    used_.insert(key);
    diags_.add(tablePos(), label_ + ": missing table [" + key + "]", hint);
    return nullptr;
  }
  const toml::node* n = use(key, need, hint);
  if (!n) return nullptr;
  const auto* t = n->as_table();
  if (!t) wrongType(key, *n, "a table", hint);
  return t;
}

const toml::array* TableReader::tableArray(const std::string& key, Need need,
                                           const std::string& hint) {
  const toml::node* n = use(key, need, hint);
  if (!n) return nullptr;
  const auto* a = n->as_array();
  if (!a || !a->is_array_of_tables()) {
    wrongType(key, *n, "an array of tables ([[" + key + "]])", hint);
    return nullptr;
  }
  return a;
}

void TableReader::finish() {
  std::vector<std::string> known(used_.begin(), used_.end());
  for (auto&& [k, v] : table_) {
    const std::string key(k.str());
    if (used_.count(key)) continue;
    std::string hint;
    for (const auto& [name, why] : explained_)
      if (name == key) hint = why;
    if (hint.empty()) hint = suggest(key, known, "key");
    diags_.add(posOf(k.source()), label_ + ": unknown key '" + key + "'", hint);
  }
}

}  // namespace aisle::fwconfig::detail
