// The `tca show` layouts (lib/viz/retrieval_pictures.hpp) on hand-made data: each is a valid PNG
// and SVG of the size its content asks for. TCA_VIZ_KEEP=DIR keeps the pictures for a look.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>

#include "io/test_files.hpp"
#include "viz/retrieval_pictures.hpp"

using namespace tca;
using namespace tca::viz;

namespace {

void save_both(const Figure& f, const test::TempDir& tmp, const std::string& name) {
  const char* keep = std::getenv("TCA_VIZ_KEEP");
  const std::string base = keep ? std::string(keep) + "/" + name : tmp.file(name);
  f.save(base + ".png");
  f.save(base + ".svg");
  const std::string png = test::read_bytes(base + ".png");
  CHECK(png.substr(1, 3) == "PNG");
  const uint32_t w = (uint32_t(uint8_t(png[16])) << 24) | (uint32_t(uint8_t(png[17])) << 16) |
                     (uint32_t(uint8_t(png[18])) << 8) | uint8_t(png[19]);
  CHECK(w == static_cast<uint32_t>(std::ceil(f.width() * 2)));
  CHECK(test::read_bytes(base + ".svg").find("<svg") != std::string::npos);
}

}  // namespace

TEST_CASE("the image, GP, copy and tree pictures are drawn as valid PNG and SVG") {
  test::TempDir tmp;
  // A 28 x 28 image: a bright disc; context every 7th pixel; TCA marks a leaf and two regions.
  ImagePicture img;
  img.height = img.width = 28;
  img.title = "image completion";
  for (int r = 0; r < 28; ++r) {
    for (int c = 0; c < 28; ++c) {
      const double d = std::hypot(r - 14, c - 14);
      img.truth.push_back(static_cast<float>(d < 9 ? 0.4 : -0.5));
      img.mean.push_back(static_cast<float>(d < 8 ? 0.3 : -0.4));
      img.std.push_back(static_cast<float>(0.05 + 0.01 * std::abs(d - 9)));
    }
  }
  for (int px = 0; px < 28 * 28; px += 7) img.context_pixel.push_back(px);
  ImagePicture::Query q;
  q.pixel = 14 * 28 + 14;
  q.tca.leaf = {50, 51};
  q.tca.siblings = {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {60, 61, 62, 63}};
  q.ca_weights.assign(img.context_pixel.size(), 0.001f);
  q.ca_weights[50] = 0.3f;
  img.queries.push_back(q);
  save_both(image_figure(img), tmp, "image");

  GpPicture gp;
  gp.title = "GP regression";
  for (int i = 0; i < 10; ++i) {
    gp.context_x.push_back(-2 + 0.4 * i);
    gp.context_y.push_back(std::sin(-2 + 0.4 * i));
  }
  gp.target_x = {-1.5, 0.5};
  gp.target_y = {std::sin(-1.5), std::sin(0.5)};
  for (const char* m : {"ca", "tca", "perceiver"}) {
    GpPicture::Curve c;
    c.method = m;
    for (int i = 0; i <= 40; ++i) {
      c.x.push_back(-2 + 0.1 * i);
      c.mean.push_back(std::sin(-2 + 0.1 * i));
      c.std.push_back(0.1);
    }
    gp.curves.push_back(c);
  }
  gp.query_x = 0.5;
  gp.tca.leaf = {6, 7};
  gp.tca.siblings = {{0, 1, 2, 3}, {8, 9}, {4, 5}};
  save_both(gp_figure(gp), tmp, "gp");

  CopyPicture copy;
  copy.title = "copy task";
  for (int t = 0; t < 16; ++t) copy.tokens.push_back(2 + t % 10);
  for (int m = 0; m < 16; ++m) {
    RetrievalMarks marks;
    marks.leaf = {(15 - m) & ~1, ((15 - m) & ~1) + 1};
    marks.siblings = {{0, 1, 2, 3, 4, 5, 6, 7}};
    copy.queries.push_back(marks);
  }
  save_both(copy_figure(copy), tmp, "copy");

  TreePicture tree;
  tree.title = "tree";
  tree.branch_factor = 2;
  tree.depth = 3;
  tree.leaf_size = 2;
  tree.tokens = 16;
  tree.path = {1, 0, 1};
  tree.policy = {{0.2, 0.8}, {0.9, 0.1}, {0.4, 0.6}};
  save_both(tree_figure(tree), tmp, "tree");
}
