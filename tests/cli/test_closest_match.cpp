// "Did you mean ...?" suggestions.
#include <doctest/doctest.h>

#include "closest_match.hpp"

TEST_CASE("edit distance counts insertions, deletions and substitutions") {
  CHECK(tca::cli::edit_distance("kitten", "sitting") == 3);
  CHECK(tca::cli::edit_distance("", "abc") == 3);
  CHECK(tca::cli::edit_distance("abc", "") == 3);
  CHECK(tca::cli::edit_distance("lr", "lr") == 0);
  CHECK(tca::cli::edit_distance("bach-size", "batch-size") == 1);
}

TEST_CASE(
    "the closest match prefers an abbreviated name, then the smallest distance, then the "
    "alphabet") {
  CHECK(tca::cli::closest_match("bach-size", {"batch-size", "branch-factor", "heads"}) ==
        "batch-size");
  CHECK(tca::cli::closest_match("batch", {"bias", "batch-size", "lr"}) ==
        "batch-size");  // bias is nearer
  CHECK(tca::cli::closest_match("head", {"lead", "heads"}) == "heads");
  CHECK(tca::cli::closest_match("xy", {"xb", "xa"}) == "xa");
  CHECK(tca::cli::closest_match("anything", {}).empty());
}
