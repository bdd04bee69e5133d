#pragma once
/// \file
/// Every layer of shrink::nn in one include.

#include "nn/init.h"
#include "nn/module.h"
#include "nn/modules/activation.h"
#include "nn/modules/basic.h"
#include "nn/modules/batchnorm.h"
#include "nn/modules/container.h"
#include "nn/modules/conv.h"
#include "nn/modules/functional.h"
#include "nn/modules/linear.h"
#include "nn/modules/pooling.h"
