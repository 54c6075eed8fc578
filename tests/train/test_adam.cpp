// Adam against hand computations and a double-precision reimplementation of torch.optim.Adam.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "io/test_files.hpp"
#include "train/adam.hpp"
#include "train/lr_schedule.hpp"

using namespace tca;

namespace {

void set_grad(Var& v, const std::vector<float>& g) {
  v.grad_buffer().copy_from(Tensor::from(g, v.shape()));
}

// Textbook Adam (Kingma & Ba, Algorithm 1, with torch's L2 weight decay) in double precision.
struct ReferenceAdam {
  double beta1, beta2, eps, weight_decay;
  std::vector<double> p, m, v;
  int64_t t = 0;
  void step(const std::vector<float>& grad, double lr) {
    ++t;
    for (size_t i = 0; i < p.size(); ++i) {
      const double g = static_cast<double>(grad[i]) + weight_decay * p[i];
      m[i] = beta1 * m[i] + (1 - beta1) * g;
      v[i] = beta2 * v[i] + (1 - beta2) * g * g;
      const double m_hat = m[i] / (1 - std::pow(beta1, static_cast<double>(t)));
      const double v_hat = v[i] / (1 - std::pow(beta2, static_cast<double>(t)));
      p[i] -= lr * m_hat / (std::sqrt(v_hat) + eps);
    }
  }
};

std::vector<float> random_values(Rng& rng, int64_t n, double scale) {
  std::vector<float> out(static_cast<size_t>(n));
  for (auto& x : out) x = static_cast<float>(rng.normal() * scale);
  return out;
}

// Runs `steps` steps of our Adam and of the reference on the same random float gradients (lr from
// a cosine schedule). Two measures: the largest |difference| of the parameters after all steps
// (float32 rounding accumulates over the steps), and the largest difference of a single step
// taken by the reference from our float state, in units of what float32 can resolve.
struct Deviation {
  double after_all_steps = 0;
  double single_step_units = 0;
};

Deviation deviation_from_reference(const AdamOptions& options, int steps, uint64_t seed) {
  Rng rng(seed);
  const int64_t n = 64;
  const std::vector<float> init = random_values(rng, n, 1.0);
  Var p = parameter(Tensor::from(init, {8, 8}));
  Adam adam({{"p", p}}, options);
  ReferenceAdam ref{options.beta1,
                    options.beta2,
                    options.eps,
                    options.weight_decay,
                    std::vector<double>(init.begin(), init.end()),
                    std::vector<double>(n, 0.0),
                    std::vector<double>(n, 0.0)};
  const CosineSchedule schedule(1e-2, steps);
  Deviation d;
  for (int s = 0; s < steps; ++s) {
    // Gradients of mixed scale, some tiny (eps matters there), some large.
    const double scale = s % 3 == 0 ? 1e-5 : (s % 3 == 1 ? 0.3 : 20.0);
    const std::vector<float> g = random_values(rng, n, scale);
    const AdamParamState& st = adam.state("p");
    ReferenceAdam one_step{
        options.beta1, options.beta2, options.eps, options.weight_decay, {}, {}, {}, st.step};
    for (int64_t i = 0; i < n; ++i) {
      one_step.p.push_back(p.value()[i]);
      one_step.m.push_back(st.exp_avg[i]);
      one_step.v.push_back(st.exp_avg_sq[i]);
    }
    const std::vector<double> one_step_start = one_step.p;
    set_grad(p, g);
    adam.step(schedule.lr(s));
    ref.step(g, schedule.lr(s));
    one_step.step(g, schedule.lr(s));
    adam.zero_grad();
    for (int64_t i = 0; i < n; ++i) {
      // float32 can do no better than the spacing of p plus a relative 2^-23 of the update.
      const auto before = static_cast<float>(one_step_start[static_cast<size_t>(i)]);
      const double spacing = std::nextafter(std::fabs(before), INFINITY) - std::fabs(before);
      const double update = std::fabs(one_step.p[i] - before);
      const double unit = spacing + update * 0x1p-23;
      d.single_step_units =
          std::max(d.single_step_units, std::fabs(p.value()[i] - one_step.p[i]) / unit);
    }
  }
  for (int64_t i = 0; i < n; ++i)
    d.after_all_steps = std::max(d.after_all_steps, std::fabs(p.value()[i] - ref.p[i]));
  return d;
}

// 200 steps: one step is within 4 units of exact (its ~8 float roundings); float32 rounding of p
// (spacing up to 2.4e-7 for |p| < 4) accumulates like a random walk, ~sqrt(200) spacings.
void check_close_to_reference(const AdamOptions& options, uint64_t seed) {
  const Deviation d = deviation_from_reference(options, 200, seed);
  CHECK(d.single_step_units <= 4.0);
  CHECK(d.after_all_steps < 5e-6);
}

}  // namespace

