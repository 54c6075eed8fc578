// The names of an enum's values, written once in a table (issue 21: a choice such as the model,
// the ordering heuristic or the reward is parsed from its name at the boundary — a flag, a
// config file, a reference file — and is an enum everywhere after that).
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace tca {

template <class E>
struct NamedValue {
  E value;
  const char* name;
};

// The name of `value` in `table` ("?" for a value the table lacks, which a complete table never
// has).
template <class E, size_t N>
std::string name_of(const NamedValue<E> (&table)[N], E value) {
  for (const auto& entry : table)
    if (entry.value == value) return entry.name;
  return "?";
}

// Every name of `table`, in its order: a flag's choices, an error's list.
template <class E, size_t N>
std::vector<std::string> names_of(const NamedValue<E> (&table)[N]) {
  std::vector<std::string> names;
  for (const auto& entry : table) names.push_back(entry.name);
  return names;
}

// "a, b or c": the names for an error message.
template <class E, size_t N>
std::string names_list(const NamedValue<E> (&table)[N]) {
  std::string list;
  for (size_t i = 0; i < N; ++i) {
    list += table[i].name;
    if (i + 2 < N) list += ", ";
    if (i + 2 == N) list += " or ";
  }
  return list;
}

// The value named `name`, if the table has it (for callers with their own error, e.g. a file's).
template <class E, size_t N>
std::optional<E> find_named(const NamedValue<E> (&table)[N], const std::string& name) {
  for (const auto& entry : table)
    if (name == entry.name) return entry.value;
  return std::nullopt;
}

// The value named `name`; a UsageError "unknown WHAT 'NAME': expected a, b or c" otherwise.
template <class E, size_t N>
E value_named(const NamedValue<E> (&table)[N], const std::string& name, const std::string& what) {
  if (auto v = find_named(table, name)) return *v;
  throw UsageError("unknown " + what + " " + quoted_bytes(name) + ": expected " +
                   names_list(table));
}

}  // namespace tca
