#include "aisle/common/config.h"

#include <fstream>
#include <sstream>

#include "aisle/common/parse.h"

namespace aisle {
namespace {

bool validKey(std::string_view k) {
  if (k.empty()) return false;
  for (char c : k) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// Reads one double-quoted string starting at s[0] == '"'; returns the consumed length or 0.
std::size_t readQuoted(std::string_view s, std::string& out) {
  out.clear();
  for (std::size_t i = 1; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      const char n = s[++i];
      out.push_back(n == 'n' ? '\n' : n == 't' ? '\t' : n);
    } else if (s[i] == '"') {
      return i + 1;
    } else {
      out.push_back(s[i]);
    }
  }
  return 0;
}

std::string_view stripComment(std::string_view s) {
  bool inQuote = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && inQuote) {
      ++i;
    } else if (s[i] == '"') {
      inQuote = !inQuote;
    } else if (s[i] == '#' && !inQuote) {
      return s.substr(0, i);
    }
  }
  return s;
}

}  // namespace

Result<ConfigFile> ConfigFile::parse(std::string_view text, std::string fileName) {
  ConfigFile f;
  f.file_ = std::move(fileName);
  std::string section;
  std::istringstream in{std::string(text)};
  std::string raw;
  int lineNo = 0;
  auto where = [&] { return f.file_ + ":" + std::to_string(lineNo) + ": "; };
  while (std::getline(in, raw)) {
    ++lineNo;
    const std::string_view line = trim(stripComment(raw));
    if (line.empty()) continue;
    if (line.front() == '[') {
      if (line.back() != ']' || !validKey(trim(line.substr(1, line.size() - 2)))) {
        return fail(where() + "malformed section header '" + std::string(line) + "'");
      }
      section = std::string(trim(line.substr(1, line.size() - 2)));
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) return fail(where() + "expected 'key = value', got '" + std::string(line) + "'");
    const std::string_view key = trim(line.substr(0, eq));
    std::string_view value = trim(line.substr(eq + 1));
    if (!validKey(key)) return fail(where() + "invalid key '" + std::string(key) + "'");
    ConfigEntry e;
    e.key = section.empty() ? std::string(key) : section + "." + std::string(key);
    e.line = lineNo;
    if (f.find(e.key)) return fail(where() + "duplicate key '" + e.key + "'");
    if (value.empty()) return fail(where() + e.key + ": missing value");
    if (value.front() == '"') {
      const std::size_t n = readQuoted(value, e.text);
      if (n == 0) return fail(where() + e.key + ": unterminated string");
      if (!trim(value.substr(n)).empty()) return fail(where() + e.key + ": text after closing quote");
      e.quoted = true;
    } else if (value.front() == '[') {
      if (value.back() != ']') return fail(where() + e.key + ": unterminated list (lists stay on one line)");
      e.list = true;
      std::string_view rest = trim(value.substr(1, value.size() - 2));
      while (!rest.empty()) {
        std::string item;
        if (rest.front() != '"') return fail(where() + e.key + ": list items must be quoted strings");
        const std::size_t n = readQuoted(rest, item);
        if (n == 0) return fail(where() + e.key + ": unterminated string in list");
        e.items.push_back(std::move(item));
        rest = trim(rest.substr(n));
        if (!rest.empty()) {
          if (rest.front() != ',') return fail(where() + e.key + ": expected ',' between list items");
          rest = trim(rest.substr(1));
        }
      }
      e.text = std::string(value);
    } else {
      e.text = std::string(value);
    }
    f.entries_.push_back(std::move(e));
  }
  return f;
}

Result<ConfigFile> ConfigFile::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(path + ": cannot open configuration file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path);
}

const ConfigEntry* ConfigFile::find(const std::string& key) const {
  for (const auto& e : entries_)
    if (e.key == key) return &e;
  return nullptr;
}

