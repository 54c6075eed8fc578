#include "core/progress.hpp"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/error.hpp"

namespace tca {

namespace {

constexpr double kRateWindowS = 10.0;

bool is_terminal(std::FILE* f) {
  if (!f || !isatty(fileno(f))) return false;
  const char* term = std::getenv("TERM");
  return !(term && std::strcmp(term, "dumb") == 0);
}

int terminal_width(std::FILE* f) {
  struct winsize ws {};
  if (f && ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  if (const char* cols = std::getenv("COLUMNS")) {
    int c = std::atoi(cols);
    if (c > 0) return c;
  }
  return 80;
}

std::string format_rate(double r) {
  if (r >= 100) return fmt::format("{:.0f}", r);
  if (r >= 10) return fmt::format("{:.1f}", r);
  return fmt::format("{:.2f}", r);
}

}  // namespace

ProgressMode parse_progress_mode(const std::string& text) {
  if (text == "auto") return ProgressMode::automatic;
  if (text == "bar") return ProgressMode::bar;
  if (text == "lines") return ProgressMode::lines;
  if (text == "none") return ProgressMode::none;
  throw UsageError("invalid progress mode '" + text + "': expected auto, bar, lines or none");
}

const char* progress_mode_name(ProgressMode mode) {
  switch (mode) {
    case ProgressMode::automatic:
      return "auto";
    case ProgressMode::bar:
      return "bar";
    case ProgressMode::lines:
      return "lines";
    case ProgressMode::none:
      return "none";
  }
  return "auto";
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  auto s = static_cast<int64_t>(std::llround(seconds));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

Progress::Progress(ProgressOptions options) : opt_(std::move(options)) {
  mode_ = opt_.mode;
  if (mode_ == ProgressMode::automatic)
    mode_ = is_terminal(opt_.out) ? ProgressMode::bar : ProgressMode::lines;
  t0_ = now();
  last_line_t_ = t0_;
  last_line_done_ = opt_.start;
  done_ = opt_.start;
  samples_.emplace_back(t0_, done_);
}

Progress::~Progress() {
  try {
    finish();
  } catch (...) {
    // Progress output is best effort; never throw from a destructor.
  }
}

double Progress::now() const {
  if (opt_.clock) return opt_.clock();
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

double Progress::rate() const {
  if (samples_.empty()) return 0.0;
  const auto& [t_old, done_old] = samples_.front();
  const auto& [t_new, done_new] = samples_.back();
  if (t_new - t_old <= 0.0) return 0.0;
  return static_cast<double>(done_new - done_old) / (t_new - t_old);
}

void Progress::sample() {
  const double t = now();
  samples_.emplace_back(t, done_);
  // Keep the window at ~10 s but always two samples, so the rate follows the current speed
  // rather than the warm-up (first primitive creation costs milliseconds, platform.md).
  while (samples_.size() > 2 && t - samples_[1].first >= kRateWindowS) samples_.pop_front();
}

void Progress::update(int64_t done, const std::vector<ProgressField>& fields) {
  if (finished_) return;
  done_ = done;
  if (!fields.empty()) fields_ = fields;
  dirty_ = true;
  if (mode_ == ProgressMode::none) return;
  const double t = now();
  if (mode_ == ProgressMode::bar) {
    if (t - last_draw_ >= opt_.bar_refresh_s) draw_bar();
    return;
  }
  const bool by_count = opt_.line_every > 0 && done_ - last_line_done_ >= opt_.line_every;
  const bool by_time = opt_.line_every_s > 0 && t - last_line_t_ >= opt_.line_every_s;
  if (by_count || by_time) write_line();
}

std::string Progress::status_text(bool with_bar, int width) const {
  const double elapsed = now() - t0_;
  const double r = rate();
  std::string count =
      opt_.total > 0 ? fmt::format("{}/{}", done_, opt_.total) : fmt::format("{}", done_);
  std::string tail;
  for (const auto& f : fields_) tail += fmt::format(" | {} {:.4g}", f.name, f.value);
  tail += fmt::format(" | {} {}/s", format_rate(r), opt_.unit);
  if (opt_.total > 0) {
    const double eta = r > 0 ? static_cast<double>(opt_.total - done_) / r : -1.0;
    tail += done_ >= opt_.total ? fmt::format(" | {}", format_duration(elapsed))
                                : fmt::format(" | ETA {}", format_duration(eta));
  } else {
    tail += fmt::format(" | {}", format_duration(elapsed));
  }
  const double pct =
      opt_.total > 0 ? 100.0 * static_cast<double>(done_) / static_cast<double>(opt_.total) : 0.0;
  if (!with_bar) {
    std::string line = fmt::format("{}: {} {}", opt_.label, opt_.unit, count);
    if (opt_.total > 0) line += fmt::format(" ({:.1f}%)", pct);
    return line + tail;
  }
  std::string head = opt_.label + " ";
  std::string mid = " " + count + (opt_.total > 0 ? fmt::format(" {:5.1f}%", pct) : "");
  std::string text;
  if (opt_.total > 0) {
    const int fixed = static_cast<int>(head.size() + mid.size() + tail.size()) + 2;
    const int bar_w = std::clamp(width - 1 - fixed, 0, 40);
    if (bar_w >= 10) {
      const int filled = static_cast<int>(bar_w * std::min(1.0, pct / 100.0));
      text = head + "[" + std::string(filled, '#') + std::string(bar_w - filled, '.') + "]" + mid +
             tail;
    }
  }
  if (text.empty()) text = head + mid.substr(1) + tail;
  // A wrapped line cannot be redrawn with \r: cut it to the terminal.
  if (width > 1 && static_cast<int>(text.size()) > width - 1) text.resize(width - 1);
  return text;
}

void Progress::draw_bar() {
  sample();
  last_draw_ = now();
  dirty_ = false;
  std::string text = status_text(true, terminal_width(opt_.out));
  std::fprintf(opt_.out, "\r%s\x1b[K", text.c_str());
  std::fflush(opt_.out);
}

void Progress::write_line() {
  sample();
  last_line_t_ = now();
  last_line_done_ = done_;
  dirty_ = false;
  std::string text = status_text(false, 0);
  std::fprintf(opt_.out, "%s\n", text.c_str());
  std::fflush(opt_.out);
}

void Progress::message(const std::string& line) {
  if (mode_ == ProgressMode::bar && !finished_) {
    std::fprintf(opt_.out, "\r\x1b[K%s\n", line.c_str());
    draw_bar();
    return;
  }
  std::fprintf(opt_.out, "%s\n", line.c_str());
  std::fflush(opt_.out);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (mode_ == ProgressMode::bar) {
    draw_bar();
    std::fputc('\n', opt_.out);
    std::fflush(opt_.out);
  } else if (mode_ == ProgressMode::lines && (dirty_ || done_ != last_line_done_)) {
    write_line();
  }
}

}  // namespace tca
