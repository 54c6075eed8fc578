// How a context set is ordered before its tree is built (tca.md 4.1 and 6): as given, sorted by
// the first or second input coordinate, by a random projection, or by k-d splits. Task files
// record their data's default ordering, tree files the ordering they were built with, and a TCA
// model's config the one it uses, so the names live here, below all three.
#pragma once
#include <string>

#include "core/named_values.hpp"

namespace tca {

enum class ContextOrdering { none, sort_x1, sort_x2, random_proj, kd };
inline constexpr NamedValue<ContextOrdering> kContextOrderingNames[] = {
    {ContextOrdering::none, "none"},
    {ContextOrdering::sort_x1, "sort_x1"},
    {ContextOrdering::sort_x2, "sort_x2"},
    {ContextOrdering::random_proj, "random_proj"},
    {ContextOrdering::kd, "kd"}};

inline std::string to_string(ContextOrdering v) { return name_of(kContextOrderingNames, v); }
inline ContextOrdering context_ordering_from_string(const std::string& s) {
  return value_named(kContextOrderingNames, s, "ordering heuristic");
}

}  // namespace tca
