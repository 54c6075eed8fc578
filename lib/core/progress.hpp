// Progress on stderr for long work (conventions.md "Progress and logs"): on a TTY a live bar with
// count/total, the caller's fields (loss, ...), rate and ETA, redrawn at most ~10 times a second;
// elsewhere (batch jobs, CI) one plain line every N units or T seconds. Used by training
// (label "train", unit "step") and by other long jobs (dataset generation, tree building).
#pragma once
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <string>
#include <vector>

namespace tca {

enum class ProgressMode { automatic, bar, lines, none };

// "auto|bar|lines|none" (the --progress flag); anything else is a UsageError.
ProgressMode parse_progress_mode(const std::string& text);
const char* progress_mode_name(ProgressMode mode);

struct ProgressField {
  std::string name;  // "loss"
  double value;
};

struct ProgressOptions {
  ProgressMode mode = ProgressMode::automatic;
  std::string label = "progress";  // "train", "make-dataset", "build-tree"
  std::string unit = "step";       // shown in the rate: "step/s", "task/s"
  int64_t total = 0;               // 0 = unknown: no percentage and no ETA
  int64_t start = 0;               // count at the start (a resumed run starts at its step)
  int64_t line_every = 0;          // lines mode: a line every this many units (0 = never by count)
  double line_every_s = 10.0;      // lines mode: a line after this many seconds (0 = never by time)
  double bar_refresh_s = 0.1;      // bar mode: minimum time between redraws
  std::FILE* out = stderr;
  std::function<double()> clock;  // monotonic seconds; std::chrono::steady_clock when empty
};

class Progress {
 public:
  explicit Progress(ProgressOptions options);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // `done` units are complete (absolute count, not an increment). Cheap when nothing is drawn,
  // so it may be called every step.
  void update(int64_t done, const std::vector<ProgressField>& fields = {});
  // A line of its own (an evaluation result, a warning) that does not corrupt the bar.
  void message(const std::string& line);
  // Draws the final state once (bar: completes the line; lines: one last line). Idempotent;
  // the destructor calls it.
  void finish();

  ProgressMode mode() const { return mode_; }  // Bar, Lines or None once resolved
  double rate() const;                         // units per second over the last ~10 s

 private:
  double now() const;
  void draw_bar();
  void write_line();
  std::string status_text(bool with_bar, int width) const;
  void sample();

  ProgressOptions opt_;
  ProgressMode mode_;
  double t0_;
  double last_draw_ = -1e300;
  double last_line_t_;
  int64_t last_line_done_;
  int64_t done_;
  std::vector<ProgressField> fields_;
  std::deque<std::pair<double, int64_t>> samples_;  // (time, done) for the windowed rate
  bool dirty_ = false;                              // updated since the last draw/line
  bool finished_ = false;
};

// "45s", "11m32s", "3h05m": for ETAs and elapsed times.
std::string format_duration(double seconds);

}  // namespace tca
