// Training-step benchmark (issue 12 (a)): one step = the model's training forward and loss,
// backward (split between BenchOptions::data_parallel replicas, train/data_parallel.hpp),
// global-norm clipping at 1.0 and an Adam step with the cosine schedule's lr, exactly the body of
// Trainer::run (train/trainer.cpp) without logging. Batches come from the real task
// samplers (GP: sample_sized with 25 context and 20 target points; copy: T = 128 / 256, and 512 /
// 1024 when asked for), drawn before timing from a small pool that the steps cycle through, so
// data generation is not timed.
#include <fmt/format.h>

#include <algorithm>
#include <memory>

#include "autograd/flop_counter.hpp"
#include "autograd/variable.hpp"
#include "bench/bench.hpp"
#include "bench/bench_reference.hpp"
#include "bench/bench_setup.hpp"
#include "bench/memory_usage.hpp"
#include "core/rng.hpp"
#include "data/copy_task.hpp"
#include "data/gp_task.hpp"
#include "models/model.hpp"
#include "train/adam.hpp"
#include "train/data_parallel.hpp"
#include "train/grad_clip.hpp"
#include "train/lr_schedule.hpp"

namespace tca::bench {

TimingOptions figure_timing(const BenchOptions& o, double call_s) {
  TimingOptions t;
  t.budget_s = o.budget_s > 0 ? o.budget_s : (o.quick ? 1.5 : 6.0);
  t.warmup = o.quick || call_s > 1.0 ? 1 : 2;
  t.min_samples = o.quick ? 3 : 5;
  t.max_samples = o.quick ? 5 : 15;
  // A quick run is a smoke test (make test runs one beside other tests): it does not wait for the
  // machine's slow phases to pass.
  if (o.quick) t.slow_phase_factor = 0;
  // Slow calls (seconds: TCA build and CA at N = 2^20 before optimisation): three samples, the
  // fewest whose median still ignores one disturbed sample.
  if (call_s * t.min_samples > t.budget_s) t.min_samples = 3;
  if (o.repeats > 0) t.min_samples = t.max_samples = o.repeats;
  return t;
}

TimingResult measure_figure(const BenchOptions& o, const std::function<void()>& fn) {
  const double t0 = now_s();
  fn();
  const double first_s = now_s() - t0;
  TimingOptions t = figure_timing(o, first_s);
  t.warmup = std::max(0, t.warmup - 1);
  t.call_s_hint = first_s;
  return time_calls(fn, t);
}

namespace {

std::vector<Batch> batch_pool(const TrainCase& c, int64_t count, Rng& rng) {
  std::vector<Batch> pool;
  if (c.task == "gp") {
    data::GpTaskSampler sampler(data::GpKernel::rbf, 50);
    for (int64_t i = 0; i < count; ++i)
      pool.push_back(sampler.sample_sized(c.batch_size, c.num_context, c.num_targets, rng));
  } else {
    data::CopyTaskSampler sampler(c.seq_len, 10);
    for (int64_t i = 0; i < count; ++i) pool.push_back(sampler.sample(c.batch_size, rng));
  }
  return pool;
}

}  // namespace

nlohmann::json bench_train(const BenchOptions& o) {
  nlohmann::json rows = nlohmann::json::array();
  const std::vector<TrainCase> cases = train_cases(o.train_tasks, o.methods);
  // The yardstick for each step's matmul FLOPs: what a step would take if its matmuls ran at the
  // raw oneDNN rate and everything else were free (the floor that bounds a missed target).
  const double peak_gflops = cases.empty() ? 0.0 : raw_matmul_peak_gflops(o);
  if (!cases.empty())
    o.say(fmt::format("train: raw oneDNN matmul peak {:.1f} GFLOP/s", peak_gflops));
  for (const TrainCase& c : cases) {
    Rng init(o.seed);
    const ModelConfig cfg = train_case_config(c);
    std::unique_ptr<Model> model = make_model(cfg, init);
    Adam adam(model->named_parameters(), c.adam);
    const CosineSchedule schedule(5e-4, 100000);  // tca.md 6: lr 5e-4, cosine over the run
    Rng data_rng = Rng(o.seed).fork(1), model_rng = Rng(o.seed).fork(2);
    const std::vector<Batch> pool = batch_pool(c, 4, data_rng);
    // The forward phase ends when the model itself (replica 0, on this thread) has its loss; with
    // several replicas the backward phase also holds the wait for the others and the gradient sum.
    double forward_end_s = 0;
    DataParallel data_parallel(*model, o.data_parallel,
                               [&](Model& m, const Batch& slice, Rng& rng) {
                                 LossOutput out = m.loss(slice, rng);
                                 if (&m == model.get()) forward_end_s = now_s();
                                 return out;
                               });
    int64_t step = 0;
    // Phase times of every step, so the report can say where a step's time goes.
    std::vector<double> fwd_s, bwd_s, opt_s;
    double last_loss = 0;
    int64_t step_flops =
        0;  // matmul FLOPs of the last step (the same every step for a fixed shape)
    auto train_step = [&] {
      const Batch& batch = pool[static_cast<size_t>(step) % pool.size()];
      const int64_t flops0 = ops::matmul_flops_executed();
      const double t0 = now_s();
      LossOutput out = data_parallel.forward_backward(batch, model_rng);
      const double t1 = forward_end_s;
      const double t2 = now_s();
      const double norm = grad_norm(adam.parameters());
      adam.step(schedule.lr(step), clip_coefficient(norm, c.clip));
      adam.zero_grad();
      const double t3 = now_s();
      step_flops = ops::matmul_flops_executed() - flops0;
      last_loss = out.total.item();
      fwd_s.push_back(t1 - t0);
      bwd_s.push_back(t2 - t1);
      opt_s.push_back(t3 - t2);
      ++step;
    };
    // The peak of this case's steps: without the trim, the heap that earlier cases freed but the
    // process keeps (core/tensor.cpp) would count as this case's memory.
    release_free_heap();
    reset_peak_rss();
    const TimingResult t = measure_figure(o, train_step);
    // Phase medians over every step but the first (which creates the primitives).
    auto phase_ms = [&](const std::vector<double>& v) {
      return 1e3 * median(std::vector<double>(v.begin() + (v.size() > 1 ? 1 : 0), v.end()));
    };
    nlohmann::json row = {
        {"kind", "train"},
        {"method", c.method},
        {"task", c.task},
        {"seq_len", c.task == "copy" ? nlohmann::json(c.seq_len) : nlohmann::json(nullptr)},
        {"batch_size", c.batch_size},
        {"data_parallel", o.data_parallel},
        {"num_context", c.num_context},
        {"num_targets", c.num_targets},
        {"encoder_layers", cfg.num_layers},
        {"ms_per_step", 1e3 * t.median_s},
        {"steps_per_s", 1.0 / t.median_s},
        {"ms_p25", 1e3 * t.p25_s},
        {"ms_p75", 1e3 * t.p75_s},
        {"ms_min", 1e3 * t.min_s},
        {"forward_ms", phase_ms(fwd_s)},
        {"backward_ms", phase_ms(bwd_s)},
        {"clip_adam_ms", phase_ms(opt_s)},
        {"parameters", model->num_parameters()},
        {"matmul_gflop_per_step", 1e-9 * static_cast<double>(step_flops)},
        {"matmul_gflops", 1e-9 * static_cast<double>(step_flops) / t.median_s},
        {"raw_peak_gflops", peak_gflops},
        {"floor_ms_at_raw_peak", 1e-6 * static_cast<double>(step_flops) / peak_gflops},
        {"loss_last", last_loss},
        {"peak_rss_mb", peak_rss_mb()},
        {"timing", t.to_json()}};
    if (c.method == "perceiver") {
      row["num_latents"] = cfg.num_latents;
      row["num_latent_layers"] = cfg.num_latent_layers;
    }
    if (const double ref = reference_train_ms(c.method, c.task, static_cast<long>(c.seq_len));
        ref > 0)
      row["reference_ms"] = ref;
    o.say(fmt::format(
        "train {:<22} {:9.2f} ms/step (p25 {:.2f}, p75 {:.2f}; fwd {:.2f}, bwd {:.2f}, "
        "clip+adam {:.2f}; "
        "{} samples, {} discarded{})",
        c.label(), 1e3 * t.median_s, 1e3 * t.p25_s, 1e3 * t.p75_s, phase_ms(fwd_s), phase_ms(bwd_s),
        phase_ms(opt_s), t.samples, t.discarded,
        o.data_parallel > 1 ? fmt::format("; data-parallel {}", o.data_parallel) : std::string()));
    rows.push_back(row);
  }
  return rows;
}

}  // namespace tca::bench
