#include "viz/retrieval_pictures.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace tca::viz {

namespace {

Rgb with_alpha(Rgb c, double a) {
  c.a = a;
  return c;
}

double clamp01(double v) { return std::min(1.0, std::max(0.0, v)); }

Rgb method_colour(const std::string& m) {
  if (m == "ca") return colours::kCa;
  if (m == "tca") return colours::kTca;
  return colours::kPerceiver;
}

std::string method_label(const std::string& m) {
  if (m == "ca") return "Transformer + CA";
  if (m == "tca") return "ReTreever (TCA)";
  if (m == "perceiver") return "Perceiver IO";
  return m;
}

// One image panel: `values` [H * W * C] in [-0.5, 0.5] (grey or RGB); pixels not in `shown`
// (when given) in the hidden colour.
void image_panel(Figure& f, double x, double y, double cell, const ImagePicture& p,
                 const std::vector<float>& values, const std::vector<bool>* shown,
                 const std::string& title, bool std_map = false) {
  for (int64_t r = 0; r < p.height; ++r) {
    for (int64_t c = 0; c < p.width; ++c) {
      const int64_t px = r * p.width + c;
      Rgb col = colours::kHidden;
      if (!shown || (*shown)[static_cast<size_t>(px)]) {
        if (std_map) {
          const double v = clamp01(values[static_cast<size_t>(px * p.channels)]);
          col = Rgb{1 - v * 0.2, 1 - v * 0.8, 1 - v};  // white -> dark orange
        } else if (p.channels >= 3) {
          const size_t i = static_cast<size_t>(px * p.channels);
          col = Rgb{clamp01(values[i] + 0.5), clamp01(values[i + 1] + 0.5),
                    clamp01(values[i + 2] + 0.5)};
        } else {
          const double g = clamp01(values[static_cast<size_t>(px)] + 0.5);
          col = Rgb{g, g, g};
        }
      }
      f.fill_rect(x + static_cast<double>(c) * cell, y + static_cast<double>(r) * cell, cell + 0.05,
                  cell + 0.05, col);
    }
  }
  f.stroke_rect(x, y, static_cast<double>(p.width) * cell, static_cast<double>(p.height) * cell,
                colours::kText, 0.6);
  f.text(x, y - 5, title, 9);
}

void mark_pixel(Figure& f, double x, double y, double cell, int64_t width, int64_t pixel, Rgb fill,
                Rgb stroke = Rgb{0, 0, 0, 0}) {
  const double px = x + static_cast<double>(pixel % width) * cell,
               py = y + static_cast<double>(pixel / width) * cell;
  f.fill_rect(px, py, cell, cell, fill);
  if (stroke.a > 0) f.stroke_rect(px, py, cell, cell, stroke, 0.8);
}

}  // namespace

Figure image_figure(const ImagePicture& p) {
  const double cell = std::max(2.0, 112.0 / static_cast<double>(std::max(p.height, p.width)));
  const double pw = cell * static_cast<double>(p.width), ph = cell * static_cast<double>(p.height),
               gap = 22;
  const size_t rows = 1 + p.queries.size();
  Figure f(4 * (pw + gap) + gap, static_cast<double>(rows) * (ph + gap + 12) + gap + 40);
  draw_image_picture(f, p);
  return f;
}

