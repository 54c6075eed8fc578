// Plots of a collected sweep with gnuplot (Debian gnuplot-nox; issue 18), three kinds:
// - per table, the metric against tokens attended (log x, one series per method and setting other
//   than L, error bars = std over seeds): BASE = EVAL[-GROUP]-metric-vs-tokens;
// - per eval set whose tables (its groups, e.g. copy's seq_len) span two or more context sizes N
//   (within 0.05), the latency per query against N (log x; one series per method and setting,
//   Perceiver IO's "L matched to TCA" one line; of several rows at one N the one with the most
//   seeds, ties the first table): BASE = EVAL-latency-vs-n. The GP, image and time-series sweeps
//   have one N per eval set, hence no such plot;
// - per table group, the training curves (eval metric against step, one series per method and
//   setting): BASE = curves[-GROUP].
// Each plot is a data file and a gnuplot script (kept beside the pictures, so that a plot can be
// restyled by hand: `gnuplot BASE.gp` in that directory) rendered as SVG and PNG (pngcairo). The
// pictures are written atomically: gnuplot renders to BASE.svg.part and BASE.png.part, renamed
// onto BASE.svg and BASE.png only after it exited 0, so a failed or interrupted collect leaves the
// older pictures as they were.
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
// is missing (with the package to install), fails (with its message) or writes no picture; the
// failed plot's older pictures are then left as they were, and no temp file remains.
std::vector<std::string> write_plots(const Collected& c, const std::string& plots_dir,
                                     const std::string& gnuplot);

}  // namespace tca::sweep
