#include "viz/figure.hpp"

#include <cairo-svg.h>
#include <cairo.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/atomic_file.hpp"
#include "core/error.hpp"

namespace tca::viz {

namespace {

void set_colour(cairo_t* cr, Rgb c) { cairo_set_source_rgba(cr, c.r, c.g, c.b, c.a); }

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void check_surface(cairo_surface_t* s, const std::string& path) {
  const cairo_status_t st = cairo_surface_status(s);
  if (st != CAIRO_STATUS_SUCCESS)
    throw RuntimeFailure("cannot write " + path + ": " + cairo_status_to_string(st));
}

}  // namespace

Figure::Figure(double width, double height) : width_(width), height_(height) {
  cairo_rectangle_t extents{0, 0, width, height};
  recording_ = cairo_recording_surface_create(CAIRO_CONTENT_COLOR_ALPHA, &extents);
  cr_ = cairo_create(recording_);
  cairo_set_source_rgb(cr_, 1, 1, 1);
  cairo_paint(cr_);
  cairo_set_line_join(cr_, CAIRO_LINE_JOIN_ROUND);
}

Figure::Figure(Figure&& other) noexcept
    : width_(other.width_), height_(other.height_), recording_(other.recording_), cr_(other.cr_) {
  other.recording_ = nullptr;
  other.cr_ = nullptr;
}

Figure::~Figure() {
  if (cr_) cairo_destroy(cr_);
  if (recording_) cairo_surface_destroy(recording_);
}

void Figure::fill_rect(double x, double y, double w, double h, Rgb fill) {
  set_colour(cr_, fill);
  cairo_rectangle(cr_, x, y, w, h);
  cairo_fill(cr_);
}

void Figure::stroke_rect(double x, double y, double w, double h, Rgb stroke, double line_width) {
  set_colour(cr_, stroke);
  cairo_set_line_width(cr_, line_width);
  cairo_rectangle(cr_, x, y, w, h);
  cairo_stroke(cr_);
}

void Figure::line(double x0, double y0, double x1, double y1, Rgb stroke, double line_width,
                  bool dashed) {
  set_colour(cr_, stroke);
  cairo_set_line_width(cr_, line_width);
  const double dash[] = {4.0, 3.0};
  cairo_set_dash(cr_, dash, dashed ? 2 : 0, 0);
  cairo_move_to(cr_, x0, y0);
  cairo_line_to(cr_, x1, y1);
  cairo_stroke(cr_);
  cairo_set_dash(cr_, nullptr, 0, 0);
}

void Figure::polyline(const std::vector<double>& xs, const std::vector<double>& ys, Rgb stroke,
                      double line_width) {
  if (xs.empty()) return;
  set_colour(cr_, stroke);
  cairo_set_line_width(cr_, line_width);
  cairo_move_to(cr_, xs[0], ys[0]);
  for (size_t i = 1; i < xs.size(); ++i) cairo_line_to(cr_, xs[i], ys[i]);
  cairo_stroke(cr_);
}

void Figure::band(const std::vector<double>& xs, const std::vector<double>& lower,
                  const std::vector<double>& upper, Rgb fill) {
  if (xs.empty()) return;
  set_colour(cr_, fill);
  cairo_move_to(cr_, xs[0], upper[0]);
  for (size_t i = 1; i < xs.size(); ++i) cairo_line_to(cr_, xs[i], upper[i]);
  for (size_t i = xs.size(); i-- > 0;) cairo_line_to(cr_, xs[i], lower[i]);
  cairo_close_path(cr_);
  cairo_fill(cr_);
}

void Figure::circle(double x, double y, double radius, Rgb fill, Rgb stroke, double line_width) {
  cairo_new_sub_path(cr_);
  cairo_arc(cr_, x, y, radius, 0, 2 * M_PI);
  set_colour(cr_, fill);
  cairo_fill_preserve(cr_);
  set_colour(cr_, stroke);
  cairo_set_line_width(cr_, line_width);
  cairo_stroke(cr_);
}

void Figure::text(double x, double y, const std::string& s, double size, Rgb colour, Align align,
                  bool bold) {
  cairo_select_font_face(cr_, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr_, size);
  cairo_text_extents_t ext;
  cairo_text_extents(cr_, s.c_str(), &ext);
  const double dx = align == Align::left     ? 0
                    : align == Align::centre ? -ext.x_advance / 2
                                             : -ext.x_advance;
  set_colour(cr_, colour);
  cairo_move_to(cr_, x + dx, y);
  cairo_show_text(cr_, s.c_str());
}

void Figure::save(const std::string& path, double png_scale) const {
  const bool png = ends_with(path, ".png"), svg = ends_with(path, ".svg");
  if (!png && !svg)
    throw UsageError("cannot write " + path + ": expected a .png or .svg file name");
  write_atomically(path, [&](const std::string& tmp) {
    cairo_surface_t* out = nullptr;
    if (png) {
      out = cairo_image_surface_create(CAIRO_FORMAT_ARGB32,
                                       static_cast<int>(std::ceil(width_ * png_scale)),
                                       static_cast<int>(std::ceil(height_ * png_scale)));
    } else {
      out = cairo_svg_surface_create(tmp.c_str(), width_, height_);
    }
    check_surface(out, path);
    cairo_t* cr = cairo_create(out);
    if (png) cairo_scale(cr, png_scale, png_scale);
    cairo_set_source_surface(cr, recording_, 0, 0);
    cairo_paint(cr);
    cairo_destroy(cr);
    cairo_surface_flush(out);
    if (png) {
      const cairo_status_t st = cairo_surface_write_to_png(out, tmp.c_str());
      cairo_surface_destroy(out);
      if (st != CAIRO_STATUS_SUCCESS)
        throw RuntimeFailure("cannot write " + path + ": " + cairo_status_to_string(st));
    } else {
      cairo_surface_finish(out);
      const cairo_status_t st = cairo_surface_status(out);
      cairo_surface_destroy(out);
      if (st != CAIRO_STATUS_SUCCESS)
        throw RuntimeFailure("cannot write " + path + ": " + cairo_status_to_string(st));
    }
  });
}

std::vector<double> nice_ticks(double lo, double hi, int count) {
  std::vector<double> ticks;
  if (!(hi > lo) || count < 1) return ticks;
  const double raw = (hi - lo) / count, mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  const double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step)
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  return ticks;
}

