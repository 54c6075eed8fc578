#include "train_options.hpp"

#include <fmt/format.h>

#include <set>

#include "core/error.hpp"
#include "io/hdf5_file.hpp"
#include "run_model.hpp"
#include "task_options.hpp"

namespace tca::cli {

namespace {

// Upper bounds of the size options (issue 20): far above any configuration of the paper (D 64-128,
// 6 layers, F 128-256, L <= 512, B <= 128), low enough that each stays a small integer in every
// size computation. Whether a configuration fits in memory is the estimate's job
// (train/memory_estimate.hpp); these only stop absurd values before any arithmetic. The loss
// weights are stored as float32: 1e39 became inf.
constexpr int64_t kMaxWidth = 65536, kMaxFeedforward = 1 << 20, kMaxBranch = 4096,
                  kMaxTokens = 1 << 24, kMaxBatch = 1 << 20;
constexpr int kMaxLayers = 1024;
constexpr int kMaxDataParallel = 256;  // threads, each with a copy of the model
constexpr double kMaxLossWeight = 1e6;

// tca.md section 6 per task. copy: no encoder, dropout 0.1, batch 128, betas (0.1, 0.999),
// clip 1; gp: 6 layers, batch 16, betas (0.9, 0.999), clip 1, std exp; image: the EMNIST
// settings (Fashion-MNIST stands in for EMNIST): batch 100, bounded std, sort_x2, no clipping,
// 200 epochs = 48k steps; "image --source celeba": the CelebA 32 settings, batch 16, exp std,
// sort_x1, no clipping, 200 epochs ~ 2.28M steps; timeseries (our stand-in, no reference
// setting): the copy task's classification settings with a 6-layer encoder and the time ordering
// sort_x1. Perceiver IO's latent encoder has the task's number of layers, 2 for the copy task
// (tca.md 3).
const char* const kTaskDefaults = R"({
  "copy":       {"layers": 0, "dropout": 0.1, "batch_size": 128, "beta1": 0.1, "beta2": 0.999, "clip": 1.0,
                 "heuristic": "none", "bound_std": false, "num_latent_layers": 2, "steps": 100000},
  "gp":         {"layers": 6, "dropout": 0.0, "batch_size": 16, "beta1": 0.9, "beta2": 0.999, "clip": 1.0,
                 "heuristic": "none", "bound_std": false, "num_latent_layers": 6, "steps": 100000},
  "image":      {"layers": 6, "dropout": 0.0, "batch_size": 100, "beta1": 0.9, "beta2": 0.999, "clip": 0.0,
                 "heuristic": "sort_x2", "bound_std": true, "num_latent_layers": 6, "steps": 48000},
  "image --source celeba": {"layers": 6, "dropout": 0.0, "batch_size": 16, "beta1": 0.9, "beta2": 0.999, "clip": 0.0,
                 "heuristic": "sort_x1", "bound_std": false, "num_latent_layers": 6, "steps": 2280000},
  "timeseries": {"layers": 6, "dropout": 0.1, "batch_size": 128, "beta1": 0.1, "beta2": 0.999, "clip": 1.0,
                 "heuristic": "sort_x1", "bound_std": false, "num_latent_layers": 6, "steps": 100000}
})";

// The row of task defaults: --task, else the task attribute of the --train file; for image
// tasks from CelebA (--source, or the source attribute of an image-source --train file) the
// CelebA row, whose settings differ from EMNIST's (tca.md 6).
std::string select_task(const Options& o) {
  std::string task, source = o.get<std::string>("source");
  if (o.has("task")) {
    task = o.get<std::string>("task");
  } else if (o.has("train")) {
    const io::H5File f = io::H5File::open_read(o.get<std::string>("train"));
    task = f.attr_string("task");
    if (f.has_attr("source")) source = f.attr_string("source");
  }
  return task == "image" && source == "celeba" ? "image --source celeba" : task;
}

void declare_data_options(Options& o) {
  o.add<std::string>(Group::data, "task",
                     "train on batches drawn fresh every step from this task's generator")
      .choices({"copy", "gp", "image", "timeseries"});
  o.add<std::string>(
       Group::data, "train",
       "train on a task file (a finite pool of batches, reshuffled every epoch) or an "
       "image-source file, instead of --task")
      .value_name("FILE.h5");
  o.add<std::string>(Group::data, "eval", "fixed task file for the periodic evaluation")
      .value_name("FILE.h5");
  declare_task_options(o);
}

