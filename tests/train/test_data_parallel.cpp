// Data-parallel training (train/data_parallel.hpp): with nothing drawn (dropout 0, TCA on its
// greedy path) the summed gradient of R replicas is the full batch's to float rounding, for CA,
// TCA and Perceiver IO on a GP and a copy batch; with dropout and sampled paths, two runs of the
// same seed give the same bits, whatever the OpenMP thread count. The tests run under
// OMP_NUM_THREADS=1 (make test); the replicas still get a thread each (num_threads(R)).
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "data/copy_task.hpp"
#include "data/gp_task.hpp"
#include "models/model_test_util.hpp"
#include "models/retreever_model.hpp"
#include "train/adam.hpp"
#include "train/data_parallel.hpp"
#include "train/grad_clip.hpp"

using namespace tca;

namespace {

using testing::tiny_gp_config;

ModelConfig tiny_copy_config(const std::string& model, float dropout = 0.0f) {
  ModelConfig c = tiny_gp_config(model);
  c.loss = TaskLoss::classification;
  c.dim_x = 6;
  c.num_classes = 6;
  c.is_sequential = true;
  c.is_metalearning = false;
  c.num_layers = 0;
  c.dropout = dropout;
  return c;
}

Batch tiny_batch(const std::string& task, int64_t B, Rng& rng) {
  if (task == "gp") return data::GpTaskSampler(data::GpKernel::rbf, 50).sample_sized(B, 9, 6, rng);
  return data::CopyTaskSampler(16, 4).sample(B, rng);
}

// The training loss with nothing drawn: TCA descends greedily (its sampled path would differ
// between one model and two replicas); dropout is 0 in these configs.
LossOutput deterministic_loss(Model& m, const Batch& slice, Rng& rng) {
  if (auto* tca = dynamic_cast<ReTreeverModel*>(&m))
    return tca->forward(slice, nn::ForwardContext::training(rng), TcaPath::greedy());
  return m.loss(slice, rng);
}

std::map<std::string, Tensor> gradients(const Model& m) {
  std::map<std::string, Tensor> g;
  for (auto& [name, p] : m.named_parameters())
    if (p.grad().defined()) g[name] = p.grad().clone();
  return g;
}

std::map<std::string, std::vector<float>> values(const Model& m) {
  std::map<std::string, std::vector<float>> v;
  for (auto& [name, p] : m.named_parameters()) v[name] = p.value().to_vector();
  return v;
}

// Max over parameters of |a - b| / (1e-4 |a| + 1e-6 max|a|).
double worst_ratio(const std::map<std::string, Tensor>& a, const std::map<std::string, Tensor>& b,
                   std::string& where) {
  double gmax = 0;
  for (auto& [name, g] : a)
    for (int64_t i = 0; i < g.numel(); ++i) gmax = std::max(gmax, std::abs(double(g[i])));
  double worst = 0;
  for (auto& [name, g] : a) {
    const Tensor& h = b.at(name);
    for (int64_t i = 0; i < g.numel(); ++i) {
      const double r =
          std::abs(double(g[i]) - h[i]) / (1e-4 * std::abs(double(g[i])) + 1e-6 * gmax);
      if (r > worst) {
        worst = r;
        where = name + "[" + std::to_string(i) + "]: " + std::to_string(g[i]) + " vs " +
                std::to_string(h[i]);
      }
    }
  }
  return worst;
}

// Steps of clip + Adam on fresh batches, the trainer's step; the final parameters.
std::map<std::string, std::vector<float>> train(const ModelConfig& cfg, const std::string& task,
                                                int replicas, int steps) {
  Rng init(11), data_rng(12), model_rng(13);
  auto model = make_model(cfg, init);
  Adam adam(model->named_parameters());
  DataParallel dp(*model, replicas);
  for (int s = 0; s < steps; ++s) {
    const Batch batch = tiny_batch(task, 5, data_rng);
    const LossOutput out = dp.forward_backward(batch, model_rng);
    REQUIRE(std::isfinite(out.total.item()));
    clip_grad_norm(adam.parameters(), 1.0);
    adam.step(1e-3);
    adam.zero_grad();
  }
  return values(*model);
}

}  // namespace

