// The samplers of tca.md section 6: sizes, ranges and structure of every task, and for GP the
// empirical covariance of many draws against the kernel.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.hpp"
#include "data/copy_task.hpp"
#include "data/gp_task.hpp"
#include "data/image_sources.hpp"
#include "data/image_task.hpp"
#include "data/task_sampler.hpp"
#include "data/timeseries_task.hpp"

using namespace tca;
using namespace tca::data;

TEST_CASE("copy task: SOS then symbols in 2..11, targets reversed then EOS, zero queries") {
  CopyTaskSampler sampler(16, 10);
  Rng rng(1);
  const Batch b = sampler.sample(64, rng);
  CHECK(b.xc.shape() == Shape{64, 8, 12});
  CHECK(b.xt.shape() == Shape{64, 8, 12});
  CHECK(b.labels.shape() == Shape{64, 8});
  CHECK_FALSE(b.yc.defined());
  CHECK_FALSE(b.yt.defined());
  std::set<int> symbols_seen;
  for (int64_t i = 0; i < 64; ++i) {
    std::vector<int> tokens;
    for (int64_t t = 0; t < 8; ++t) {
      const float* row = b.xc.data() + (i * 8 + t) * 12;
      int hot = -1, ones = 0;
      for (int c = 0; c < 12; ++c) {
        CHECK((row[c] == 0.f || row[c] == 1.f));
        if (row[c] == 1.f) hot = c, ++ones;
      }
      CHECK(ones == 1);
      tokens.push_back(hot);
    }
    CHECK(tokens[0] == kCopySos);
    for (int t = 1; t < 8; ++t) {
      CHECK(tokens[t] >= 2);
      CHECK(tokens[t] <= 11);
      symbols_seen.insert(tokens[t]);
    }
    const int32_t* labels = b.labels.data_i32() + i * 8;
    for (int t = 0; t < 7; ++t) CHECK(labels[t] == tokens[7 - t]);
    CHECK(labels[7] == kCopyEos);
  }
  CHECK(symbols_seen.size() == 10);  // every symbol occurs in 448 uniform draws
  for (float v : b.xt.to_vector()) CHECK(v == 0.f);
  const TaskInfo info = sampler.info();
  CHECK(info.num_classes == 12);
  CHECK(info.is_sequential);
  CHECK_FALSE(info.is_metalearning);
}

TEST_CASE("gp sampler: Nc in 3..46 and Nt in 3..49-Nc per batch, x in [-2, 2], each set sorted") {
  GpTaskSampler sampler(GpKernel::rbf, 50);
  Rng rng(2);
  int64_t min_nc = 100, max_nc = 0, max_total = 0;
  for (int draw = 0; draw < 400; ++draw) {
    const Batch b = sampler.sample(2, rng);
    const int64_t nc = b.num_context(), nt = b.num_targets();
    CHECK(nc >= 3);
    CHECK(nt >= 3);
    CHECK(nc + nt <= 49);
    min_nc = std::min(min_nc, nc);
    max_nc = std::max(max_nc, nc);
    max_total = std::max(max_total, nc + nt);
    CHECK(b.yc.shape() == Shape{2, nc, 1});
    CHECK(b.yt.shape() == Shape{2, nt, 1});
    for (int64_t i = 0; i < 2; ++i) {
      const float* xc = b.xc.data() + i * nc;
      const float* xt = b.xt.data() + i * nt;
      CHECK(std::is_sorted(xc, xc + nc));
      CHECK(std::is_sorted(xt, xt + nt));
      for (int64_t k = 0; k < nc; ++k) CHECK(std::fabs(xc[k]) <= 2.f);
      for (int64_t k = 0; k < nt; ++k) CHECK(std::fabs(xt[k]) <= 2.f);
    }
    for (float v : b.yc.to_vector()) CHECK(std::isfinite(v));
  }
  CHECK(min_nc <= 5);  // the ends of U{3..46} are reached
  CHECK(max_nc >= 44);
  CHECK(max_total >= 47);
}

TEST_CASE("gp hyperparameters are drawn from the spec's ranges") {
  Rng rng(3);
  double lo_l = 1, hi_l = 0, lo_p = 1, hi_p = 0;
  for (int i = 0; i < 2000; ++i) {
    const GpHyper h = draw_gp_hyper(GpKernel::periodic, rng);
    CHECK(h.length_scale >= 0.1);
    CHECK(h.length_scale < 0.6);
    CHECK(h.output_scale >= 0.1);
    CHECK(h.output_scale < 1.0);
    lo_l = std::min(lo_l, h.length_scale), hi_l = std::max(hi_l, h.length_scale);
    lo_p = std::min(lo_p, h.period), hi_p = std::max(hi_p, h.period);
  }
  CHECK(lo_l < 0.11);
  CHECK(hi_l > 0.59);
  CHECK(lo_p >= 0.1);
  CHECK(lo_p < 0.11);
  CHECK(hi_p < 0.5);
  CHECK(hi_p > 0.49);
  CHECK(draw_gp_hyper(GpKernel::rbf, rng).period == 0);
}