void declare_model_options(Options& o) {
  o.add<std::string>(
       Group::model, "model",
       "the method: Cross Attention, Tree Cross Attention (ReTreever) or Perceiver IO")
      .choices(names_of(kModelKindNames))
      .required();
  o.add<int64_t>(Group::model, "d-model", int64_t{64}, "model width D").range(1, kMaxWidth);
  o.add<int64_t>(Group::model, "heads", int64_t{4}, "attention heads (D must be divisible by them)")
      .range(1, kMaxWidth);
  o.add<int>(Group::model, "layers", 6,
             "context encoder layers (0 = none, the copy task's \"constant\")")
      .range(0, kMaxLayers);
  o.add<int>(Group::model, "emb-depth", 4, "Linear layers of the context and query embedders")
      .range(1, kMaxLayers);
  o.add<int64_t>(Group::model, "dim-feedforward", int64_t{128}, "feed-forward width F (GEGLU)")
      .range(1, kMaxFeedforward);
  o.add<double>(Group::model, "dropout", 0.0, "dropout probability").check([](const double& p) {
    return p >= 0.0 && p < 1.0 ? std::string() : std::string("expected a value in [0, 1)");
  });
  o.add<bool>(Group::model, "norm-first", true, "pre-norm blocks (false: post-norm)");
  o.add<bool>(Group::model, "bound-std", false,
              "Gaussian std = 0.05 + 0.95 softplus(raw) instead of exp(raw) (regression tasks)");
  o.add<int64_t>(Group::model, "branch-factor", int64_t{2}, "[tca] tree branching factor b")
      .range(2, kMaxBranch);
  o.add<int>(Group::model, "aggregation-layers", 1, "[tca] encoder layers of the node aggregator")
      .range(1, kMaxLayers);
  // A value, not a switch: every hyperparameter is `--name value` (conventions.md), so that a
  // shell loop or a tuner can pass `--bptt false` as it passes `--norm-first false`.
  o.add<bool>(Group::model, "bptt", false,
              "[tca] let gradients flow through the tree levels into the encoder");
  o.add<double>(Group::model, "ca-loss-weight", 1.0,
                "[tca] weight of the L_CA (all leaves) loss term")
      .range(0.0, kMaxLossWeight);
  o.add<double>(Group::model, "rl-loss-weight", 1.0, "[tca] weight of the REINFORCE loss term")
      .range(0.0, kMaxLossWeight);
  o.add<double>(Group::model, "entropy-bonus", 0.01, "[tca] weight of the policy entropy bonus")
      .range(-kMaxLossWeight, kMaxLossWeight);
  o.add<std::string>(Group::model, "reward", std::string("acc"),
                     "[tca] classification reward: accuracy or negative cross-entropy")
      .choices(names_of(kClassificationRewardNames));
  o.add<std::string>(Group::model, "heuristic", std::string("none"),
                     "[tca] context ordering before the tree is built")
      .choices(names_of(kContextOrderingNames));
  o.add<int64_t>(Group::model, "num-latents", int64_t{8},
                 "[perceiver] latent vectors L (compare at L = TCA's tokens attended)")
      .range(1, kMaxTokens);
  o.add<int>(Group::model, "num-latent-layers", 6,
             "[perceiver] self-attention layers over the latents")
      .range(0, kMaxLayers);
}

void declare_optimisation_options(Options& o) {
  o.add<int64_t>(Group::optimisation, "steps", int64_t{100000},
                 "optimiser steps (the cosine schedule spans them)")
      .min(1);
  o.add<int64_t>(Group::optimisation, "batch-size", int64_t{16},
                 "tasks per step (--train task file: as stored unless given)")
      .range(1, kMaxBatch);
  o.add<double>(Group::optimisation, "lr", 5e-4, "peak learning rate, cosine-annealed to 0")
      .min(0.0);
  o.add<int64_t>(Group::optimisation, "warmup-steps", int64_t{0},
                 "linear warm-up steps before the cosine decay")
      .unit("steps")
      .min(0);
  o.add<double>(Group::optimisation, "beta1", 0.9, "Adam beta1").range(0.0, 0.999999);
  o.add<double>(Group::optimisation, "beta2", 0.999, "Adam beta2").range(0.0, 0.999999);
  o.add<double>(Group::optimisation, "eps", 1e-8, "Adam epsilon").range(0.0, 1.0);
  o.add<double>(Group::optimisation, "weight-decay", 0.0, "Adam L2 weight decay")
      .range(0.0, 1000.0);
  o.add<double>(Group::optimisation, "clip", 1.0, "global gradient L2-norm clipping (0 = none)")
      .min(0.0);
  o.add<int>(Group::optimisation, "data-parallel", 1,
             "split each step's batch between N threads (whatever OMP_NUM_THREADS says), each "
             "with its own copy of the model, and sum their gradients (1 = one model; results "
             "depend on N, not on the thread count)")
      .range(1, kMaxDataParallel);
  o.add<int64_t>(Group::generic, "seed", int64_t{0},
                 "seed of initialisation (stream 0), data (1), dropout and path sampling (2), file "
                 "shuffling (3)")
      .min(0);
}

