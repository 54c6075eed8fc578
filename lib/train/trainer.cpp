#include "train/trainer.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <optional>

#include "core/error.hpp"
#include "core/signals.hpp"
#include "data/file_task_sampler.hpp"
#include "train/checkpoint.hpp"
#include "train/grad_clip.hpp"
#include "train/lr_schedule.hpp"
#include "train/metrics_log.hpp"

namespace tca {

namespace {
// Independent streams from one seed: initialisation (used by the caller), data, model.
constexpr uint64_t kDataStream = 1, kModelStream = 2;
constexpr const char* kPositionCounter = "data_position";
}  // namespace

Trainer::Trainer(Model& model, data::TaskSampler& sampler, const RunDirectory& run,
                 TrainerOptions options, std::string config_json, EvalCallback evaluate)
    : model_(model),
      sampler_(sampler),
      run_(run),
      opt_(options),
      config_json_(std::move(config_json)),
      evaluate_(std::move(evaluate)),
      adam_(model.named_parameters(), options.adam),
      data_parallel_(model, options.data_parallel),
      data_rng_(Rng(options.seed).fork(kDataStream)),
      model_rng_(Rng(options.seed).fork(kModelStream)) {}

void Trainer::save(int64_t step) {
  TrainingState st;
  st.step = step;
  st.rng_states = {{"data", data_rng_.state()}, {"model", model_rng_.state()}};
  if (auto* fs = dynamic_cast<data::TaskFileSampler*>(&sampler_))
    st.counters[kPositionCounter] = fs->position();
  st.config_json = config_json_;
  save_checkpoint(run_.checkpoint_path(), model_.named_parameters(), &adam_, st);
}

TrainResult Trainer::run() {
  TrainResult result;
  int64_t step = 0;
  std::optional<MetricsLog> log;
  if (run_.resuming()) {
    CheckpointInfo ck = load_checkpoint(run_.checkpoint_path(), model_.named_parameters(), &adam_);
    step = ck.state.step;
    if (step > opt_.steps) {
      throw InputError(run_.checkpoint_path(), "step", "checkpoint past the end of the run",
                       "at most " + std::to_string(opt_.steps) + " (--steps)",
                       std::to_string(step));
    }
    data_rng_.set_state(ck.rng_state("data"));
    model_rng_.set_state(ck.rng_state("model"));
    if (auto* fs = dynamic_cast<data::TaskFileSampler*>(&sampler_)) {
      auto it = ck.state.counters.find(kPositionCounter);
      if (it == ck.state.counters.end())
        throw InputError(run_.checkpoint_path(), "/counters/" + std::string(kPositionCounter),
                         "checkpoint lacks the training file's position", "present", "absent");
      fs->set_position(it->second);
    }
    log.emplace(MetricsLog::resume(run_.metrics_path(), step));
  } else {
    log.emplace(MetricsLog::create(run_.metrics_path()));
  }
  const CosineSchedule schedule(opt_.lr, opt_.steps, opt_.warmup_steps);
  ProgressOptions popt;
  popt.mode = opt_.progress;
  popt.label = "train";
  popt.total = opt_.steps;
  popt.start = step;
  Progress progress(popt);
  ScopedStopSignals signals;
  const auto start = std::chrono::steady_clock::now();
  auto wall = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  auto run_eval = [&](int64_t at) {
    nlohmann::json rec = evaluate_(model_);
    rec["step"] = at;
    rec["split"] = "eval";
    rec["wall_s"] = wall();
    log->append(rec);
    result.last_eval_record = rec;
    progress.message(fmt::format("eval at step {}: {}", at, rec.dump()));
  };
  int64_t window_steps = 0;
  double window_start = wall();
  while (step < opt_.steps) {
    if (stop_requested()) {
      log->sync();
      save(step);
      result.exit_code = exit_code_for_signal(stop_signal());
      progress.message(
          fmt::format("{}: checkpoint written at step {}", signal_name(stop_signal()), step));
      result.final_step = step;
      return result;
    }
    Batch batch = sampler_.sample(opt_.batch_size, data_rng_);
    // The forward and backward of the batch (split between --data-parallel threads); the model
    // generator's state is all the checkpoint needs to resume either way.
    LossOutput out = data_parallel_.forward_backward(batch, model_rng_);
    const double loss = out.total.item();
    if (!std::isfinite(loss))
      throw RuntimeFailure(fmt::format(
          "the training loss is {} at step {} (lower --lr or enable --clip)", loss, step + 1));
    // Clipping by the global norm (tca.md 6) is applied inside Adam's update.
    const double norm = grad_norm(adam_.parameters());
    if (!std::isfinite(norm))
      throw RuntimeFailure(fmt::format("the gradient norm is {} at step {}", norm, step + 1));
    const double lr = schedule.lr(step);
    adam_.step(lr, opt_.clip > 0 ? clip_coefficient(norm, opt_.clip) : 1.0f);
    adam_.zero_grad();
    ++step;
    ++window_steps;
    progress.update(step, {{"loss", loss}});
    if (step % opt_.log_every == 0 || step == opt_.steps) {
      const double now = wall();
      nlohmann::json rec = {{"step", step}, {"split", "train"}, {"lr", lr}, {"grad_norm", norm}};
      for (auto& [k, v] : out.terms) rec[k] = v;
      rec["steps_per_s"] = window_steps / std::max(now - window_start, 1e-9);
      rec["wall_s"] = now;
      log->append(rec);
      result.last_train_record = rec;
      window_steps = 0;
      window_start = now;
    }
    if (evaluate_ && opt_.eval_every > 0 && (step % opt_.eval_every == 0 || step == opt_.steps))
      run_eval(step);
    if (step % opt_.checkpoint_every == 0 || step == opt_.steps) {
      log->sync();
      save(step);
    }
  }
  progress.finish();
  result.final_step = step;
  return result;
}

}  // namespace tca