Result<std::chrono::milliseconds> parseDuration(std::string_view text) {
  const std::string_view t = trim(text);
  std::size_t i = 0;
  while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
  if (i == 0) return fail("'" + std::string(t) + "' is not a duration (e.g. 500ms, 10s, 5m, 2h, 1d)");
  auto n = parseNumber<std::int64_t>(t.substr(0, i), 0, 1'000'000'000);
  if (!n) return n.error();
  const std::string_view unit = t.substr(i);
  std::int64_t mul = 0;
  if (unit == "ms") mul = 1;
  else if (unit == "s") mul = 1000;
  else if (unit == "m") mul = 60'000;
  else if (unit == "h") mul = 3'600'000;
  else if (unit == "d") mul = 86'400'000;
  else return fail("'" + std::string(t) + "' has no unit (ms, s, m, h or d)");
  return std::chrono::milliseconds(*n * mul);
}

const ConfigEntry* ConfigReader::use(const std::string& key) {
  used_[key] = true;
  return file_.find(key);
}

void ConfigReader::report(const ConfigEntry* e, const std::string& key, const std::string& message) {
  problems_.push_back(file_.fileName() + ":" + std::to_string(e ? e->line : 0) + ": " + key + ": " + message);
}

void ConfigReader::problem(const std::string& key, const std::string& message) {
  report(file_.find(key), key, message);
}

void ConfigReader::string(const std::string& key, std::string& out, bool required) {
  const ConfigEntry* e = use(key);
  if (!e) {
    if (required) report(nullptr, key, "required but missing");
    return;
  }
  if (e->list) return report(e, key, "expected a string, got a list");
  out = e->text;
}

void ConfigReader::boolean(const std::string& key, bool& out) {
  const ConfigEntry* e = use(key);
  if (!e) return;
  if (!e->quoted && e->text == "true") out = true;
  else if (!e->quoted && e->text == "false") out = false;
  else report(e, key, "expected true or false, got '" + e->text + "'");
}

void ConfigReader::integer(const std::string& key, std::int64_t& out, std::int64_t min,
                           std::int64_t max, bool required) {
  const ConfigEntry* e = use(key);
  if (!e) {
    if (required) report(nullptr, key, "required but missing");
    return;
  }
  auto v = parseNumber<std::int64_t>(e->text, min, max);
  if (!v) return report(e, key, v.message());
  out = *v;
}

void ConfigReader::decimal(const std::string& key, double& out, double min, double max) {
  const ConfigEntry* e = use(key);
  if (!e) return;
  auto v = parseNumber<double>(e->text, min, max);
  if (!v) return report(e, key, v.message());
  out = *v;
}

void ConfigReader::duration(const std::string& key, std::chrono::milliseconds& out,
                            std::chrono::milliseconds min, std::chrono::milliseconds max) {
  const ConfigEntry* e = use(key);
  if (!e) return;
  auto v = parseDuration(e->text);
  if (!v) return report(e, key, v.message());
  if (*v < min || *v > max) {
    return report(e, key, "'" + e->text + "' is out of range [" + std::to_string(min.count()) +
                              "ms, " + std::to_string(max.count()) + "ms]");
  }
  out = *v;
}

void ConfigReader::stringList(const std::string& key, std::vector<std::string>& out) {
  const ConfigEntry* e = use(key);
  if (!e) return;
  if (!e->list) return report(e, key, "expected a list like [\"a\", \"b\"]");
  out = e->items;
}

void ConfigReader::choice(const std::string& key, std::string& out, const std::vector<std::string>& allowed) {
  const ConfigEntry* e = use(key);
  if (!e) return;
  for (const auto& a : allowed) {
    if (e->text == a) {
      out = a;
      return;
    }
  }
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  report(e, key, "'" + e->text + "' is not one of: " + list);
}

Status ConfigReader::finish() {
  for (const auto& e : file_.entries()) {
    if (!used_.count(e.key)) report(&e, e.key, "unknown key");
  }
  if (problems_.empty()) return okStatus();
  std::string all;
  for (const auto& p : problems_) all += (all.empty() ? "" : "\n") + p;
  return fail(all);
}

}  // namespace aisle
