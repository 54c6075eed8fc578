#include "closest_match.hpp"

#include <algorithm>

namespace tca::cli {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitute = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, substitute});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string closest_match(const std::string& key, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = 0;
  bool best_prefix = false;
  for (const auto& c : candidates) {
    const size_t d = edit_distance(key, c);
    const bool prefix = !key.empty() && c.rfind(key, 0) == 0;
    // A candidate the key starts is what an abbreviation meant (`--batch` for `--batch-size`).
    const bool better =
        best.empty() || (prefix && !best_prefix) ||
        (prefix == best_prefix && (d < best_distance || (d == best_distance && c < best)));
    if (better) {
      best = c;
      best_distance = d;
      best_prefix = prefix;
    }
  }
  return best;
}

}  // namespace tca::cli
