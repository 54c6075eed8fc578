// The copy task (tca.md section 6): context = SOS then T/2 - 1 symbols drawn uniformly from
// 2..num_chars+1, one-hot of width num_chars + 2; targets = the symbols reversed, then EOS; queries
// are all-zero rows told apart only by their positional encoding.
#pragma once
#include "data/task_sampler.hpp"

namespace tca::data {

constexpr int32_t kCopySos = 0;
constexpr int32_t kCopyEos = 1;
constexpr int32_t kCopyFirstSymbol = 2;

class CopyTaskSampler : public TaskSampler {
 public:
  CopyTaskSampler(int64_t seq_len, int64_t num_chars);
  // xc one-hot [B, T/2, C+2], xt zeros [B, T/2, C+2], labels [B, T/2]; yc, yt undefined.
  Batch sample(int64_t batch_size, Rng& rng) override;
  TaskInfo info() const override;

 private:
  int64_t seq_len_, num_chars_;
};

}  // namespace tca::data
