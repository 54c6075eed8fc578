// The mode of one forward pass (style.md: flashlight's modules carry train()/eval(); ours are
// const and shared, so the mode travels with the call instead): training or inference, and in
// training the generator that dropout and TCA's path sampling draw from (tca.md 1, 4.3).
// Inference draws nothing; its context still hands ops a generator, one that is never advanced,
// so no caller has to make up an unused one.
#pragma once
#include "core/rng.hpp"

namespace tca::nn {

class ForwardContext {
 public:
  // Dropout on, TCA samples its path: every random draw comes from `rng`, in call order.
  static ForwardContext training(Rng& rng) { return ForwardContext(&rng); }
  // Dropout off, greedy descent, nothing drawn.
  static ForwardContext inference() { return ForwardContext(nullptr); }

  bool is_training() const { return rng_ != nullptr; }
  // The generator ops::dropout and friends take; in inference they never draw from it.
  Rng& rng() const { return rng_ ? *rng_ : idle_; }

 private:
  explicit ForwardContext(Rng* rng) : rng_(rng) {}
  Rng* rng_;
  mutable Rng idle_{0};  // handed out in inference only, where no op draws
};

}  // namespace tca::nn
