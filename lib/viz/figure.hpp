// Pictures of what a model looked at (issue 22), drawn with Cairo (Debian libcairo2-dev): every
// drawing goes to a recording surface and is replayed into PNG or SVG, so both formats come from
// one code path. Coordinates are points with the origin at the top left.
#pragma once
#include <string>
#include <vector>

typedef struct _cairo cairo_t;
typedef struct _cairo_surface cairo_surface_t;

namespace tca::viz {

struct Rgb {
  double r = 0, g = 0, b = 0, a = 1;
};

// The colours every picture uses for the same things.
namespace colours {
inline constexpr Rgb kText{0.13, 0.13, 0.13};
inline constexpr Rgb kGrid{0.87, 0.87, 0.87};
inline constexpr Rgb kHidden{0.80, 0.86, 0.93};     // pixels / points a model is not given
inline constexpr Rgb kCa{0.12, 0.47, 0.71};         // Transformer + CA
inline constexpr Rgb kTca{0.84, 0.15, 0.16};        // ReTreever (TCA)
inline constexpr Rgb kPerceiver{0.17, 0.63, 0.17};  // Perceiver IO
inline constexpr Rgb kLeaf{0.84, 0.15, 0.16};       // TCA: the picked leaf's tokens
inline constexpr Rgb kSibling{1.00, 0.50, 0.05};    // TCA: the unpicked siblings' regions
inline constexpr Rgb kQuery{0.58, 0.40, 0.74};      // the query
}  // namespace colours

enum class Align { left, centre, right };

class Figure {
 public:
  Figure(double width, double height);
  ~Figure();
  Figure(const Figure&) = delete;
  Figure& operator=(const Figure&) = delete;
  Figure(Figure&& other) noexcept;
  Figure& operator=(Figure&&) = delete;

  double width() const { return width_; }
  double height() const { return height_; }
  cairo_t* cairo() { return cr_; }

  void fill_rect(double x, double y, double w, double h, Rgb fill);
  void stroke_rect(double x, double y, double w, double h, Rgb stroke, double line_width = 1);
  void line(double x0, double y0, double x1, double y1, Rgb stroke, double line_width = 1,
            bool dashed = false);
  void polyline(const std::vector<double>& xs, const std::vector<double>& ys, Rgb stroke,
                double line_width = 1.5);
  // The area between two curves over the same xs (a mean +/- 2 std band).
  void band(const std::vector<double>& xs, const std::vector<double>& lower,
            const std::vector<double>& upper, Rgb fill);
  void circle(double x, double y, double radius, Rgb fill, Rgb stroke = Rgb{0, 0, 0, 0},
              double line_width = 1);
  // Text with its baseline at y; size in points.
  void text(double x, double y, const std::string& s, double size = 11, Rgb colour = colours::kText,
            Align align = Align::left, bool bold = false);

  // Writes the picture as PNG (scale x, for a sharper bitmap) or SVG, chosen by the extension,
  // through a temp file and rename. UsageError for another extension, RuntimeFailure when Cairo
  // cannot write the file.
  void save(const std::string& path, double png_scale = 2.0) const;

 private:
  double width_, height_;
  cairo_surface_t* recording_ = nullptr;
  cairo_t* cr_ = nullptr;
};

// A plotting area of a Figure: data coordinates mapped into a box, with a frame, ticks and labels.
class Axes {
 public:
  Axes(Figure& fig, double x, double y, double w, double h, double xmin, double xmax, double ymin,
       double ymax);
  double px(double x) const;  // data -> figure
  double py(double y) const;
  // Frame, about five ticks per axis with their values, title and axis labels.
  void frame(const std::string& title, const std::string& xlabel, const std::string& ylabel);
  // Curves in data coordinates, clipped to the box.
  void polyline(const std::vector<double>& xs, const std::vector<double>& ys, Rgb stroke,
                double line_width = 1.5);
  void band(const std::vector<double>& xs, const std::vector<double>& lower,
            const std::vector<double>& upper, Rgb fill);
  void point(double x, double y, double radius, Rgb fill, Rgb stroke = Rgb{0, 0, 0, 0});
  // A legend entry (a short line and its label) at row `row` inside the top-left corner.
  void legend(int row, const std::string& label, Rgb colour);

  Figure& fig;
  double x, y, w, h, xmin, xmax, ymin, ymax;

 private:
  void clip();
  void unclip();
};

// "Nice" tick values covering [lo, hi], about `count` of them.
std::vector<double> nice_ticks(double lo, double hi, int count = 5);

}  // namespace tca::viz