TEST_CASE("one Adam step equals a hand computation") {
  Var a = parameter(Tensor::from({0.5f, -0.25f}, {2}));
  Var b = parameter(Tensor::from({0.75f}, {1, 1}));
  Var c = parameter(Tensor::scalar(-0.125f));
  Adam adam({{"a", a}, {"b", b}, {"c", c}});  // betas (0.9, 0.999), eps 1e-8
  set_grad(a, {0.1f, -0.2f});
  set_grad(b, {4.0f});
  set_grad(c, {1e-4f});  // |g| near eps: the update is visibly less than lr
  adam.step(0.01);
  // Step 1: m = 0.1 g, v = 0.001 g^2, m / (1 - 0.9) = g, sqrt(v / (1 - 0.999)) = |g|,
  // so p -= lr * g / (|g| + eps).
  CHECK(std::fabs(a.value()[0] - (0.5 - 0.01 * 0.1 / (0.1 + 1e-8))) < 1e-7);
  CHECK(std::fabs(a.value()[1] - (-0.25 + 0.01 * 0.2 / (0.2 + 1e-8))) < 1e-7);
  CHECK(std::fabs(b.value()[0] - (0.75 - 0.01 * 4.0 / (4.0 + 1e-8))) < 1e-7);
  CHECK(std::fabs(c.value()[0] - (-0.125 - 0.01 * 1e-4 / (1e-4 + 1e-8))) < 1e-7);
  CHECK(adam.state("a").step == 1);
  CHECK(std::fabs(adam.state("b").exp_avg[0] - 0.4) < 1e-7);
  CHECK(std::fabs(adam.state("b").exp_avg_sq[0] - 0.016) < 1e-7);

  // Step 2 on `a` only (b and c get no gradient), lr 0.005, g2 = [-0.3, 0.05]:
  // m2 = 0.9 * 0.1 g1 + 0.1 g2, v2 = 0.999 * 0.001 g1^2 + 0.001 g2^2,
  // p -= lr / (1 - 0.9^2) * m2 / (sqrt(v2) / sqrt(1 - 0.999^2) + eps).
  adam.zero_grad();
  set_grad(a, {-0.3f, 0.05f});
  const double a1[2] = {a.value()[0], a.value()[1]};
  const float b1 = b.value()[0];
  adam.step(0.005);
  const double g1[2] = {0.1, -0.2}, g2[2] = {-0.3, 0.05};
  for (int i = 0; i < 2; ++i) {
    const double m2 = 0.9 * 0.1 * g1[i] + 0.1 * g2[i];
    const double v2 = 0.999 * 0.001 * g1[i] * g1[i] + 0.001 * g2[i] * g2[i];
    const double expected =
        a1[i] - 0.005 / (1 - 0.81) * m2 / (std::sqrt(v2) / std::sqrt(1 - 0.998001) + 1e-8);
    CHECK(std::fabs(a.value()[i] - expected) < 1e-7);
  }
  CHECK(b.value()[0] == b1);  // no gradient: untouched
  CHECK(adam.state("a").step == 2);
  CHECK(adam.state("b").step == 1);
}

TEST_CASE("Adam matches a double-precision reimplementation over many steps") {
  AdamOptions gp;  // tca.md 6: GP and image runs use betas (0.9, 0.999)
  check_close_to_reference(gp, 1);
  AdamOptions copy_task;  // the copy task's betas (0.1, 0.999) take torch's other lerp form
  copy_task.beta1 = 0.1;
  check_close_to_reference(copy_task, 2);
  AdamOptions other;
  other.beta1 = 0.5;
  other.beta2 = 0.9;
  other.eps = 1e-3;
  check_close_to_reference(other, 3);
}

