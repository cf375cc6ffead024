#pragma once
// The `trtllm` backend: JS options -> (engine directory, ExecutorConfig); the Executor (which loads the
// TensorRT engine, seconds) is built on a worker thread after initTrtLlmPlugins() ran once per process.

#include <napi.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "napi/config_from_js.h"
#include "napi/js_options.h"
#include "backends/trtllm/trtllm_api.h"

namespace trtllm_metrics::backends {

struct TrtllmBackend {
    using Api = TrtllmApi;
    static constexpr char const* kName = "trtllm";
    static constexpr char const* kClassName = "TrtllmEngine";

    struct Config {
        std::string engineDir;
        tensorrt_llm::executor::ExecutorConfig executorConfig;
        std::size_t eventBufferMaxSize = 0;
    };

    static Config parse(Napi::Object options) {
        Config c;
        auto dir = napi::optString(options, "engineDir");
        if (!dir || dir->empty()) throw Napi::TypeError::New(options.Env(), "engineDir is required for backend trtllm");
        std::error_code ec;
        if (!std::filesystem::is_directory(*dir, ec))
            throw Napi::Error::New(options.Env(), "engineDir does not exist or is not a directory: " + *dir);
        c.engineDir = *dir;
        c.executorConfig = napi::executorConfigFrom<Api>(options);
        c.eventBufferMaxSize = napi::eventBufferMaxSizeFrom(options).value_or(0);
        return c;
    }

    static std::size_t eventBufferCapacity(Config const& c) { return c.eventBufferMaxSize; }

    // Worker thread. TensorRT-LLM reports failures as exceptions derived from std::exception.
    static std::unique_ptr<Api::Executor> create(Config const& c);
};

// Defined in trtllm_engine.cc: the JS class over Bridge<TrtllmApi>.
Napi::Function defineTrtllmEngine(Napi::Env env);

}  // namespace trtllm_metrics::backends
