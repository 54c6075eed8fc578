// What a running `sweep run` knows about a re-plan of its sweep: `tca sweep plan` may run again
// while a runner works (a grid extended, or a budget replaced with --drop-unstarted, which drops
// never-started runs and renumbers the rest). The runner holds the plan it read at its start; a
// PlanWatch reads DIR/index.jsonl again whenever the file changed, so that the runner does not
// start a run the plan no longer lists, and can say which planned runs it does not know.
#pragma once
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "sweep/sweep_plan.hpp"

namespace tca::sweep {

class PlanWatch {
 public:
  // `loaded`: the plan as the runner read it (its run ids are the ones it knows).
  explicit PlanWatch(const Sweep& loaded);
  PlanWatch(const PlanWatch&) = delete;
  PlanWatch& operator=(const PlanWatch&) = delete;

  // Whether the plan on disk still lists `run_id`. A plan that cannot be read (an index.jsonl
  // edited by hand into a bad state), one that changed while it was read, or one without runs
  // keeps the last view read: the run goes ahead.
  bool still_planned(const std::string& run_id);
  // Run ids the plan on disk lists and the loaded plan does not, in index order.
  std::vector<std::string> added();

 private:
  void refresh();  // under mutex_

  std::string index_path_;
  std::string dir_;
  std::set<std::string> loaded_ids_;
  std::vector<std::string> on_disk_;  // run ids in index order, as last read
  struct FileStamp {
    long long inode = -1, size = -1, mtime_ns = -1;
    bool operator==(const FileStamp& o) const {
      return inode == o.inode && size == o.size && mtime_ns == o.mtime_ns;
    }
  } stamp_;  // of the file last read; inode -1 before the first read
  std::mutex mutex_;
};

}  // namespace tca::sweep
