#include "models/tca_index.hpp"

namespace tca {

int64_t TcaIndex::bytes() const {
  int64_t n = 0;
  for (const Tensor* t : {&memory, &memory_mask, &keys, &values})
    if (t->defined()) n += t->numel() * 4;
  return n;
}

}  // namespace tca
