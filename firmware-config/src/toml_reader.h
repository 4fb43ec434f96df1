#pragma once
// Reads one TOML table into typed fields, declaratively: each call names a key, its type, range and
// a hint, and every problem becomes a Diagnostic at the key's line and column. finish() reports the
// keys nobody asked for, so a typo is an error instead of a silently ignored setting.
#include <toml++/toml.h>

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "aisle/fwconfig/bundle.h"
#include "aisle/fwconfig/fleet.h"

namespace aisle::fwconfig::detail {

class Diagnostics {
 public:
  Diagnostics(std::string file, std::vector<Diagnostic>& out) : file_(std::move(file)), out_(out) {}
  void add(SourcePos pos, std::string message, std::string hint) {
    out_.push_back({file_, pos, std::move(message), std::move(hint)});
  }
  const std::string& file() const { return file_; }

 private:
  std::string file_;
  std::vector<Diagnostic>& out_;
};

SourcePos posOf(const toml::source_region& r);
// "did you mean 'x'?" for a near miss (edit distance <= 2), else the list of choices.
std::string suggest(const std::string& word, const std::vector<std::string>& choices,
                    const std::string& what);

enum class Need { Required, Optional };

// The fleet parser; with `meta` it also reads the [bundle] table of a bundle payload.
FleetCheck parseFleetDocument(std::string_view text, const std::string& fileName, BundleMeta* meta);

class TableReader {
 public:
  TableReader(const toml::table& table, std::string label, Diagnostics& diags, KeyPositions* pos);

  // Once the entity's id is known, messages name it ("gateway 'gw-1'") instead of its index.
  void setLabel(std::string label) { label_ = std::move(label); }
  const std::string& label() const { return label_; }
  Diagnostics& diagnostics() { return diags_; }
  SourcePos tablePos() const;

  bool present(const std::string& key) const { return table_.contains(key); }
  bool string(const std::string& key, std::string& out, Need need, const std::string& hint);
  bool integer(const std::string& key, std::int64_t& out, std::int64_t min, std::int64_t max,
               Need need, const std::string& hint);
  template <typename T>
  bool number(const std::string& key, T& out, std::int64_t min, std::int64_t max, Need need,
              const std::string& hint) {
    std::int64_t v = out;
    if (!integer(key, v, min, max, need, hint)) return false;
    out = static_cast<T>(v);
    return true;
  }
  bool boolean(const std::string& key, bool& out, Need need, const std::string& hint);
  bool duration(const std::string& key, std::chrono::milliseconds& out,
                std::chrono::milliseconds min, std::chrono::milliseconds max, Need need,
                const std::string& hint);
  bool stringList(const std::string& key, std::vector<std::string>& out, Need need,
                  const std::string& hint);
  // An inclusive [lo, hi] pair, or one integer meaning [n, n].
  bool range(const std::string& key, std::uint16_t& lo, std::uint16_t& hi, Need need,
             const std::string& hint);
  template <typename E>
  bool choice(const std::string& key, E& out, const std::vector<std::pair<std::string, E>>& choices,
              Need need) {
    std::vector<std::string> names;
    for (const auto& c : choices) names.push_back(c.first);
    std::string text;
    std::string joined;
    for (const auto& n : names) joined += (joined.empty() ? "" : ", ") + n;
    if (!string(key, text, need, "one of " + joined)) return false;
    for (const auto& c : choices) {
      if (c.first == text) {
        out = c.second;
        return true;
      }
    }
    problem(key, key + " = \"" + text + "\" is not one of " + joined,
            suggest(text, names, "value"));
    return false;
  }
  // A sub-table (or nullptr when absent; wrong types are reported).
  const toml::table* table(const std::string& key, Need need, const std::string& hint);
  // An array of tables ([[key]]), or nullptr when absent.
  const toml::array* tableArray(const std::string& key, Need need, const std::string& hint);

  // Reports a problem at the key (or the table when the key is absent).
  void problem(const std::string& key, std::string message, std::string hint);
  // Keys that belong to other variants (e.g. `major` on an eddystone-uid beacon) get this hint.
  void explainKey(const std::string& key, std::string hint) {
    explained_.emplace_back(key, std::move(hint));
  }
  void finish();

 private:
  const toml::node* use(const std::string& key, Need need, const std::string& hint);
  void wrongType(const std::string& key, const toml::node& n, const std::string& expected,
                 const std::string& hint);

  const toml::table& table_;
  std::string label_;
  Diagnostics& diags_;
  KeyPositions* pos_;
  std::set<std::string> used_;
  std::vector<std::pair<std::string, std::string>> explained_;
};

}  // namespace aisle::fwconfig::detail