TEST_CASE("cholesky factor reproduces the matrix and rejects a non-positive-definite one") {
  const std::vector<double> x = {-1.5, -0.2, 0.0, 0.9, 1.7};
  const GpHyper h{0.4, 0.8, 0.3};
  for (GpKernel k : {GpKernel::rbf, GpKernel::matern52, GpKernel::periodic}) {
    const auto a = gp_covariance(k, h, x);
    auto l = a;
    cholesky_in_place(l, 5);
    for (int i = 0; i < 5; ++i)
      for (int j = 0; j < 5; ++j) {
        double s = 0;
        for (int m = 0; m < 5; ++m) s += l[i * 5 + m] * l[j * 5 + m];
        CHECK(s == doctest::Approx(a[i * 5 + j]).epsilon(1e-12));
        if (j > i) CHECK(l[i * 5 + j] == 0.0);
      }
  }
  std::vector<double> bad = {1, 2, 2, 1};
  CHECK_THROWS_AS(cholesky_in_place(bad, 2), RuntimeFailure);
}

TEST_CASE("gp kernels have the spec's closed forms") {
  const GpHyper h{0.5, 0.7, 0.4};
  const double s2 = 0.49, d = 0.3;
  CHECK(gp_kernel_value(GpKernel::rbf, h, 0.1, 0.4) ==
        doctest::Approx(s2 * std::exp(-d * d / (2 * 0.25))));
  const double r = d / 0.5;
  CHECK(gp_kernel_value(GpKernel::matern52, h, 0.4, 0.1) ==
        doctest::Approx(s2 * (1 + std::sqrt(5.0) * r + 5 * r * r / 3) *
                        std::exp(-std::sqrt(5.0) * r)));
  const double sn = std::sin(M_PI * d / 0.4);
  CHECK(gp_kernel_value(GpKernel::periodic, h, 0.1, 0.4) ==
        doctest::Approx(s2 * std::exp(-2 * sn * sn / 0.25)));
  CHECK(gp_kernel_value(GpKernel::periodic, h, 0.0, 0.4) ==
        doctest::Approx(s2));  // one full period
}

TEST_CASE("gp draws have the kernel's covariance plus noise (empirical, 20000 draws)") {
  const std::vector<double> x = {-1.8, -0.6, -0.5, 0.1, 0.7, 1.9};
  const GpHyper h{0.45, 0.9, 0.35};
  const int draws = 20000;
  for (GpKernel k : {GpKernel::rbf, GpKernel::matern52, GpKernel::periodic}) {
    CAPTURE(gp_kernel_name(k));
    const auto expected = gp_covariance(k, h, x);
    Rng rng(4);
    std::vector<double> sum(6, 0), cross(36, 0);
    for (int n = 0; n < draws; ++n) {
      const auto y = sample_gp(k, h, x, rng);
      for (int i = 0; i < 6; ++i) {
        sum[i] += y[i];
        for (int j = 0; j < 6; ++j) cross[i * 6 + j] += y[i] * y[j];
      }
    }
    for (int i = 0; i < 6; ++i) {
      CHECK(std::fabs(sum[i] / draws) < 0.03);  // mean 0; std of the mean ~0.9/141
      for (int j = 0; j < 6; ++j) {
        // Sample covariance error std = sqrt((K_ii K_jj + K_ij^2) / n) <= 0.81 * sqrt(2/20000) =
        // 0.008
        CHECK(std::fabs(cross[i * 6 + j] / draws - expected[i * 6 + j]) < 0.04);
      }
    }
  }
}

TEST_CASE(
    "gp sampler's task with fixed Nc and hyperparameters: x sorted per set, y matches the kernel") {
  GpTaskSampler sampler(GpKernel::rbf, 50);
  Rng rng(5);
  std::vector<double> x, y;
  const GpHyper h{0.3, 0.5, 0};
  double sum_sq = 0;
  const int draws = 3000;
  for (int n = 0; n < draws; ++n) {
    sampler.sample_task(10, 7, h, rng, x, y);
    REQUIRE(x.size() == 17);
    CHECK(std::is_sorted(x.begin(), x.begin() + 10));
    CHECK(std::is_sorted(x.begin() + 10, x.end()));
    for (double v : y) sum_sq += v * v;
  }
  // Marginal variance s^2 + noise^2 at every point.
  CHECK(sum_sq / (17.0 * draws) == doctest::Approx(0.25 + 0.0004).epsilon(0.05));
}