TEST_CASE(
    "data-parallel gradients equal the full-batch gradients for CA, TCA and Perceiver IO on GP "
    "and copy batches") {
  for (const std::string task : {"gp", "copy"}) {
    for (const std::string method : {"ca", "tca", "perceiver"}) {
      // B = 5: replicas of 3 and 2 tasks (weights 3/5, 2/5) and of 2, 2, 1.
      for (int replicas : {2, 3}) {
        CAPTURE(task);
        CAPTURE(method);
        CAPTURE(replicas);
        const ModelConfig cfg = task == "gp" ? tiny_gp_config(method) : tiny_copy_config(method);
        Rng init(1), data_rng(2);
        auto model = make_model(cfg, init);
        const Batch batch = tiny_batch(task, 5, data_rng);

        Rng rng_full(3);
        const LossOutput full =
            DataParallel(*model, 1, deterministic_loss).forward_backward(batch, rng_full);
        const auto full_grads = gradients(*model);
        model->zero_grad();

        const int threads_before = omp_get_max_threads();
        Rng rng_split(3);
        DataParallel dp(*model, replicas, deterministic_loss);
        const LossOutput split = dp.forward_backward(batch, rng_split);
        CHECK(omp_get_max_threads() == threads_before);
        const auto split_grads = gradients(*model);
        model->zero_grad();

        REQUIRE(split_grads.size() == full_grads.size());
        std::string where;
        const double worst = worst_ratio(full_grads, split_grads, where);
        CHECK_MESSAGE(worst <= 1.0, "worst gradient entry " << where);
        CHECK(split.total.item() == doctest::Approx(full.total.item()).epsilon(1e-5));
        CHECK(!split.total.requires_grad());
        for (auto& [name, value] : full.terms) {
          CAPTURE(name);
          REQUIRE(split.terms.count(name) == 1);
          CHECK(split.terms.at(name) == doctest::Approx(value).epsilon(1e-4).scale(1.0));
        }
        // The generator advanced by one draw, so the next step forks other streams.
        Rng advanced(3);
        advanced.next_u64();
        CHECK(rng_split.state() == advanced.state());
      }
    }
  }
}

TEST_CASE(
    "data-parallel training with dropout and sampled TCA paths gives the same bits run to run "
    "and at any OpenMP thread count") {
  const int threads_before = omp_get_max_threads();
  for (const std::string method : {"ca", "tca", "perceiver"}) {
    CAPTURE(method);
    const ModelConfig cfg = tiny_copy_config(method, 0.1f);
    omp_set_num_threads(1);
    const auto first = train(cfg, "copy", 2, 3);
    const auto second = train(cfg, "copy", 2, 3);
    omp_set_num_threads(2);
    const auto two_threads = train(cfg, "copy", 2, 3);
    omp_set_num_threads(threads_before);
    CHECK(first == second);
    CHECK(first == two_threads);
    // And the steps did train (the parameters moved from their initial values).
    Rng init(11);
    CHECK(values(*make_model(cfg, init)) != first);
  }
}

TEST_CASE(
    "each replica runs on a thread of its own with single-threaded ops, whatever "
    "OMP_NUM_THREADS") {
  Rng init(14), data_rng(15), rng(16);
  auto model = make_model(tiny_gp_config("ca"), init);
  const Batch batch = tiny_batch("gp", 4, data_rng);
  Model* main_model = model.get();
  int thread_of[2] = {-1, -1}, team_of[2] = {0, 0}, max_threads_in[2] = {0, 0};
  DataParallel dp(*model, 2, [&](Model& m, const Batch& slice, Rng& r) {
    const int replica = &m == main_model ? 0 : 1;
    thread_of[replica] = omp_get_thread_num();
    team_of[replica] = omp_get_num_threads();
    max_threads_in[replica] = omp_get_max_threads();
    CHECK(slice.batch_size() == 2);
    return m.loss(slice, r);
  });
  const int threads_before = omp_get_max_threads();
  for (int outer : {1, 2}) {
    omp_set_num_threads(outer);
    dp.forward_backward(batch, rng);
    CHECK(omp_get_max_threads() == outer);  // the caller's thread count is untouched
    CHECK(thread_of[0] == 0);               // the model itself, on the calling thread
    CHECK(thread_of[1] == 1);
    CHECK(team_of[0] == 2);
    CHECK(team_of[1] == 2);
    CHECK(max_threads_in[0] == 1);
    CHECK(max_threads_in[1] == 1);
  }
  omp_set_num_threads(threads_before);
}

TEST_CASE("data-parallel training with more replicas than tasks leaves the extra replicas idle") {
  Rng init(4), data_rng(5), rng_a(6), rng_b(6);
  auto model = make_model(tiny_gp_config("ca"), init);
  const Batch batch = tiny_batch("gp", 2, data_rng);
  const LossOutput full = DataParallel(*model, 1).forward_backward(batch, rng_a);
  const auto full_grads = gradients(*model);
  model->zero_grad();
  const LossOutput split = DataParallel(*model, 4).forward_backward(batch, rng_b);
  std::string where;
  CHECK_MESSAGE(worst_ratio(full_grads, gradients(*model), where) <= 1.0, where);
  CHECK(split.total.item() == doctest::Approx(full.total.item()).epsilon(1e-5));
}

TEST_CASE("an error in one replica is rethrown after every replica has stopped") {
  Rng init(7), data_rng(8), rng(9);
  auto model = make_model(tiny_gp_config("ca"), init);
  const Batch batch = tiny_batch("gp", 4, data_rng);
  Model* main_model = model.get();
  DataParallel dp(*model, 2, [&](Model& m, const Batch& slice, Rng& r) {
    if (&m != main_model) throw ShapeError("replica 1 failed");
    return m.loss(slice, r);
  });
  CHECK_THROWS_WITH_AS(dp.forward_backward(batch, rng), "replica 1 failed", ShapeError);
  CHECK_THROWS_AS(DataParallel(*model, 0), UsageError);
}
