#include "napi/testing/calibration.h"

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "backends/sim/sim_backend.h"
#include "napi/js_convert.h"
#include "napi/js_errors.h"
#include "sim/executor_api.h"
#include "sim/timing_model.h"

namespace trtllm_metrics::napi {
namespace {

namespace sim = trtllm_sim::executor;

// The work fields, in the order of each row of the returned Float64Array.
constexpr char const* kWorkFields[] = {"rank",       "ctxTokens",    "ctxRequests",   "ctxAttentionPairs",
                                       "genRequests", "genTokens",    "kvReadTokens",  "logitTokens",
                                       "onboardBlocks", "offloadBlocks", "loraLoads",   "kvUtilization",
                                       "anyDraft"};
constexpr std::size_t kStride = sizeof(kWorkFields) / sizeof(kWorkFields[0]);

void writeRow(double* row, int rank, sim::IterationWork const& w) {
    double const values[kStride] = {static_cast<double>(rank), static_cast<double>(w.ctxTokens),
        static_cast<double>(w.ctxRequests), w.ctxAttentionPairs, static_cast<double>(w.genRequests),
        static_cast<double>(w.genTokens), static_cast<double>(w.kvReadTokens), static_cast<double>(w.logitTokens),
        static_cast<double>(w.onboardBlocks), static_cast<double>(w.offloadBlocks), static_cast<double>(w.loraLoads),
        w.kvUtilization, w.anyDraft ? 1.0 : 0.0};
    std::copy(values, values + kStride, row);
}

sim::IterationWork readRow(double const* row) {
    sim::IterationWork w;
    w.ctxTokens = static_cast<sim::SizeType64>(row[1]);
    w.ctxRequests = static_cast<sim::SizeType64>(row[2]);
    w.ctxAttentionPairs = row[3];
    w.genRequests = static_cast<sim::SizeType64>(row[4]);
    w.genTokens = static_cast<sim::SizeType64>(row[5]);
    w.kvReadTokens = static_cast<sim::SizeType64>(row[6]);
    w.logitTokens = static_cast<sim::SizeType64>(row[7]);
    w.onboardBlocks = static_cast<sim::SizeType64>(row[8]);
    w.offloadBlocks = static_cast<sim::SizeType64>(row[9]);
    w.loraLoads = static_cast<sim::SizeType64>(row[10]);
    w.kvUtilization = row[11];
    w.anyDraft = row[12] != 0.0;
    return w;
}

int intField(Napi::Object o, char const* key) {
    auto v = optInt32(o, key);
    if (!v || *v < 1) throw Napi::RangeError::New(o.Env(), std::string(key) + " must be an integer >= 1");
    return *v;
}

}  // namespace

// simRecordWork(options, { inputLen, outputLen, numRequests }): synchronous (tests and scripts only).
Napi::Value simRecordWork(Napi::CallbackInfo const& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsObject())
        throw Napi::TypeError::New(env, "expected (options: object, workload: { inputLen, outputLen, numRequests })");
    Napi::Object workload = info[1].As<Napi::Object>();
    int const inputLen = intField(workload, "inputLen");
    int const outputLen = intField(workload, "outputLen");
    int const numRequests = intField(workload, "numRequests");
    auto config = callConverting(env, [&] { return backends::SimBackend::parse(info[0].As<Napi::Object>()); });
    config.sim.virtualClock = true;
    config.sim.recordWork = true;
    config.sim.outputLengthMode = sim::SimConfig::OutputLengthMode::kMaxTokens;
    config.sim.maxSeqLen = std::max(config.sim.maxSeqLen, inputLen + outputLen);
    config.executorConfig.setIterStatsMaxIterations(0);
    auto kv = config.executorConfig.getKvCacheConfig();
    kv.setEventBufferMaxSize(0);
    config.executorConfig.setKvCacheConfig(kv);

