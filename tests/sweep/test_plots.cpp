// Line styles of the sweep plots (lib/sweep/plots.hpp): CA, TCA and Perceiver IO keep one style in
// every plot, and the further series of a plot (the ablations' eight settings of TCA, Perceiver
// IO's several L) never share a style while there are styles left.
#include <doctest/doctest.h>

#include <set>

#include "sweep/plots.hpp"

using namespace tca::sweep;

TEST_CASE("plots: each method keeps its style, further series take distinct ones") {
  CHECK(series_styles({"ca", "tca", "perceiver"}) == std::vector<int>{1, 2, 3});
  CHECK(series_styles({"perceiver", "tca"}) == std::vector<int>{3, 2});
  // GP curves: Perceiver IO at L matched, 16 and 32.
  CHECK(series_styles({"ca", "tca", "perceiver", "perceiver", "perceiver"}) ==
        std::vector<int>{1, 2, 3, 4, 5});
  // The ablations' curves: eight settings of TCA, all apart.
  const std::vector<int> ablations = series_styles(std::vector<std::string>(8, "tca"));
  CHECK(ablations.front() == 2);
  CHECK(std::set<int>(ablations.begin(), ablations.end()).size() == 8);
  // An unknown method takes a further style; past seven further series they cycle.
  CHECK(series_styles({"other"}) == std::vector<int>{kFirstFurtherStyle});
  const std::vector<int> many = series_styles(std::vector<std::string>(9, "ca"));
  CHECK(many[1] == kFirstFurtherStyle);
  CHECK(many[8] == kFirstFurtherStyle);  // the eighth further series: the cycle starts again
  for (int s : many) CHECK((s >= 1 && s < kFirstFurtherStyle + kFurtherStyles));
}