TEST_CASE("Adam weight decay adds weight_decay times the parameter to the gradient") {
  AdamOptions decayed;
  decayed.weight_decay = 0.1;
  check_close_to_reference(decayed, 4);

  // L2, not decoupled: decay with gradient g is exactly no decay with gradient g + wd * p.
  Rng rng(5);
  const std::vector<float> init = random_values(rng, 6, 1.0);
  Var with_decay = parameter(Tensor::from(init, {6}));
  Var explicit_l2 = parameter(Tensor::from(init, {6}));
  Adam a({{"w", with_decay}}, decayed);
  Adam b({{"w", explicit_l2}});
  for (int s = 0; s < 5; ++s) {
    const std::vector<float> g = random_values(rng, 6, 0.5);
    std::vector<float> g_plus(6);
    for (int i = 0; i < 6; ++i) g_plus[i] = g[i] + 0.1f * explicit_l2.value()[i];
    set_grad(with_decay, g);
    set_grad(explicit_l2, g_plus);
    a.step(1e-2);
    b.step(1e-2);
  }
  for (int i = 0; i < 6; ++i) CHECK(with_decay.value()[i] == explicit_l2.value()[i]);

  // With a zero gradient, decay alone shrinks every weight.
  Var w = parameter(Tensor::from({2.0f, -3.0f}, {2}));
  Adam only_decay({{"w", w}}, decayed);
  set_grad(w, {0.0f, 0.0f});
  only_decay.step(0.1);
  CHECK(w.value()[0] < 2.0f);
  CHECK(w.value()[1] > -3.0f);
}

TEST_CASE("Adam skips parameters without a gradient and corrects bias by their own step count") {
  Var a = parameter(Tensor::from({1.0f}, {1}));
  Var b = parameter(Tensor::from({1.0f}, {1}));
  Adam adam({{"a", a}, {"b", b}});
  for (int s = 0; s < 3; ++s) {
    set_grad(a, {0.5f});
    adam.step(0.01);
    adam.zero_grad();
  }
  CHECK(b.value()[0] == 1.0f);
  CHECK(adam.state("b").step == 0);
  CHECK(adam.state("a").step == 3);
  // b's first step, taken at the optimiser's 4th: bias-corrected as a first step, p -= lr
  // g/(|g|+eps).
  set_grad(b, {-2.0f});
  adam.step(0.01);
  CHECK(std::fabs(b.value()[0] - (1.0 + 0.01 * 2.0 / (2.0 + 1e-8))) < 1e-7);
  CHECK(adam.state("b").step == 1);
}

TEST_CASE("Adam zero_grad clears every gradient") {
  Var a = parameter(Tensor::from({1.0f, 2.0f}, {2}));
  Var b = parameter(Tensor::from({3.0f}, {1}));
  Adam adam({{"a", a}, {"b", b}});
  set_grad(a, {1.0f, 1.0f});
  set_grad(b, {1.0f});
  adam.zero_grad();
  CHECK_FALSE(a.grad().defined());
  CHECK_FALSE(b.grad().defined());
  adam.step(0.1);  // nothing to update
  CHECK(a.value()[0] == 1.0f);
  CHECK(adam.state("a").step == 0);
}

TEST_CASE("Adam state is exposed by parameter name") {
  Var a = parameter(Tensor::zeros({2, 3}));
  Adam adam({{"layer.weight", a}});
  CHECK(adam.state("layer.weight").exp_avg.shape() == Shape{2, 3});
  CHECK(adam.state("layer.weight").exp_avg_sq.shape() == Shape{2, 3});
  CHECK(adam.states().size() == 1);
  CHECK_ERROR(adam.state("layer.bias"), RuntimeFailure, "layer.bias");
}

