// Checkpoints (conventions.md "Run directories": runs/NAME/checkpoint.h5): everything a run needs
// to continue bit for bit, in one HDF5 file written through a temp file and a rename.
//
// Layout (format "tca-checkpoint", format_version 1; all names are parameter names as
// nn::Module::named_parameters() gives them, e.g. "encoder.layer0.weight"):
//   /                        attrs: format, format_version, step (int64), config (string, the
//                            run's JSON config, free-form), parameters_hash (parameter_hash.hpp),
//                            optimizer ("adam" or "none")
//   /parameters/<name>       float32, the parameter's shape
//   /optimizer               attrs: beta1, beta2, eps, weight_decay (float64, for the record)
//   /optimizer/exp_avg/<name>, /optimizer/exp_avg_sq/<name>   float32, the parameter's shape
//   /optimizer/step/<name>   int64 0-d: steps this parameter has taken
//   /rng/<name>              int64 [4]: a tca::Rng state, its uint64 words stored bit for bit
// The file is written with object time tracking off, so the same content gives the same bytes.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/rng.hpp"
#include "core/shape.hpp"
#include "nn/module.hpp"
#include "train/adam.hpp"

namespace tca {

// What a checkpoint holds besides the parameters and the optimiser state.
struct TrainingState {
  int64_t step = 0;                              // optimiser steps completed
  std::map<std::string, Rng::State> rng_states;  // by name, e.g. "model" (dropout), "data"
  std::string config_json;                       // free-form; stored as given
  std::map<std::string, int64_t> counters;       // by name, e.g. a file sampler's position
};

// What a checkpoint file says about itself, read without a model.
struct CheckpointInfo {
  std::string path;
  TrainingState state;
  std::string parameters_hash;                            // as stored
  std::string optimizer;                                  // "adam" or "none"
  std::vector<std::pair<std::string, Shape>> parameters;  // names (sorted) and shapes as stored

  // The named generator state; InputError naming the file and "/rng/<name>" when absent.
  Rng::State rng_state(const std::string& name) const;
};

// Writes `params`, the optimiser's state (when `optimizer` is not null) and `state` to `path`
// atomically (core/atomic_file.hpp): on any failure the temp file is removed and an existing
// checkpoint at `path` is untouched. RuntimeFailure (exit 1) when the file cannot be written, a
// name is empty, contains '/' or appears twice.
void save_checkpoint(const std::string& path, const nn::NamedParameters& params,
                     const Adam* optimizer, const TrainingState& state);

// Reads the header, the RNG states and the parameter names and shapes; no values.
// InputError when the file is not a readable tca checkpoint of a known format version.
CheckpointInfo read_checkpoint_info(const std::string& path);

// Loads the parameter values into `params` and, when `optimizer` is not null, the optimiser
// state into it; returns the file's info. Every name and shape is checked before anything is
// changed: InputError (exit 2) naming the file and the first parameter that the model has and
// the file lacks, that the file has and the model lacks, or whose shape differs (both shapes
// given), likewise for the optimiser state; and when the values do not match the stored
// parameters_hash. On any error nothing is modified.
CheckpointInfo load_checkpoint(const std::string& path, const nn::NamedParameters& params,
                               Adam* optimizer);

}  // namespace tca
