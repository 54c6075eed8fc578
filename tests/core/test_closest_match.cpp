// "Did you mean ...?" suggestions.
#include <doctest/doctest.h>

#include "core/closest_match.hpp"

TEST_CASE("edit distance counts insertions, deletions and substitutions") {
  CHECK(tca::edit_distance("kitten", "sitting") == 3);
  CHECK(tca::edit_distance("", "abc") == 3);
  CHECK(tca::edit_distance("abc", "") == 3);
  CHECK(tca::edit_distance("lr", "lr") == 0);
  CHECK(tca::edit_distance("bach-size", "batch-size") == 1);
}

TEST_CASE("the closest match prefers an abbreviated name, then the smallest distance, then the alphabet") {
  CHECK(tca::closest_match("bach-size", {"batch-size", "branch-factor", "heads"}) == "batch-size");
  CHECK(tca::closest_match("batch", {"bias", "batch-size", "lr"}) == "batch-size");  // bias is nearer
  CHECK(tca::closest_match("head", {"lead", "heads"}) == "heads");
  CHECK(tca::closest_match("xy", {"xb", "xa"}) == "xa");
  CHECK(tca::closest_match("anything", {}).empty());
}