TEST_CASE("Adam rejects invalid hyperparameters and duplicate parameters") {
  Var a = parameter(Tensor::zeros({1}));
  AdamOptions o;
  o.beta1 = 1.0;
  CHECK_ERROR(Adam({{"a", a}}, o), UsageError, "beta1");
  o = {};
  o.beta2 = -0.1;
  CHECK_ERROR(Adam({{"a", a}}, o), UsageError, "beta2");
  o = {};
  o.eps = -1e-8;
  CHECK_ERROR(Adam({{"a", a}}, o), UsageError, "eps");
  o = {};
  o.weight_decay = -1;
  CHECK_ERROR(Adam({{"a", a}}, o), UsageError, "weight decay");
  Adam ok({{"a", a}});
  CHECK_ERROR(ok.step(std::nan("")), UsageError, "learning rate");
  CHECK_ERROR(ok.step(-1e-3), UsageError, "learning rate");
  Var b = parameter(Tensor::zeros({1}));
  CHECK_ERROR(Adam({{"a", a}, {"a", b}}), RuntimeFailure, "'a' appears twice");
  CHECK_ERROR(Adam({{"a", a}, {"alias", a}}), RuntimeFailure, "'alias'");
}

TEST_CASE(
    "Adam's parallel update gives the same bits at 1, 2 and 3 threads, large parameters split in "
    "chunks") {
  // 40000 + 30000 + 7 floats: over the parallel threshold, the first two split into chunks.
  const std::vector<Shape> shapes = {{200, 200}, {30000}, {7}};
  auto run = [&](int threads) {
    omp_set_num_threads(threads);
    Rng rng(3);
    nn::NamedParameters params;
    for (size_t i = 0; i < shapes.size(); ++i) {
      Tensor t = Tensor::empty(shapes[i]);
      for (int64_t e = 0; e < t.numel(); ++e) t[e] = static_cast<float>(rng.normal());
      params.push_back({"p" + std::to_string(i), parameter(t)});
    }
    AdamOptions o;
    o.weight_decay = 0.01;
    Adam adam(params, o);
    for (int step = 0; step < 3; ++step) {
      for (auto& [name, v] : params) {
        std::vector<float> g(static_cast<size_t>(v.numel()));
        for (auto& x : g) x = static_cast<float>(rng.normal());
        set_grad(v, g);
      }
      adam.step(1e-2);
    }
    std::vector<float> out;
    for (auto& [name, v] : params)
      for (int64_t e = 0; e < v.numel(); ++e) out.push_back(v.value()[e]);
    return out;
  };
  const int threads = omp_get_max_threads();
  const std::vector<float> one = run(1), two = run(2), three = run(3);
  omp_set_num_threads(threads);
  CHECK(one == two);
  CHECK(one == three);
  // And the update happened: the parameters moved from their initial values.
  Rng rng(3);
  CHECK(one[0] != static_cast<float>(rng.normal()));
}

TEST_CASE(
    "Adam updates a parameter split into chunks exactly like the same values held as small "
    "parameters") {
  // One [40000] parameter (three chunks of the parallel update) against forty [1000] ones (one
  // chunk each) with the same values and gradients: the chunking must not change a single bit.
  Rng rng(4);
  std::vector<float> init(40000);
  for (auto& x : init) x = static_cast<float>(rng.normal());
  nn::NamedParameters big = {{"big", parameter(Tensor::from(init, {40000}))}}, small;
  for (int i = 0; i < 40; ++i)
    small.push_back(
        {"s" + std::to_string(i),
         parameter(Tensor::from(
             std::vector<float>(init.begin() + 1000 * i, init.begin() + 1000 * (i + 1)), {1000}))});
  Adam a(big, AdamOptions{}), b(small, AdamOptions{});
  for (int step = 0; step < 3; ++step) {
    std::vector<float> g(40000);
    for (auto& x : g) x = static_cast<float>(rng.normal());
    set_grad(big[0].second, g);
    for (int i = 0; i < 40; ++i)
      set_grad(small[static_cast<size_t>(i)].second,
               std::vector<float>(g.begin() + 1000 * i, g.begin() + 1000 * (i + 1)));
    a.step(1e-2);
    b.step(1e-2);
  }
  bool same = true;
  for (int i = 0; i < 40; ++i)
    for (int e = 0; e < 1000; ++e)
      same = same &&
             big[0].second.value()[1000 * i + e] == small[static_cast<size_t>(i)].second.value()[e];
  CHECK(same);
  CHECK(big[0].second.value()[0] != init[0]);
}
