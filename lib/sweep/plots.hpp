// Plots of a collected sweep with gnuplot (Debian gnuplot-nox; issue 18): per table, the metric
// against tokens attended (log x, one series per method and setting other than L, error bars =
// std over seeds), and per table group, the training curves (eval metric against step, one series
// per method and setting).
// Each plot is a data file and a gnuplot script (kept beside the pictures, so that a plot can be
// restyled by hand) rendered as SVG and PNG (pngcairo).
#pragma once
#include <string>
#include <vector>

#include "sweep/collect.hpp"

namespace tca::sweep {

// The gnuplot line style of each series of a plot, given its method: a method's first series
// takes the method's own style (CA 1, TCA 2, Perceiver IO 3, the same in every plot); every other
// series (another setting, an unknown method) the next of the further styles 4-10, cycling only
// after seven.
inline constexpr int kFirstFurtherStyle = 4, kFurtherStyles = 7;
std::vector<int> series_styles(const std::vector<std::string>& methods);

// Writes DIR/plots/*.{dat,gp,svg,png}; returns the files written. RuntimeFailure when gnuplot
// is missing (with the package to install) or fails (with its message).
std::vector<std::string> write_plots(const Collected& c, const std::string& plots_dir,
                                     const std::string& gnuplot);

}  // namespace tca::sweep
