// Plots of a collected sweep with gnuplot (Debian gnuplot-nox; issue 18): per table, the metric
// against tokens attended (log x, one series per method, error bars = std over seeds), and per
// table group, the training curves (eval metric against step, one series per method and setting).
// Each plot is a data file and a gnuplot script (kept beside the pictures, so that a plot can be
// restyled by hand) rendered as SVG and PNG (pngcairo).
#pragma once
#include <string>
#include <vector>

#include "sweep/collect.hpp"

namespace tca::sweep {

// Writes DIR/plots/*.{dat,gp,svg,png}; returns the files written. RuntimeFailure when gnuplot
// is missing (with the package to install) or fails (with its message).
std::vector<std::string> write_plots(const Collected& c, const std::string& plots_dir,
                                     const std::string& gnuplot);

}  // namespace tca::sweep
