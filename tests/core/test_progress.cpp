// Progress reporting (conventions.md "Progress and logs"), driven by a fake clock and read back
// from a temp file.
#include <doctest/doctest.h>

#include <cstdio>
#include <functional>
#include <string>

#include "core/error.hpp"
#include "core/progress.hpp"

namespace {

std::string read_all(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  return s;
}

int count(const std::string& s, char c) {
  int n = 0;
  for (char x : s) n += x == c;
  return n;
}

struct FakeClock {
  double t = 100.0;
  std::function<double()> fn() {
    return [this] { return t; };
  }
};

}  // namespace

TEST_CASE("progress modes parse from the --progress values and reject others") {
  CHECK(tca::parse_progress_mode("auto") == tca::ProgressMode::automatic);
  CHECK(tca::parse_progress_mode("bar") == tca::ProgressMode::bar);
  CHECK(tca::parse_progress_mode("lines") == tca::ProgressMode::lines);
  CHECK(tca::parse_progress_mode("none") == tca::ProgressMode::none);
  CHECK_THROWS_AS(tca::parse_progress_mode("fancy"), tca::UsageError);
  CHECK(std::string(tca::progress_mode_name(tca::ProgressMode::lines)) == "lines");
}

TEST_CASE("auto mode writes plain lines when the output is not a terminal") {
  std::FILE* f = std::tmpfile();
  tca::ProgressOptions o;
  o.out = f;
  tca::Progress p(o);
  CHECK(p.mode() == tca::ProgressMode::lines);
  p.finish();
  std::fclose(f);
}

TEST_CASE("lines mode writes a line every N steps with loss, rate and ETA, and a final line") {
  std::FILE* f = std::tmpfile();
  FakeClock clock;
  {
    tca::ProgressOptions o;
    o.mode = tca::ProgressMode::lines;
    o.label = "train";
    o.total = 1000;
    o.line_every = 100;
    o.line_every_s = 0;
    o.out = f;
    o.clock = clock.fn();
    tca::Progress p(o);
    for (int step = 1; step <= 250; ++step) {
      clock.t += 0.1;  // 10 steps/s
      p.update(step, {{"loss", 0.5}});
    }
  }  // the destructor writes the final line for step 250
  const std::string out = read_all(f);
  std::fclose(f);
  CHECK(count(out, '\n') == 3);
  CHECK(out.find("train: step 100/1000 (10.0%) | loss 0.5 | 10.0 step/s | ETA 1m30s\n") !=
        std::string::npos);
  CHECK(out.find("train: step 200/1000 (20.0%)") != std::string::npos);
  CHECK(out.find("train: step 250/1000 (25.0%)") != std::string::npos);
  CHECK(out.find('\r') == std::string::npos);
}

TEST_CASE("lines mode also writes a line after T seconds, between step marks") {
  std::FILE* f = std::tmpfile();
  FakeClock clock;
  tca::ProgressOptions o;
  o.mode = tca::ProgressMode::lines;
  o.label = "make-dataset";
  o.unit = "task";
  o.line_every = 0;
  o.line_every_s = 5.0;
  o.out = f;
  o.clock = clock.fn();
  tca::Progress p(o);
  for (int i = 1; i <= 12; ++i) {
    clock.t += 1.0;
    p.update(i);
  }
  std::string out = read_all(f);
  CHECK(count(out, '\n') == 2);  // at 5 s and 10 s
  CHECK(out.find("make-dataset: task 5 | 1.00 task/s") != std::string::npos);
  p.finish();
  p.finish();  // idempotent
  out = read_all(f);
  CHECK(count(out, '\n') == 3);
  std::fclose(f);
}

TEST_CASE("bar mode redraws in place at most once per refresh interval and ends the line") {
  std::FILE* f = std::tmpfile();
  FakeClock clock;
  tca::ProgressOptions o;
  o.mode = tca::ProgressMode::bar;
  o.label = "train";
  o.total = 100;
  o.bar_refresh_s = 0.1;
  o.out = f;
  o.clock = clock.fn();
  tca::Progress p(o);
  for (int step = 1; step <= 100; ++step) {
    clock.t += 0.01;  // 100 updates over 1 s: at most ~10 redraws
    p.update(step, {{"loss", 1.25}});
  }
  p.message("eval: accuracy 0.9");
  p.finish();
  const std::string out = read_all(f);
  std::fclose(f);
  const int redraws = count(out, '\r');
  CHECK(redraws >= 10);
  CHECK(redraws <= 14);  // ~10 redraws + the message's clear and redraw + the final draw
  CHECK(out.find("[####") != std::string::npos);
  CHECK(out.find("100/100 100.0%") != std::string::npos);
  CHECK(out.find("loss 1.25") != std::string::npos);
  CHECK(out.find("\r\x1b[Keval: accuracy 0.9\n") != std::string::npos);
  CHECK(out.back() == '\n');
}

TEST_CASE("none mode writes nothing but messages") {
  std::FILE* f = std::tmpfile();
  tca::ProgressOptions o;
  o.mode = tca::ProgressMode::none;
  o.total = 10;
  o.out = f;
  {
    tca::Progress p(o);
    for (int i = 0; i <= 10; ++i) p.update(i, {{"loss", 1.0}});
    p.message("note");
  }
  CHECK(read_all(f) == "note\n");
  std::fclose(f);
}

TEST_CASE("a resumed run's rate counts only the steps done since it started") {
  std::FILE* f = std::tmpfile();
  FakeClock clock;
  tca::ProgressOptions o;
  o.mode = tca::ProgressMode::lines;
  o.total = 2000;
  o.start = 1000;
  o.line_every = 100;
  o.line_every_s = 0;
  o.out = f;
  o.clock = clock.fn();
  {
    tca::Progress p(o);
    clock.t += 20.0;
    p.update(1100);
    CHECK(p.rate() == doctest::Approx(5.0));
    CHECK(read_all(f).find("step 1100/2000 (55.0%) | 5.00 step/s | ETA 3m00s") !=
          std::string::npos);
  }
  std::fclose(f);
}

TEST_CASE("durations read as seconds, minutes or hours") {
  CHECK(tca::format_duration(42.4) == "42s");
  CHECK(tca::format_duration(692) == "11m32s");
  CHECK(tca::format_duration(3 * 3600 + 5 * 60 + 10) == "3h05m");
  CHECK(tca::format_duration(-1) == "?");
}
