// "Did you mean ...?": the known name closest to a mistyped one, for unknown options, config keys,
// choices and commands (conventions.md: errors name the closest known key).
#pragma once
#include <string>
#include <vector>

namespace tca::cli {

// Levenshtein distance: insertions, deletions and substitutions, each costing 1.
size_t edit_distance(const std::string& a, const std::string& b);

// The candidate closest to `key`: candidates that start with `key` (an abbreviation) first, then
// the smallest edit distance, then alphabetical order. "" when there are no candidates.
std::string closest_match(const std::string& key, const std::vector<std::string>& candidates);

}  // namespace tca::cli