Axes::Axes(Figure& f, double x_, double y_, double w_, double h_, double xmin_, double xmax_,
           double ymin_, double ymax_)
    : fig(f), x(x_), y(y_), w(w_), h(h_), xmin(xmin_), xmax(xmax_), ymin(ymin_), ymax(ymax_) {
  if (!(xmax > xmin)) xmax = xmin + 1;
  if (!(ymax > ymin)) ymax = ymin + 1;
}

double Axes::px(double v) const { return x + (v - xmin) / (xmax - xmin) * w; }
double Axes::py(double v) const { return y + h - (v - ymin) / (ymax - ymin) * h; }

void Axes::frame(const std::string& title, const std::string& xlabel, const std::string& ylabel) {
  for (double t : nice_ticks(xmin, xmax)) {
    fig.line(px(t), y, px(t), y + h, colours::kGrid, 0.6);
    fig.text(px(t), y + h + 13, fmt::format("{:g}", t), 9, colours::kText, Align::centre);
  }
  for (double t : nice_ticks(ymin, ymax)) {
    fig.line(x, py(t), x + w, py(t), colours::kGrid, 0.6);
    fig.text(x - 4, py(t) + 3, fmt::format("{:g}", t), 9, colours::kText, Align::right);
  }
  fig.stroke_rect(x, y, w, h, colours::kText, 0.8);
  if (!title.empty()) fig.text(x + w / 2, y - 8, title, 11, colours::kText, Align::centre, true);
  if (!xlabel.empty()) fig.text(x + w / 2, y + h + 28, xlabel, 10, colours::kText, Align::centre);
  if (!ylabel.empty()) {
    cairo_t* cr = fig.cairo();
    cairo_save(cr);
    cairo_translate(cr, x - 34, y + h / 2);
    cairo_rotate(cr, -M_PI / 2);
    fig.text(0, 0, ylabel, 10, colours::kText, Align::centre);
    cairo_restore(cr);
  }
}

void Axes::clip() {
  cairo_save(fig.cairo());
  cairo_rectangle(fig.cairo(), x, y, w, h);
  cairo_clip(fig.cairo());
}

void Axes::unclip() { cairo_restore(fig.cairo()); }

void Axes::polyline(const std::vector<double>& xs, const std::vector<double>& ys, Rgb stroke,
                    double line_width) {
  std::vector<double> fx(xs.size()), fy(ys.size());
  for (size_t i = 0; i < xs.size(); ++i) {
    fx[i] = px(xs[i]);
    fy[i] = py(ys[i]);
  }
  clip();
  fig.polyline(fx, fy, stroke, line_width);
  unclip();
}

void Axes::band(const std::vector<double>& xs, const std::vector<double>& lower,
                const std::vector<double>& upper, Rgb fill) {
  std::vector<double> fx(xs.size()), lo(xs.size()), hi(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) {
    fx[i] = px(xs[i]);
    lo[i] = py(lower[i]);
    hi[i] = py(upper[i]);
  }
  clip();
  fig.band(fx, lo, hi, fill);
  unclip();
}

void Axes::point(double vx, double vy, double radius, Rgb fill, Rgb stroke) {
  clip();
  fig.circle(px(vx), py(vy), radius, fill, stroke);
  unclip();
}

void Axes::legend(int row, const std::string& label, Rgb colour) {
  const double ly = y + 14 + row * 14;
  fig.line(x + 8, ly - 4, x + 26, ly - 4, colour, 2);
  fig.text(x + 30, ly, label, 9);
}

}  // namespace tca::viz