void draw_image_picture(Figure& f, const ImagePicture& p) {
  const double cell = std::max(2.0, 112.0 / static_cast<double>(std::max(p.height, p.width)));
  const double pw = cell * static_cast<double>(p.width), ph = cell * static_cast<double>(p.height),
               gap = 22;
  f.text(gap, 20, p.title, 12, colours::kText, Align::left, true);
  std::vector<bool> context(static_cast<size_t>(p.height * p.width), false);
  for (int64_t px : p.context_pixel) context[static_cast<size_t>(px)] = true;
  double y = 50;
  image_panel(f, gap, y, cell, p, p.truth, &context,
              fmt::format("context ({} pixels)", p.context_pixel.size()));
  std::vector<bool> known = context;
  for (int64_t px : p.target_pixel) known[static_cast<size_t>(px)] = true;
  image_panel(f, gap + (pw + gap), y, cell, p, p.truth, p.target_pixel.empty() ? nullptr : &known,
              p.target_pixel.empty() ? "image"
                                     : fmt::format("context + {} targets", p.target_pixel.size()));
  if (!p.mean.empty())
    image_panel(f, gap + 2 * (pw + gap), y, cell, p, p.mean, nullptr, "TCA mean");
  if (!p.std.empty()) {
    // Shaded relative to the largest std of the picture (the scale is in the title).
    const float top = std::max(1e-6f, *std::max_element(p.std.begin(), p.std.end()));
    std::vector<float> scaled(p.std.size());
    for (size_t i = 0; i < p.std.size(); ++i) scaled[i] = p.std[i] / top;
    image_panel(f, gap + 3 * (pw + gap), y, cell, p, scaled, nullptr,
                fmt::format("TCA std (max {:.3f})", top), true);
  }
  for (const auto& q : p.queries) {
    y += ph + gap + 12;
    // TCA: the context faintly, the siblings' regions (orange), the leaf's tokens (red), the query.
    const double x0 = gap;
    image_panel(f, x0, y, cell, p, p.truth, &context, "TCA retrieved set");
    f.fill_rect(x0, y, pw, ph, Rgb{1, 1, 1, 0.45});
    for (size_t s = 0; s < q.tca.siblings.size(); ++s) {
      const double a = 0.25 + 0.5 * static_cast<double>(s + 1) /
                                  static_cast<double>(q.tca.siblings.size());  // deeper = stronger
      for (int64_t t : q.tca.siblings[s])
        mark_pixel(f, x0, y, cell, p.width, p.context_pixel[static_cast<size_t>(t)],
                   with_alpha(colours::kSibling, a));
    }
    for (int64_t t : q.tca.leaf)
      mark_pixel(f, x0, y, cell, p.width, p.context_pixel[static_cast<size_t>(t)], colours::kLeaf,
                 colours::kText);
    mark_pixel(f, x0, y, cell, p.width, q.pixel, colours::kQuery, colours::kText);
    // CA: every context pixel shaded by its attention weight.
    if (!q.ca_weights.empty()) {
      const double x1 = gap + (pw + gap);
      image_panel(f, x1, y, cell, p, p.truth, &context, "CA attention");
      f.fill_rect(x1, y, pw, ph, Rgb{1, 1, 1, 0.6});
      const double wmax = *std::max_element(q.ca_weights.begin(), q.ca_weights.end());
      for (size_t t = 0; t < q.ca_weights.size(); ++t) {
        const double a =
            wmax > 0 ? std::sqrt(q.ca_weights[t] / wmax) : 0;  // sqrt: small weights stay visible
        mark_pixel(f, x1, y, cell, p.width, p.context_pixel[t], with_alpha(colours::kCa, a));
      }
      mark_pixel(f, x1, y, cell, p.width, q.pixel, colours::kQuery, colours::kText);
    }
    f.text(gap + 2 * (pw + gap), y + 14,
           fmt::format("query pixel ({}, {})", q.pixel / p.width, q.pixel % p.width), 10);
    f.fill_rect(gap + 2 * (pw + gap), y + 26, 10, 10, colours::kLeaf);
    f.text(gap + 2 * (pw + gap) + 14, y + 35,
           fmt::format("TCA: the leaf's {} token{}", q.tca.leaf.size(),
                       q.tca.leaf.size() == 1 ? "" : "s"),
           9);
    f.fill_rect(gap + 2 * (pw + gap), y + 42, 10, 10, colours::kSibling);
    f.text(gap + 2 * (pw + gap) + 14, y + 51,
           fmt::format("TCA: {} unpicked siblings' regions", q.tca.siblings.size()), 9);
    f.fill_rect(gap + 2 * (pw + gap), y + 58, 10, 10, colours::kCa);
    f.text(gap + 2 * (pw + gap) + 14, y + 67, "CA: weight of each context pixel (sqrt scale)", 9);
    f.fill_rect(gap + 2 * (pw + gap), y + 74, 10, 10, colours::kQuery);
    f.text(gap + 2 * (pw + gap) + 14, y + 83, "the query", 9);
  }
}

