// lib/viz/figure.hpp: the same drawing saved as a valid PNG (of the scaled size) and SVG, written
// atomically; ticks; clear errors for a wrong extension or an unwritable path.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>

#include "core/error.hpp"
#include "io/test_files.hpp"
#include "viz/figure.hpp"

using namespace tca;
using namespace tca::viz;

namespace {

uint32_t be32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) |
         (uint32_t(uint8_t(s[at + 2])) << 8) | uint32_t(uint8_t(s[at + 3]));
}

void draw(Figure& f) {
  Axes ax(f, 50, 30, 200, 120, -2, 2, -1, 1);
  ax.frame("title", "x", "y");
  ax.band({-2, 0, 2}, {-0.5, -0.2, -0.5}, {0.5, 0.2, 0.5}, Rgb{0.8, 0.2, 0.2, 0.3});
  ax.polyline({-2, 0, 2}, {0, 0.5, 0}, colours::kTca);
  ax.point(0, 0, 3, colours::kQuery);
  ax.legend(0, "TCA", colours::kTca);
  f.fill_rect(260, 30, 20, 20, colours::kLeaf);
}

}  // namespace

TEST_CASE("a figure is saved as a PNG of the scaled size and as an SVG of its size") {
  test::TempDir tmp;
  Figure f(300, 180);
  draw(f);
  f.save(tmp.file("a.png"), 2.0);
  f.save(tmp.file("a.svg"));
  const std::string png = test::read_bytes(tmp.file("a.png"));
  REQUIRE(png.size() > 33);
  CHECK(png.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
  CHECK(png.substr(12, 4) == "IHDR");
  CHECK(be32(png, 16) == 600);
  CHECK(be32(png, 20) == 360);
  const std::string svg = test::read_bytes(tmp.file("a.svg"));
  CHECK(svg.find("<svg") != std::string::npos);
  CHECK(svg.find("width=\"300pt\"") != std::string::npos);
  CHECK(svg.find("height=\"180pt\"") != std::string::npos);
  // Nothing is left beside the outputs (temp file, then rename).
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(tmp.path()))
    files += e.is_regular_file();
  CHECK(files == 2);
}

TEST_CASE("saving refuses another extension and names an unwritable path") {
  test::TempDir tmp;
  Figure f(10, 10);
  CHECK_THROWS_AS(f.save(tmp.file("a.jpg")), UsageError);
  CHECK_THROWS_WITH_AS(f.save(tmp.file("missing/dir/a.png")),
                       doctest::Contains("missing/dir/a.png"), Error);
}

TEST_CASE("nice ticks cover the range with round steps") {
  CHECK(nice_ticks(-2, 2) == std::vector<double>{-2, -1, 0, 1, 2});
  const auto unit = nice_ticks(0, 1);
  REQUIRE(unit.size() == 6);
  for (size_t i = 0; i < unit.size(); ++i)
    CHECK(unit[i] == doctest::Approx(0.2 * static_cast<double>(i)));
  CHECK(nice_ticks(1, 1).empty());
}