TEST_CASE("image tasks: distinct pixels, x on the [-1, 1] grid, y = intensity/255 - 0.5") {
  TaskParams p;
  p.task = "image";
  p.classes = "5-9";
  const TaskParams resolved = resolve_params(p);
  auto images = std::make_shared<const ImageSet>(load_image_source(resolved, Split::eval));
  CHECK(images->size() == 5000);  // the t10k images of classes 5-9
  CHECK(images->height == 28);
  for (int32_t l : images->labels) CHECK((l >= 5 && l <= 9));
  ImageTaskSampler sampler(images, 200, image_task_info("fashion-mnist", 1));
  CHECK(sampler.info().std_form == StdForm::bounded);
  CHECK(sampler.info().ordering == ContextOrdering::sort_x2);
  Rng rng(6);
  int64_t max_nc = 0, min_nc = 1000;
  for (int draw = 0; draw < 200; ++draw) {
    const std::vector<int64_t> indices = {draw % 5000, (draw * 7) % 5000};
    const Batch b = sampler.tasks_for_images(indices, rng);
    const int64_t nc = b.num_context(), nt = b.num_targets();
    CHECK(nc >= 3);
    CHECK(nt >= 3);
    CHECK(nc + nt <= 199);
    min_nc = std::min(min_nc, nc), max_nc = std::max(max_nc, nc);
    for (int64_t i = 0; i < 2; ++i) {
      std::set<std::pair<int, int>> pixels;
      const uint8_t* image = images->image(indices[static_cast<size_t>(i)]);
      auto check_point = [&](const float* x, float y) {
        const double r = (x[0] + 1) * 27 / 2, c = (x[1] + 1) * 27 / 2;
        CHECK(std::fabs(r - std::round(r)) < 1e-4);
        CHECK(std::fabs(c - std::round(c)) < 1e-4);
        const int ri = static_cast<int>(std::lround(r)), ci = static_cast<int>(std::lround(c));
        pixels.insert({ri, ci});
        CHECK(y == static_cast<float>(image[ri * 28 + ci]) / 255.f - 0.5f);
      };
      for (int64_t k = 0; k < nc; ++k)
        check_point(b.xc.data() + (i * nc + k) * 2, b.yc[i * nc + k]);
      for (int64_t k = 0; k < nt; ++k)
        check_point(b.xt.data() + (i * nt + k) * 2, b.yt[i * nt + k]);
      CHECK(static_cast<int64_t>(pixels.size()) == nc + nt);  // distinct
    }
  }
  CHECK(min_nc <= 10);
  CHECK(max_nc >= 185);
}

TEST_CASE(
    "timeseries synthetic tasks: t in [-1, 1], segments of 5..20 points, class offsets visible") {
  TimeseriesTaskSampler sampler(7, 50, 12, 0);
  Rng rng(7);
  const Batch b = sampler.sample(200, rng);
  CHECK(b.xc.shape() == Shape{200, 50, 13});
  CHECK(b.labels.shape() == Shape{200, 50});
  CHECK(b.xt.to_vector() == b.xc.to_vector());
  CHECK(b.xc[0] == -1.f);
  CHECK(b.xc[49 * 13] == 1.f);
  // Per class and channel, the mean feature is the signature's offset (the sinusoid averages out
  // over random phases); noise std 0.5.
  std::vector<double> sum(7 * 12, 0);
  std::vector<int64_t> count(7, 0);
  for (int64_t i = 0; i < 200; ++i) {
    const int32_t* labels = b.labels.data_i32() + i * 50;
    int64_t run = 1;
    for (int64_t t = 0; t < 50; ++t) {
      CHECK((labels[t] >= 0 && labels[t] < 7));
      ++count[static_cast<size_t>(labels[t])];
      for (int ch = 0; ch < 12; ++ch)
        sum[static_cast<size_t>(labels[t] * 12 + ch)] += b.xc[(i * 50 + t) * 13 + 1 + ch];
      if (t > 0) run = labels[t] == labels[t - 1] ? run + 1 : 1;
    }
  }
  for (int c = 0; c < 7; ++c) {
    REQUIRE(count[static_cast<size_t>(c)] > 500);
    for (int ch = 0; ch < 12; ++ch) {
      const double mean = sum[static_cast<size_t>(c * 12 + ch)] /
                          static_cast<double>(count[static_cast<size_t>(c)]);
      CHECK(std::fabs(mean - sampler.signatures()[static_cast<size_t>(c)]
                                 .offset[static_cast<size_t>(ch)]) < 0.15);
    }
  }
  // Signatures depend only on their seed.
  TimeseriesTaskSampler again(7, 50, 12, 0), other(7, 50, 12, 1);
  CHECK(again.signatures()[3].frequency == sampler.signatures()[3].frequency);
  CHECK(other.signatures()[3].frequency != sampler.signatures()[3].frequency);
  for (double f : sampler.signatures()[2].frequency) CHECK((f >= 0.5 && f < 4.0));
}

TEST_CASE("task sampler factory builds every task and reports its TaskInfo") {
  TaskParams p;
  p.task = "copy";
  p.seq_len = 32;
  CHECK(make_task_sampler(p)->info().dim_x == 12);
  p.task = "gp";
  p.kernel = "matern52";
  const auto gp = make_task_sampler(p);
  CHECK(gp->info().std_form == StdForm::exp);
  CHECK(gp->info().is_metalearning);
  p.task = "timeseries";
  p.channels = 3;
  p.classes = "4";
  const TaskInfo ts = make_task_sampler(p)->info();
  CHECK(ts.dim_x == 4);
  CHECK(ts.num_classes == 4);
  CHECK_FALSE(ts.is_metalearning);
  CHECK(ts.ordering == ContextOrdering::sort_x1);
  p.task = "nope";
  CHECK_THROWS_AS(make_task_sampler(p), UsageError);
}
