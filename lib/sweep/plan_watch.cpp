#include "sweep/plan_watch.hpp"

#include <sys/stat.h>

#include <algorithm>

#include "core/error.hpp"

namespace tca::sweep {

PlanWatch::PlanWatch(const Sweep& loaded)
    : index_path_(loaded.path(SweepFiles::kIndex)), dir_(loaded.dir) {
  for (const auto& r : loaded.runs) {
    loaded_ids_.insert(r.run_id);
    on_disk_.push_back(r.run_id);
  }
  // stamp_ is left unset: the first question reads the file, in case it changed since `loaded`.
}

void PlanWatch::refresh() {
  struct stat st {};
  if (::stat(index_path_.c_str(), &st) != 0) return;  // mid-rename or gone: keep the last view
  const FileStamp now{
      static_cast<long long>(st.st_ino), static_cast<long long>(st.st_size),
      static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec};
  if (now == stamp_) return;
  try {
    const Sweep s = read_sweep(dir_);
    on_disk_.clear();
    for (const auto& r : s.runs) on_disk_.push_back(r.run_id);
    stamp_ = now;
  } catch (const Error&) {
    // Not a readable plan right now: keep the last view and read again next time.
  }
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
