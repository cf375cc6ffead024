// Throughput of the simulated executor on the virtual clock: how many simulated tokens it produces per
// real second with a fixed number of requests in flight (default 256), while a second thread drains the
// iteration stats and KV events the way the bridge does.
//
// usage: sim_throughput [--requests N] [--concurrency C] [--prompt P] [--max-tokens M]
//                       [--streaming] [--no-events] [--perf-metrics] [--perf-model] [--attention-dp N]
//
// --perf-model times iterations with the performance model (an 8B Llama-shaped model, fp8 on one H100) instead
// of the configured latencies; --attention-dp splits the engine into N ranks (the concurrency is per engine).
#include "sim/executor_api.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace sim = trtllm_sim::executor;

namespace
{

struct Options
{
    int requests = 4096;
    int concurrency = 256;
    int prompt = 256;
    int maxTokens = 256;
    bool streaming = false;
    bool events = true;
    bool perfMetrics = true;
    bool perfModel = false;
    int attentionDp = 1;
};

Options parse(int argc, char** argv)
{
    Options o;
    for (int i = 1; i < argc; ++i)
    {
        std::string const a = argv[i];
        auto next = [&]() -> int {
            if (i + 1 >= argc)
            {
                std::fprintf(stderr, "missing value after %s\n", a.c_str());
                std::exit(2);
            }
            return std::atoi(argv[++i]);
        };
        if (a == "--requests")
            o.requests = next();
        else if (a == "--concurrency")
            o.concurrency = next();
        else if (a == "--prompt")
            o.prompt = next();
        else if (a == "--max-tokens")
            o.maxTokens = next();
        else if (a == "--streaming")
            o.streaming = true;
        else if (a == "--no-events")
            o.events = false;
        else if (a == "--no-perf-metrics")
            o.perfMetrics = false;
        else if (a == "--perf-model")
            o.perfModel = true;
        else if (a == "--attention-dp")
            o.attentionDp = next();
        else
        {
            std::fprintf(stderr,
                "usage: %s [--requests N] [--concurrency C] [--prompt P] [--max-tokens M] [--streaming] "
                "[--no-events] [--no-perf-metrics] [--perf-model] [--attention-dp N]\n",
                argv[0]);
            std::exit(2);
        }
    }
    return o;
}

} // namespace

int main(int argc, char** argv)
{
    Options const opt = parse(argc, argv);

    sim::SimConfig simConfig;
    simConfig.virtualClock = true;
    simConfig.outputLengthMode = sim::SimConfig::OutputLengthMode::kMaxTokens;
    simConfig.maxSeqLen = opt.prompt + opt.maxTokens;
    int const blocksPerRequest = (opt.prompt + opt.maxTokens + simConfig.tokensPerBlock - 1) / simConfig.tokensPerBlock;
    simConfig.numKvBlocks = blocksPerRequest * opt.concurrency + 1024;
    simConfig.attentionDp = opt.attentionDp;
    if (opt.perfModel)
    {
        sim::PerfModelConfig perf;
        perf.model.numLayers = 32;
        perf.model.hiddenSize = 4096;
        perf.model.numHeads = 32;
        perf.model.numKvHeads = 8;
        perf.model.headDim = 128;
        perf.model.intermediateSize = 14336;
        perf.model.vocabSize = 128256;
        perf.weights = sim::Precision::kFP8;
        perf.tp = opt.attentionDp; // attention DP runs its ranks on the tensor-parallel GPUs
        simConfig.perfModel = perf;
    }

    sim::ExecutorConfig config;
    config.setMaxBatchSize(opt.concurrency);
    config.setMaxNumTokens(8192);
    sim::KvCacheConfig kv;
    kv.setEnableBlockReuse(true);
    // The same KV capacity with either timing model.
    kv.setMaxTokens(simConfig.numKvBlocks * simConfig.tokensPerBlock);
    kv.setEventBufferMaxSize(opt.events ? 100000 : 0);
    config.setKvCacheConfig(kv);

    sim::Executor executor(simConfig, sim::ModelType::kDECODER_ONLY, config);

    // The consumer side of stats and events, as the bridge runs it.
    std::atomic<bool> done{false};
    std::atomic<long long> statsSeen{0};
    std::atomic<long long> eventsSeen{0};
    auto eventManager = executor.getKVCacheEventManager();
    std::thread drainer([&] {
        while (!done.load())
        {
            statsSeen += static_cast<long long>(executor.getLatestIterationStats().size());
            if (eventManager)
            {
                eventsSeen += static_cast<long long>((*eventManager)->getLatestEvents(std::chrono::milliseconds(5)).size());
            }
            else
            {
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
        }
    });

    // Prompts: a shared 64-token system prefix, then request-specific tokens.
    auto makeRequest = [&](int n) {
        sim::VecTokens prompt(static_cast<std::size_t>(opt.prompt));
        for (int i = 0; i < opt.prompt; ++i)
        {
            prompt[static_cast<std::size_t>(i)] = i < 64 ? 100 + i : static_cast<sim::TokenIdType>((n * 7919 + i * 31) % 30000);
        }
        sim::OutputConfig out;
        out.excludeInputFromOutput = true;
        out.returnPerfMetrics = opt.perfMetrics;
        return sim::Request(std::move(prompt), opt.maxTokens, opt.streaming, sim::SamplingConfig(), out);
    };

    auto const simStart = executor.now();
    auto const wallStart = std::chrono::steady_clock::now();
    int enqueued = 0;
    int finished = 0;
    long long tokens = 0;
    for (; enqueued < opt.concurrency && enqueued < opt.requests; ++enqueued)
    {
        (void) executor.enqueueRequest(makeRequest(enqueued));
    }
    while (finished < opt.requests)
    {
        auto responses = executor.awaitResponses(std::chrono::milliseconds(100));
        for (auto const& response : responses)
        {
            if (response.hasError())
            {
                std::fprintf(stderr, "error response: %s\n", response.getErrorMsg().c_str());
                return 1;
            }
            auto const& result = response.getResult();
            tokens += static_cast<long long>(result.outputTokenIds.at(0).size());
            if (result.isFinal)
            {
                ++finished;
                if (enqueued < opt.requests)
                {
                    (void) executor.enqueueRequest(makeRequest(enqueued++));
                }
            }
        }
    }
    auto const wallEnd = std::chrono::steady_clock::now();
    auto const simEnd = executor.now();
    done = true;
    drainer.join();
    executor.shutdown();

    double const wallS = std::chrono::duration<double>(wallEnd - wallStart).count();
    double const simS = std::chrono::duration<double>(simEnd - simStart).count();
    std::printf("requests=%d concurrency=%d prompt=%d maxTokens=%d streaming=%d events=%d\n", opt.requests,
        opt.concurrency, opt.prompt, opt.maxTokens, opt.streaming ? 1 : 0, opt.events ? 1 : 0);
    std::printf("generated tokens: %lld in %.3f s wall (%.3f s on the virtual clock)\n", tokens, wallS, simS);
    std::printf("simulator throughput: %.0f simulated tokens/s (wall clock)\n", static_cast<double>(tokens) / wallS);
    std::printf("modelled engine throughput: %.0f tokens/s (virtual clock)\n", static_cast<double>(tokens) / simS);
    std::printf("iteration stats drained: %lld, KV events drained: %lld\n", statsSeen.load(), eventsSeen.load());
    return 0;
}