void declare_output_options(Options& o) {
  o.add<std::string>(Group::output, "out", "run directory").value_name("RUN_DIR").required();
  o.add_flag(
       Group::output, "resume",
       "continue the run in --out from its checkpoint (its config.json is the default --config)")
      .transient();
  o.add_flag(Group::output, "overwrite", "replace the run in --out").transient();
  o.add<int64_t>(Group::output, "log-every", int64_t{100},
                 "write a metrics.jsonl line every N steps")
      .unit("steps")
      .min(1);
  o.add<int64_t>(Group::output, "eval-every", int64_t{5000},
                 "evaluate on --eval every N steps and at the end (0 = never)")
      .unit("steps")
      .min(0);
  o.add<int64_t>(Group::output, "eval-batches", int64_t{0},
                 "evaluate on the first N batches of --eval (0 = all)")
      .min(0);
  o.add<int64_t>(Group::output, "checkpoint-every", int64_t{1000},
                 "write checkpoint.h5 every N steps")
      .unit("steps")
      .min(1);
  o.add<std::string>(Group::output, "progress", std::string("auto"),
                     "progress on stderr: bar on a TTY, else lines")
      .choices({"auto", "bar", "lines", "none"})
      .transient();
}

}  // namespace

void declare_train_options(Options& o) {
  declare_data_options(o);
  declare_model_options(o);
  declare_optimisation_options(o);
  declare_output_options(o);
  o.set_dependent_defaults({"task", nlohmann::json::parse(kTaskDefaults), select_task});
}

ModelConfig model_config_from(const Options& o, const data::TaskInfo& info) {
  ModelConfig c;
  c.model = model_kind_from_string(o.get<std::string>("model"));
  fill_task_interface(c, info);
  c.bound_std = o.get<bool>("bound-std");
  c.d_model = o.get<int64_t>("d-model");
  c.heads = o.get<int64_t>("heads");
  c.dim_feedforward = o.get<int64_t>("dim-feedforward");
  c.num_layers = o.get<int>("layers");
  c.emb_depth = o.get<int>("emb-depth");
  c.dropout = static_cast<float>(o.get<double>("dropout"));
  c.norm_first = o.get<bool>("norm-first");
  c.branch_factor = o.get<int64_t>("branch-factor");
  c.aggregation_layers = o.get<int>("aggregation-layers");
  c.bptt = o.get<bool>("bptt");
  c.ca_loss_weight = static_cast<float>(o.get<double>("ca-loss-weight"));
  c.rl_loss_weight = static_cast<float>(o.get<double>("rl-loss-weight"));
  c.entropy_bonus = static_cast<float>(o.get<double>("entropy-bonus"));
  c.reward = classification_reward_from_string(o.get<std::string>("reward"));
  c.heuristic = context_ordering_from_string(o.get<std::string>("heuristic"));
  c.num_latents = o.get<int64_t>("num-latents");
  c.num_latent_layers = o.get<int>("num-latent-layers");
  c.validate();
  return c;
}

TrainerOptions trainer_options_from(const Options& o) {
  TrainerOptions t;
  t.steps = o.get<int64_t>("steps");
  t.batch_size = o.get<int64_t>("batch-size");
  t.lr = o.get<double>("lr");
  t.warmup_steps = o.get<int64_t>("warmup-steps");
  // The schedule needs at least one decay step; found here (before the run directory exists)
  // rather than by the schedule once training starts.
  if (t.warmup_steps >= t.steps) {
    throw UsageError(fmt::format(
        "invalid value '{}' for --warmup-steps: expected fewer warm-up steps than --steps ({})",
        t.warmup_steps, t.steps));
  }
  t.adam.beta1 = o.get<double>("beta1");
  t.adam.beta2 = o.get<double>("beta2");
  t.adam.eps = o.get<double>("eps");
  t.adam.weight_decay = o.get<double>("weight-decay");
  t.clip = o.get<double>("clip");
  t.seed = static_cast<uint64_t>(o.get<int64_t>("seed"));
  t.log_every = o.get<int64_t>("log-every");
  t.eval_every = o.get<int64_t>("eval-every");
  t.checkpoint_every = o.get<int64_t>("checkpoint-every");
  t.data_parallel = o.get<int>("data-parallel");
  t.progress = parse_progress_mode(o.get<std::string>("progress"));
  return t;
}

bool affects_results(const std::string& key) {
  static const std::set<std::string> cadence = {"log_every",        "eval_every", "eval_batches",
                                                "checkpoint_every", "eval",       "out"};
  return !cadence.count(underscored(key));
}

}  // namespace tca::cli
