#include "data/dataset_generation.hpp"

#include <sys/stat.h>

#include <memory>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "data/image_source_file.hpp"
#include "data/image_sources.hpp"
#include "data/image_task.hpp"
#include "data/task_file_writer.hpp"
#include "data/task_sampler.hpp"
#include "data/timeseries_task.hpp"

namespace tca::data {

namespace {

int64_t checked_count(int64_t requested, int64_t available, const std::string& what) {
  if (requested < 0) return available;
  if (requested == 0) throw UsageError("--count 0: expected at least 1");
  if (requested > available) {
    throw UsageError("--count " + std::to_string(requested) + ": expected at most " +
                     std::to_string(available) + " (the " + what + " available)");
  }
  return requested;
}

// Streams `count` tasks, in batches, from `next(batch, tasks)` into a task file at `out`.
GenerationResult write_tasks(const std::string& out, const TaskInfo& info,
                             const AttributeList& attrs, int64_t count, int64_t batch_size,
                             const std::function<Batch(int64_t, int64_t)>& next,
                             const ProgressFn& progress) {
  GenerationResult result;
  result.layout = kLayoutTasks;
  write_atomically(out, [&](const std::string& tmp) {
    TaskFileWriter writer(tmp, info, attrs);
    for (int64_t j = 0, done = 0; done < count; ++j) {
      const int64_t tasks = std::min(batch_size, count - done);
      writer.append(next(j, tasks));
      done += tasks;
      result.batches = j + 1;
      if (progress) progress(done, count);
    }
    result.tasks = writer.num_tasks();
    result.content_hash = writer.finish();
  });
  return result;
}

}  // namespace

GenerationResult generate_dataset(const GenerationRequest& request, const ProgressFn& progress) {
  const TaskParams p = resolve_params(request.params);
  if (request.out.empty()) throw UsageError("--out FILE.h5 is required");
  check_output_file(request.out, "--out");  // a directory, device or FIFO: refused before any work
  if (request.batch_size < 1)
    throw UsageError("--batch-size " + std::to_string(request.batch_size) + ": expected >= 1");
  AttributeList attrs = generator_attributes(p);
  attrs.emplace_back("split", std::string(split_name(request.split)));
  attrs.emplace_back("seed", request.seed);
  attrs.emplace_back("batch_size", request.batch_size);
  Rng rng(static_cast<uint64_t>(request.seed));

  if (p.task == "image") {
    ImageSet all = load_image_source(p, request.split);
    const int64_t count = checked_count(
        request.count, all.size(),
        p.source + " " + split_name(request.split) + " images of classes " + p.classes);
    auto images = std::make_shared<const ImageSet>(first_images(all, count));
    const TaskInfo info = image_task_info(p.source, images->channels);
    attrs.emplace_back("count", count);
    if (request.split == Split::train) {
      GenerationResult result;
      result.layout = kLayoutImages;
      result.tasks = count;
      write_atomically(request.out, [&](const std::string& tmp) {
        result.content_hash = write_image_source(tmp, *images, info, attrs);
      });
      if (progress) progress(count, count);
      return result;
    }
    ImageTaskSampler sampler(images, p.max_points, info);
    return write_tasks(
        request.out, info, attrs, count, request.batch_size,
        [&](int64_t j, int64_t tasks) {
          std::vector<int64_t> indices(static_cast<size_t>(tasks));
          for (int64_t i = 0; i < tasks; ++i)
            indices[static_cast<size_t>(i)] = j * request.batch_size + i;
          return sampler.tasks_for_images(indices, rng);
        },
        progress);
  }

  if (p.task == "timeseries" && !p.path.empty()) {
    TimeseriesData data = import_timeseries(p.path);
    const int64_t count = checked_count(request.count, static_cast<int64_t>(data.sequences.size()),
                                        "sequences in " + p.path);
    data.sequences.resize(static_cast<size_t>(count));
    const std::vector<Batch> batches = timeseries_batches(data, request.batch_size);
    attrs.emplace_back("count", count);
    size_t next_batch = 0;
    GenerationResult result;
    result.layout = kLayoutTasks;
    write_atomically(request.out, [&](const std::string& tmp) {
      TaskFileWriter writer(tmp, timeseries_task_info(data.num_classes, data.channels), attrs);
      for (; next_batch < batches.size(); ++next_batch) {
        writer.append(batches[next_batch]);
        if (progress) progress(writer.num_tasks(), count);
      }
      result.tasks = writer.num_tasks();
      result.batches = static_cast<int64_t>(batches.size());
      result.content_hash = writer.finish();
    });
    return result;
  }

  if (request.count < 1) {
    throw UsageError("--count N is required for task " + p.task +
                     " (the number of tasks to generate, >= 1)");
  }
  attrs.emplace_back("count", request.count);
  std::unique_ptr<TaskSampler> sampler = make_task_sampler(p, request.split);
  return write_tasks(
      request.out, sampler->info(), attrs, request.count, request.batch_size,
      [&](int64_t, int64_t tasks) { return sampler->sample(tasks, rng); }, progress);
}

}  // namespace tca::data
