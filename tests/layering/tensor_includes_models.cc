// Must NOT compile with the tensor layer's include roots: tensor sits below models.
#include "models/model.h"
