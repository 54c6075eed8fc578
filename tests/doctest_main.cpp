// The doctest runner, in a file of its own that never changes (it costs seconds to compile).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
