// The image collections of tca.md section 6, read from disk:
// - fashion-mnist: Debian's dataset-fashion-mnist idx files (default dir kFashionMnistDir) or a
//   copy with the same names: {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz].
// - emnist: the user's copy of the "balanced" split: emnist-balanced-{train,test}-{images-idx3,
//   labels-idx1}-ubyte[.gz] in DIR or DIR/gzip; images transposed to upright.
// - celeba: a folder with list_eval_partition.txt ("<name> <partition>" lines, as shipped) and the
//   images as binary PPM (P6) or PGM (P5) files of one common size, named like the list's entries
//   with the extension .ppm/.pgm (000001.jpg -> 000001.ppm), in DIR or DIR/img_align_celeba. JPEG
//   is not decoded (no such dependency); datasets/README.md shows the conversion to 32x32 PPM.
//   Train = partitions 0 and 1, eval = partition 2.
// A missing file is an InputError naming every path that was tried.
#pragma once
#include "data/image_set.hpp"
#include "data/task_params.hpp"

namespace tca::data {

// The images of resolved image params for a split (train: training images; eval: test images),
// filtered by params.classes.
ImageSet load_image_source(const TaskParams& resolved, Split split);

}  // namespace tca::data
