// The configurations `tca bench` measures (issue 12; tca.md section 6): d_model 64, 4 heads,
// dim_feedforward 128, emb_depth 4, b = 2, pre-norm. GP: 6 encoder layers, B = 16, 25 context and
// 20 target points, dropout 0, Adam betas (0.9, 0.999). Copy: no encoder layers, B = 128,
// T = 128 and 256 (N = M = T/2), dropout 0.1, betas (0.1, 0.999). Both clip the global gradient
// norm at 1.0. Perceiver IO gets L = the tokens TCA attends to for that N (conventions.md
// "Tokens attended") and 2 latent layers on the copy task, 6 on GP (tca.md 3).
#pragma once
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "models/model_config.hpp"
#include "train/adam.hpp"

namespace tca::bench {

struct TrainCase {
  std::string method;   // ca | tca | perceiver
  std::string task;     // gp | copy
  int64_t seq_len = 0;  // copy: T; 0 for gp
  int64_t batch_size = 0, num_context = 0, num_targets = 0;
  AdamOptions adam;
  double clip = 1.0;
  std::string label() const;  // "tca gp", "ca copy T=256"
};

// The model config of a case (task interface, dropout, encoder layers, Perceiver latents).
ModelConfig train_case_config(const TrainCase& c);

// The training cases in the order they are run: for each of gp, copy T=128, copy T=256 (those in
// `tasks`: "gp", "copy128", "copy256"), the methods ca, tca, perceiver (those in `methods`).
// UsageError for an unknown task or method.
std::vector<TrainCase> train_cases(const std::vector<std::string>& tasks,
                                   const std::vector<std::string>& methods = {"ca", "tca",
                                                                              "perceiver"});
// UsageError unless every entry is ca, tca or perceiver.
void check_methods(const std::vector<std::string>& methods);

// The inference configuration (issue 12 (b)): the GP model interface (context token [x, y],
// Gaussian head), D = 64, 4 heads, b = 2, no encoder layers (the encoded context is given);
// Perceiver IO with `num_latents` latents and 6 latent layers.
ModelConfig infer_config(const std::string& method, int64_t num_latents = 8);

}  // namespace tca::bench
