// Same seeds and the same number of threads give bit-identical training runs: every loss term of
// every step and the final parameters (dropout on, TCA sampling its paths, so the generators are
// exercised); a different seed gives a different run, so the comparison can fail.
#include <doctest/doctest.h>

#include <cstring>

#include "models/model_test_util.hpp"
#include "train/adam.hpp"
#include "train/grad_clip.hpp"

using namespace tca;
using namespace tca::testing;

namespace {

struct Run {
  std::vector<std::map<std::string, double>> terms;  // per step
  std::vector<std::vector<float>> params;
};

Run run_steps(const ModelConfig& cfg, bool gp, uint64_t seed, int steps = 4) {
  Rng init(seed), data(seed + 1), rng(seed + 2);
  std::unique_ptr<Model> model = make_model(cfg, init);
  Adam adam(model->named_parameters());
  data::GpTaskSampler gp_sampler(data::GpKernel::rbf, 30);
  Run r;
  for (int s = 0; s < steps; ++s) {
    Batch batch = gp ? gp_sampler.sample(4, data) : copy_batch(4, 16, data);
    adam.zero_grad();
    LossOutput out = model->loss(batch, rng);
    out.total.backward();
    clip_grad_norm(model->named_parameters(), 1.0);
    adam.step(1e-3);
    r.terms.push_back(out.terms);
  }
  for (auto& [name, p] : model->named_parameters()) r.params.push_back(p.value().to_vector());
  return r;
}

bool identical(const Run& a, const Run& b) {
  if (a.terms != b.terms || a.params.size() != b.params.size()) return false;
  for (size_t i = 0; i < a.params.size(); ++i)
    if (a.params[i].size() != b.params[i].size() ||
        std::memcmp(a.params[i].data(), b.params[i].data(), a.params[i].size() * sizeof(float)) !=
            0)
      return false;
  return true;
}

void check_reproducible(ModelConfig cfg, bool gp) {
  cfg.d_model = 16;
  cfg.heads = 2;
  cfg.dim_feedforward = 16;
  cfg.emb_depth = 2;
  cfg.dropout = 0.1f;
  const Run a = run_steps(cfg, gp, 11), b = run_steps(cfg, gp, 11), c = run_steps(cfg, gp, 12);
  REQUIRE(a.terms.size() == 4);
  for (size_t s = 0; s < a.terms.size(); ++s) CHECK(a.terms[s].at("loss") == b.terms[s].at("loss"));
  CHECK(identical(a, b));
  CHECK_FALSE(identical(a, c));
}

}  // namespace

TEST_CASE("CA training is bit-identical for the same seeds") {
  check_reproducible(tiny_gp_config("ca"), true);
  check_reproducible(copy_config("ca"), false);
}

TEST_CASE("Perceiver IO training is bit-identical for the same seeds") {
  check_reproducible(tiny_gp_config("perceiver"), true);
  check_reproducible(copy_config("perceiver"), false);
}

TEST_CASE("TCA training including its sampled paths is bit-identical for the same seeds") {
  check_reproducible(tiny_gp_config("tca"), true);
  check_reproducible(copy_config("tca"), false);
}