Figure gp_figure(const GpPicture& p) {
  Figure f(640, 400);
  double xmin = -2, xmax = 2, ymin = 1e300, ymax = -1e300;
  auto extend = [&](double v) {
    if (std::isfinite(v)) {
      ymin = std::min(ymin, v);
      ymax = std::max(ymax, v);
    }
  };
  for (double v : p.context_y) extend(v);
  for (double v : p.target_y) extend(v);
  for (const auto& c : p.curves) {
    for (size_t i = 0; i < c.mean.size(); ++i) {
      extend(c.mean[i] - 2 * c.std[i]);
      extend(c.mean[i] + 2 * c.std[i]);
    }
    if (!c.x.empty()) {
      xmin = std::min(xmin, c.x.front());
      xmax = std::max(xmax, c.x.back());
    }
  }
  if (ymin > ymax) ymin = -1, ymax = 1;
  const double pad = 0.08 * (ymax - ymin + 1e-9);
  Axes ax(f, 60, 40, 440, 300, xmin, xmax, ymin - pad, ymax + pad);
  ax.frame(p.title, "x", "y");
  int row = 0;
  for (const auto& c : p.curves) {
    std::vector<double> lo(c.mean.size()), hi(c.mean.size());
    for (size_t i = 0; i < c.mean.size(); ++i) {
      lo[i] = c.mean[i] - 2 * c.std[i];
      hi[i] = c.mean[i] + 2 * c.std[i];
    }
    ax.band(c.x, lo, hi, with_alpha(method_colour(c.method), 0.12));
    ax.polyline(c.x, c.mean, method_colour(c.method), 1.6);
    ax.legend(row++, method_label(c.method) + " mean +/- 2 std", method_colour(c.method));
  }
  f.line(ax.px(p.query_x), ax.y, ax.px(p.query_x), ax.y + ax.h, colours::kQuery, 1.2, true);
  for (size_t i = 0; i < p.target_x.size(); ++i)
    ax.point(p.target_x[i], p.target_y[i], 2.2, Rgb{1, 1, 1}, Rgb{0.5, 0.5, 0.5});
  for (size_t s = 0; s < p.tca.siblings.size(); ++s) {
    for (int64_t t : p.tca.siblings[s])
      ax.point(p.context_x[static_cast<size_t>(t)], p.context_y[static_cast<size_t>(t)], 5.5,
               with_alpha(colours::kSibling, 0.55));
  }
  for (int64_t t : p.tca.leaf)
    ax.point(p.context_x[static_cast<size_t>(t)], p.context_y[static_cast<size_t>(t)], 6,
             colours::kLeaf);
  for (size_t i = 0; i < p.context_x.size(); ++i)
    ax.point(p.context_x[i], p.context_y[i], 2.5, colours::kText);
  // Key for the points, right of the axes.
  const double kx = 512;
  f.circle(kx, 60, 2.5, colours::kText);
  f.text(kx + 8, 64, "context point", 9);
  f.circle(kx, 78, 2.2, Rgb{1, 1, 1}, Rgb{0.5, 0.5, 0.5});
  f.text(kx + 8, 82, "target point", 9);
  f.circle(kx, 96, 6, colours::kLeaf);
  f.text(kx + 8, 100, "TCA: leaf tokens", 9);
  f.circle(kx, 114, 5.5, with_alpha(colours::kSibling, 0.55));
  f.text(kx + 8, 118, "TCA: sibling regions", 9);
  f.line(kx - 6, 132, kx + 4, 132, colours::kQuery, 1.2, true);
  f.text(kx + 8, 136, fmt::format("query x = {:.2f}", p.query_x), 9);
  return f;
}

