#include "sweep/plan_watch.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <exception>
#include <utility>

namespace tca::sweep {

PlanWatch::PlanWatch(const Sweep& loaded)
    : index_path_(loaded.path(SweepFiles::kIndex)), dir_(loaded.dir) {
  for (const auto& r : loaded.runs) {
    loaded_ids_.insert(r.run_id);
    on_disk_.push_back(r.run_id);
  }
  // stamp_ is left unset: the first question reads the file, in case it changed since `loaded`.
}

namespace {

// Identifies one version of the file: tca sweep plan replaces index.jsonl by a rename (a new
// inode); an editor or git may rewrite it in place (new size or time).
bool read_stamp(const std::string& path, long long& inode, long long& size, long long& mtime_ns) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  inode = static_cast<long long>(st.st_ino);
  size = static_cast<long long>(st.st_size);
  mtime_ns = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
  return true;
}

}  // namespace

void PlanWatch::refresh() {
  FileStamp now;
  if (!read_stamp(index_path_, now.inode, now.size, now.mtime_ns)) return;  // gone: keep the view
  if (now == stamp_) return;
  std::vector<std::string> ids;
  try {
    const Sweep s = read_sweep(dir_);
    for (const auto& r : s.runs) ids.push_back(r.run_id);
  } catch (const std::exception&) {  // InputError, a json type error in a line, an I/O error
    stamp_ = now;  // not a readable plan: keep the last view until the file changes again
    return;
  }
  // A file written in place (not by tca sweep plan) may have been read half-written: accept the
  // read only when the file did not change during it, and never a plan that lost every run.
  FileStamp after;
  if (!read_stamp(index_path_, after.inode, after.size, after.mtime_ns) || !(after == now)) return;
  stamp_ = now;
  if (!ids.empty()) on_disk_ = std::move(ids);
}

bool PlanWatch::still_planned(const std::string& run_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  refresh();
  return std::find(on_disk_.begin(), on_disk_.end(), run_id) != on_disk_.end();
}

std::vector<std::string> PlanWatch::added() {
  std::lock_guard<std::mutex> lock(mutex_);
  refresh();
  std::vector<std::string> out;
  for (const auto& id : on_disk_) {
    if (!loaded_ids_.count(id)) out.push_back(id);
  }
  return out;
}

}  // namespace tca::sweep
