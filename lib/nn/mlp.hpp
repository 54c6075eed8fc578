// mlp(in, hidden, out, depth) of tca.md 1: Linear(in, hidden), then (act, Linear(hidden, hidden))
// depth-2 times, then act, Linear(hidden, out); depth counts the Linear layers. Parameters are
// named layer0, layer1, ... (the official Sequential indices 0, 2, 4, ...).
#pragma once
#include <memory>
#include <vector>

#include "nn/linear.hpp"

namespace tca::nn {

enum class Activation { relu, elu };

class Mlp : public Module {
 public:
  Mlp(int64_t in, int64_t hidden, int64_t out, int depth, Activation act, Rng& rng);
  Var operator()(const Var& x) const;
  const Linear& layer(size_t i) const { return *layers_[i]; }
  size_t depth() const { return layers_.size(); }

 private:
  Activation act_;
  std::vector<std::unique_ptr<Linear>> layers_;
};

}  // namespace tca::nn
