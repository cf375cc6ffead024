// The single include of the simulated executor API: everything the bridge needs, in namespace
// trtllm_sim::executor (and trtllm_sim::runtime / trtllm_sim::common), mirroring tensorrt_llm.
#pragma once

#include "sim/config.h"
#include "sim/executor.h"
#include "sim/kv_cache_events.h"
#include "sim/request.h"
#include "sim/response.h"
#include "sim/stats.h"
#include "sim/types.h"
