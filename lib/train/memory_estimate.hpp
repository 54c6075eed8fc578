// Up-front memory estimates (issue 20, "No upper bounds"): a configuration whose model, training
// step or data generator cannot fit in this machine's memory is refused before anything is
// created (no run directory, no output file), with the options that size it and the estimate,
// instead of ending in "out of memory allocating N bytes", std::bad_alloc or swapping after
// several GB. The estimates are deliberately rough lower bounds (the dominant tensors only): they
// exist to stop configurations that are off by orders of magnitude, never to refuse one that fits.
#pragma once
#include <cstdint>
#include <string>

#include "models/model_config.hpp"

namespace tca {

// Bytes this process may use: the smallest of the physical memory and the address-space and
// data-segment limits (ulimit -v / -d).
int64_t memory_budget_bytes();

// "1.5 GB", "830 MB", "12 kB" (decimal units).
std::string bytes_text(double bytes);

// The model's parameter values alone (inference: tca eval, check-reference).
double model_parameter_bytes(const ModelConfig& config);

// Parameters (value, gradient and both Adam moments) plus the activations a training step keeps
// for the backward pass, for `batch_size` tasks of at most `points_per_task` rows each.
double training_step_bytes(const ModelConfig& config, int64_t batch_size, int64_t points_per_task);

// The GP generator's covariance matrix and its Cholesky factor (float64, P x P each).
double gp_generator_bytes(int64_t max_points);

// UsageError (exit 2) when `bytes` exceeds memory_budget_bytes(): "<what> needs an estimated
// <bytes>, more than the <budget> this process may use (<options>)". `options` names the options
// that size it with their values, e.g. "--d-model 65536, --batch-size 16".
void require_memory(double bytes, const std::string& what, const std::string& options);

}  // namespace tca