Figure copy_figure(const CopyPicture& p) {
  const double n = static_cast<double>(p.tokens.size()), m = static_cast<double>(p.queries.size());
  const double cell = std::max(1.5, std::min(12.0, 560.0 / std::max(n, m)));
  const double x0 = 70, y0 = 66;
  Figure f(std::max(x0 + n * cell + 40, 480.0), y0 + m * cell + 70);
  f.text(16, 20, p.title, 12, colours::kText, Align::left, true);
  f.text(16, 34, "columns: context positions (their symbols on top); rows: queries;", 9);
  f.text(16, 46, "red: the picked leaf's tokens; orange: the unpicked siblings' regions", 9);
  f.fill_rect(x0, y0, n * cell, m * cell, Rgb{0.97, 0.97, 0.97});
  for (size_t q = 0; q < p.queries.size(); ++q) {
    const double y = y0 + static_cast<double>(q) * cell;
    const auto& marks = p.queries[q];
    for (size_t s = 0; s < marks.siblings.size(); ++s) {
      const double a =
          0.2 + 0.6 * static_cast<double>(s + 1) / static_cast<double>(marks.siblings.size());
      for (int64_t t : marks.siblings[s])
        f.fill_rect(x0 + static_cast<double>(t) * cell, y, cell, cell,
                    with_alpha(colours::kSibling, a));
    }
    for (int64_t t : marks.leaf)
      f.fill_rect(x0 + static_cast<double>(t) * cell, y, cell, cell, colours::kLeaf);
  }
  f.stroke_rect(x0, y0, n * cell, m * cell, colours::kText, 0.6);
  if (cell >= 8) {
    for (size_t t = 0; t < p.tokens.size(); ++t) {
      f.text(x0 + (static_cast<double>(t) + 0.5) * cell, y0 - 4, std::to_string(p.tokens[t]), 7,
             colours::kText, Align::centre);
    }
  }
  for (double t : nice_ticks(0, n - 1, 8))
    f.text(x0 + (t + 0.5) * cell, y0 + m * cell + 12, fmt::format("{:g}", t), 8, colours::kText,
           Align::centre);
  for (double q : nice_ticks(0, m - 1, 8))
    f.text(x0 - 4, y0 + (q + 0.5) * cell + 3, fmt::format("{:g}", q), 8, colours::kText,
           Align::right);
  f.text(x0 + n * cell / 2, y0 + m * cell + 28, "context position", 10, colours::kText,
         Align::centre);
  f.text(8, y0 + m * cell / 2, "query", 10);
  return f;
}

Figure tree_figure(const TreePicture& p) {
  const double box = 46, gap = 10, row_h = 58, x0 = 130;
  const double width = x0 + static_cast<double>(p.branch_factor) * (box + gap) + 40;
  Figure f(std::max(width, 560.0), 76 + static_cast<double>(p.depth + 1) * row_h + 20);
  f.text(16, 22, p.title, 12, colours::kText, Align::left, true);
  f.text(16, 38,
         fmt::format("N = {} tokens, b = {}, depth k = {}, leaf size P = {}.", p.tokens,
                     p.branch_factor, p.depth, p.leaf_size),
         9);
  f.text(16, 50,
         "At each level the query picks one child (red; policy pi below each); the others join its "
         "retrieved set.",
         9);
  int64_t node = 0;
  for (int64_t l = 1; l <= p.depth; ++l) {
    const double y = 66 + static_cast<double>(l - 1) * row_h;
    f.text(
        16, y + box / 2 + 3,
        fmt::format("level {} ({} nodes)", l, static_cast<int64_t>(std::pow(p.branch_factor, l))),
        9);
    const int64_t pick =
        l - 1 < static_cast<int64_t>(p.path.size()) ? p.path[static_cast<size_t>(l - 1)] : -1;
    for (int64_t c = 0; c < p.branch_factor; ++c) {
      const double x = x0 + static_cast<double>(c) * (box + gap);
      const bool picked = c == pick;
      f.fill_rect(x, y, box, box * 0.6,
                  picked ? colours::kTca : with_alpha(colours::kSibling, 0.5));
      f.stroke_rect(x, y, box, box * 0.6, colours::kText, 0.6);
      f.text(x + box / 2, y + box * 0.38, fmt::format("#{}", node * p.branch_factor + c), 8,
             picked ? Rgb{1, 1, 1} : colours::kText, Align::centre);
      if (l - 1 < static_cast<int64_t>(p.policy.size()) &&
          c < static_cast<int64_t>(p.policy[static_cast<size_t>(l - 1)].size())) {
        f.text(x + box / 2, y + box * 0.6 + 12,
               fmt::format("{:.2f}", p.policy[static_cast<size_t>(l - 1)][static_cast<size_t>(c)]),
               9, colours::kText, Align::centre, picked);
      }
    }
    if (pick >= 0) node = node * p.branch_factor + pick;
  }
  const double y = 66 + static_cast<double>(p.depth) * row_h;
  f.text(16, y + 12,
         fmt::format("leaf #{}: its {} tokens join the retrieved set", node, p.leaf_size), 9);
  return f;
}

}  // namespace tca::viz
