// Modules own their parameters by name (style.md: flashlight's modules; names are what
// checkpoints store). A module registers its parameters and child modules in its constructor;
// named_parameters() lists them depth-first as "child.grandchild.param". Modules are neither
// copyable nor movable, so registered child pointers stay valid.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/variable.hpp"

namespace tca::nn {

using NamedParameters = std::vector<std::pair<std::string, Var>>;

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  NamedParameters named_parameters() const {
    NamedParameters out;
    collect("", out);
    return out;
  }
  std::vector<Var> parameters() const {
    std::vector<Var> out;
    for (auto& [name, v] : named_parameters()) out.push_back(v);
    return out;
  }
  int64_t num_parameters() const {
    int64_t n = 0;
    for (auto& [name, v] : named_parameters()) n += v.numel();
    return n;
  }
  void zero_grad() const {
    for (auto& [name, v] : named_parameters()) Var(v).zero_grad();
  }

 protected:
  Var register_parameter(const std::string& name, Tensor init) {
    params_.emplace_back(name, parameter(std::move(init)));
    return params_.back().second;
  }
  template <class M>
  M& register_module(const std::string& name, M& child) {
    children_.emplace_back(name, &child);
    return child;
  }
  template <class M>
  M& register_module(const std::string& name, std::unique_ptr<M>& child) {
    children_.emplace_back(name, child.get());
    return *child;
  }

 private:
  void collect(const std::string& prefix, NamedParameters& out) const {
    for (auto& [name, v] : params_) out.emplace_back(prefix + name, v);
    for (auto& [name, m] : children_) m->collect(prefix + name + ".", out);
  }
  NamedParameters params_;
  std::vector<std::pair<std::string, const Module*>> children_;
};

}  // namespace tca::nn
