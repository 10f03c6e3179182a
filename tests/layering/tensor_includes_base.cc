// Must compile with the tensor layer's include roots: base sits below tensor.
#include "base/error.h"
#include "tensor/tensor.h"
