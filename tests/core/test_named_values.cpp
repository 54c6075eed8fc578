// The name tables behind every choice made by name (core/named_values.hpp, issue 21): names map
// to values and back, and an unknown name is a usage error listing every name.
#include <doctest/doctest.h>

#include "core/context_ordering.hpp"
#include "core/named_values.hpp"

using namespace tca;

TEST_CASE("a name table maps names to values and back, in its order") {
  for (const auto& entry : kContextOrderingNames) {
    CHECK(context_ordering_from_string(entry.name) == entry.value);
    CHECK(to_string(entry.value) == entry.name);
  }
  CHECK(names_of(kContextOrderingNames) ==
        std::vector<std::string>{"none", "sort_x1", "sort_x2", "random_proj", "kd"});
  CHECK(names_list(kContextOrderingNames) == "none, sort_x1, sort_x2, random_proj or kd");
  CHECK(find_named(kContextOrderingNames, "kd") == ContextOrdering::kd);
  CHECK_FALSE(find_named(kContextOrderingNames, "KD").has_value());  // names are exact
}

TEST_CASE("an unknown name is a usage error naming it (quoted) and every known name") {
  try {
    context_ordering_from_string("zig\x1bzag");
    FAIL("no error");
  } catch (const UsageError& e) {
    CHECK(std::string(e.what()) ==
          "unknown ordering heuristic 'zig\\x1bzag': expected none, sort_x1, sort_x2, "
          "random_proj or kd");
  }
}

TEST_CASE("a two-name table is listed as 'a or b'") {
  enum class Two { a, b };
  static constexpr NamedValue<Two> kTwo[] = {{Two::a, "a"}, {Two::b, "b"}};
  CHECK(names_list(kTwo) == "a or b");
  CHECK(name_of(kTwo, Two::b) == "b");
}
