#include "data/task_sampler.hpp"

#include "core/error.hpp"
#include "data/copy_task.hpp"
#include "data/gp_task.hpp"
#include "data/image_sources.hpp"
#include "data/image_task.hpp"
#include "data/timeseries_task.hpp"

namespace tca::data {

std::unique_ptr<TaskSampler> make_task_sampler(const TaskParams& params, Split split) {
  const TaskParams p = resolve_params(params);
  if (p.task == "copy") return std::make_unique<CopyTaskSampler>(p.seq_len, p.num_chars);
  if (p.task == "gp")
    return std::make_unique<GpTaskSampler>(parse_gp_kernel(p.kernel), p.max_points);
  if (p.task == "image") {
    auto images = std::make_shared<const ImageSet>(load_image_source(p, split));
    return std::make_unique<ImageTaskSampler>(images, p.max_points,
                                              image_task_info(p.source, images->channels));
  }
  // timeseries
  if (!p.path.empty()) {
    throw UsageError("--path " + p.path +
                     ": imported time series are a finite set; write them with "
                     "`tca make-dataset timeseries --path ...` and train with --train FILE.h5");
  }
  return std::make_unique<TimeseriesTaskSampler>(timeseries_classes(p), p.length, p.channels,
                                                 p.signature_seed);
}

}  // namespace tca::data
