// The pictures of `tca show` (issue 22): what each query attended to, per task. Inputs are plain
// data (pixels, points, token indices) gathered by the caller from the models' inference path,
// so these layouts know nothing of models.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "viz/figure.hpp"

namespace tca::viz {

// TCA's retrieved set for one query, as context token indices: the picked leaf's tokens and each
// unpicked sibling's tokens (its region), level by level from the root.
struct RetrievalMarks {
  std::vector<int64_t> leaf;
  std::vector<std::vector<int64_t>> siblings;
};

// Image completion: the image with its context pixels, the prediction, and per chosen query the
// TCA retrieved set drawn on the image beside CA's attention map for the same query.
struct ImagePicture {
  int64_t height = 0, width = 0, channels = 1;
  std::vector<float> truth;            // [H * W * C], values in [-0.5, 0.5] (where known)
  std::vector<int64_t> context_pixel;  // per context token: its pixel (row * W + column)
  std::vector<int64_t>
      target_pixel;              // the task's target pixels: truth is known on context + targets
  std::vector<float> mean, std;  // TCA's prediction [H * W * C] (std may be empty)
  struct Query {
    int64_t pixel = 0;
    RetrievalMarks tca;
    std::vector<float>
        ca_weights;  // per context token: CA's attention (head-averaged); may be empty
  };
  std::vector<Query> queries;
  std::string title;
};
void draw_image_picture(Figure& fig, const ImagePicture& p);
Figure image_figure(const ImagePicture& p);

// GP regression: context and target points, each method's predictive mean +/- 2 std over a grid
// of x, and for one query x the context points TCA retrieved.
struct GpPicture {
  std::vector<double> context_x, context_y, target_x, target_y;
  struct Curve {
    std::string method;  // ca | tca | perceiver
    std::vector<double> x, mean, std;
  };
  std::vector<Curve> curves;
  double query_x = 0;
  RetrievalMarks tca;  // indices into context_x / context_y
  std::string title;
};
Figure gp_figure(const GpPicture& p);

// Copy task: a tokens x queries grid; cell (t, q) marks whether query q's retrieved set holds
// token t (the leaf's tokens) or a sibling region containing it.
struct CopyPicture {
  std::vector<int64_t> tokens;          // the context sequence's symbols
  std::vector<RetrievalMarks> queries;  // one per query position
  std::string title;
};
Figure copy_figure(const CopyPicture& p);

// The tree of one context set: the levels (b^l nodes each, drawn to depth `max_levels`), one
// query's path, and the policy's probabilities over the children at each level.
struct TreePicture {
  int64_t branch_factor = 2, depth = 0, leaf_size = 0, tokens = 0;
  std::vector<int64_t> path;                // picked child per level
  std::vector<std::vector<double>> policy;  // per level: pi over the b children
  std::string title;
};
Figure tree_figure(const TreePicture& p);

}  // namespace tca::viz
