#pragma once
// Writes a delivery's token chunks in the layout of bridge/response_chunk.h (ChunkField): one `meta` row per
// chunk, the tokens of all chunks back to back, the perf-metrics rows of the chunks that carry them and the
// error messages. JS thread only.

#include <napi.h>

#include <cstring>
#include <vector>

#include "bridge/request_record.h"
#include "bridge/response_chunk.h"

namespace trtllm_metrics::napi {

inline Napi::Object chunksToJs(Napi::Env env, std::vector<bridge::ResponseChunk> const& chunks) {
    using namespace bridge;
    std::size_t const n = chunks.size();
    std::size_t totalTokens = 0, nPerf = 0;
    for (auto const& c : chunks) {
        totalTokens += c.tokens.size();
        nPerf += c.hasPerf ? 1 : 0;
    }
    auto meta = Napi::Float64Array::New(env, n * kChunkStride);
    auto tokens = Napi::Int32Array::New(env, totalTokens);
    auto perf = Napi::Float64Array::New(env, nPerf * kRecordStride);
    auto errors = Napi::Array::New(env);
    std::size_t tokenOffset = 0, perfRow = 0;
    uint32_t errorIndex = 0;
    for (std::size_t i = 0; i < n; ++i) {
        auto const& c = chunks[i];
        double* m = meta.Data() + i * kChunkStride;
        m[kChunkRequestId] = static_cast<double>(c.requestId);
        m[kChunkTokenOffset] = static_cast<double>(tokenOffset);
        m[kChunkTokenCount] = static_cast<double>(c.tokens.size());
        m[kChunkFlags] = (c.isFinal ? kChunkFlagFinal : 0u) | (c.hasError ? kChunkFlagError : 0u) |
                         (c.hasPerf ? kChunkFlagPerf : 0u) | (c.executorFault ? kChunkFlagExecutorFault : 0u);
        m[kChunkFinishReason] = c.finishReason;
        m[kChunkPerfRow] = -1;
        m[kChunkErrorIndex] = -1;
        m[kChunkSequenceIndex] = c.sequenceIndex;
        if (!c.tokens.empty())
            std::memcpy(tokens.Data() + tokenOffset, c.tokens.data(), c.tokens.size() * sizeof(int32_t));
        tokenOffset += c.tokens.size();
        if (c.hasPerf) {
            std::memcpy(perf.Data() + perfRow * kRecordStride, c.perf.v, sizeof(c.perf.v));
            m[kChunkPerfRow] = static_cast<double>(perfRow++);
        }
        if (c.hasError) {
            errors.Set(errorIndex, Napi::String::New(env, c.error));
            m[kChunkErrorIndex] = errorIndex++;
        }
    }
    auto o = Napi::Object::New(env);
    o.Set("meta", meta);
    o.Set("tokens", tokens);
    o.Set("perf", perf);
    o.Set("errors", errors);
    return o;
}

}  // namespace trtllm_metrics::napi