    return callConverting(env, [&]() -> Napi::Value {
        sim::Executor executor(config.sim, sim::ModelType::kDECODER_ONLY, config.executorConfig);
        // Every request queued before the first iteration: hold the clock while enqueueing.
        auto const start = executor.holdClock();
        std::uint32_t state = 0x9e3779b9u;
        int const vocab = config.sim.vocabSize;
        for (int i = 0; i < numRequests; ++i) {
            // Distinct random prompts: no prefix reuse between requests.
            sim::VecTokens prompt(static_cast<std::size_t>(inputLen));
            for (auto& t : prompt) {
                state = state * 1664525u + 1013904223u;
                t = static_cast<sim::TokenIdType>((state >> 8) % static_cast<std::uint32_t>(vocab));
            }
            sim::OutputConfig output;
            output.excludeInputFromOutput = true;
            (void) executor.enqueueRequest(sim::Request(std::move(prompt), outputLen, false, sim::SamplingConfig(), output));
        }
        executor.resumeClock();
        int finals = 0;
        double outputTokens = 0;
        std::string error;
        sim::Request::TimePoint last = start;
        while (finals < numRequests) {
            for (auto const& r : executor.awaitResponses(std::chrono::milliseconds(1000))) {
                if (r.hasError()) {
                    error = r.getErrorMsg();
                    ++finals;
                    continue;
                }
                auto const& result = r.getResult();
                if (result.isFinal) {
                    ++finals;
                    outputTokens += static_cast<double>(result.outputTokenIds.at(0).size());
                }
            }
        }
        last = executor.now();
        if (!error.empty()) throw std::runtime_error("a request failed: " + error);
        auto const iterations = executor.takeRecordedWork();
        std::size_t rows = 0;
        for (auto const& it : iterations) rows += it.size();
        auto work = Napi::Float64Array::New(env, rows * kStride);
        std::size_t k = 0;
        for (auto const& it : iterations)
            for (std::size_t r = 0; r < it.size(); ++r, ++k) writeRow(work.Data() + k * kStride, static_cast<int>(r), it[r]);
        auto out = Napi::Object::New(env);
        out.Set("work", work);
        out.Set("stride", Napi::Number::New(env, static_cast<double>(kStride)));
        auto fields = Napi::Array::New(env, kStride);
        for (std::size_t i = 0; i < kStride; ++i) fields.Set(static_cast<uint32_t>(i), Napi::String::New(env, kWorkFields[i]));
        out.Set("fields", fields);
        out.Set("iterations", Napi::Number::New(env, static_cast<double>(iterations.size())));
        out.Set("outputTokens", Napi::Number::New(env, outputTokens));
        // First arrival to the last token on the simulator's clock (every iteration back to back).
        out.Set("modelledMs", Napi::Number::New(env, std::chrono::duration<double, std::milli>(last - start).count()));
        out.Set("info", engineInfoToJs(env, executor));
        executor.shutdown();
        return out;
    });
}

// simPerfModelMs(options, work: Float64Array, efficiency: { compute, memory, ... }): the summed iteration times.
Napi::Value simPerfModelMs(Napi::CallbackInfo const& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsObject() || !info[1].IsTypedArray() || !info[2].IsObject())
        throw Napi::TypeError::New(env, "expected (options: object, work: Float64Array, efficiency: object)");
    auto typed = info[1].As<Napi::TypedArray>();
    if (typed.TypedArrayType() != napi_float64_array) throw Napi::TypeError::New(env, "work must be a Float64Array");
    auto work = info[1].As<Napi::Float64Array>();
    if (work.ElementLength() % kStride != 0) throw Napi::RangeError::New(env, "work is not a whole number of rows");
    auto config = callConverting(env, [&] { return backends::SimBackend::parse(info[0].As<Napi::Object>()); });
    if (!config.sim.perfModel) throw Napi::TypeError::New(env, "options.sim.perf.model is required");
    backends::efficiencyFrom(info[2].As<Napi::Object>(), config.sim.perfModel->efficiency);
    return callConverting(env, [&]() -> Napi::Value {
        sim::PerfModel const perf(*config.sim.perfModel, config.sim.attentionDp);
        sim::TimingModel const timing(config.sim, &perf, 0.0, 0.0);
        double total = 0;
        std::vector<sim::IterationWork> ranks;
        std::size_t const rows = work.ElementLength() / kStride;
        for (std::size_t k = 0; k < rows; ++k) {
            double const* row = work.Data() + k * kStride;
            if (row[0] == 0.0 && !ranks.empty()) {
                total += timing.iteration(ranks).totalMs;
                ranks.clear();
            }
            ranks.push_back(readRow(row));
        }
        if (!ranks.empty()) total += timing.iteration(ranks).totalMs;
        return Napi::Number::New(env, total);
    });
}

}  // namespace trtllm_metrics::napi
