#pragma once
// Writes a delivery's token chunks in the layout of bridge/response_chunk.h (ChunkField): one `meta` row per
// chunk, the tokens of all chunks back to back, the perf-metrics rows of the chunks that carry them and the
// error messages; `count` chunks; `logProbs` (aligned with the tokens) only in deliveries where a chunk has some. The three typed arrays are reused from delivery to delivery (grown, doubling,
// when one needs more), so a delivery allocates nothing but its small wrapper object in the steady state:
// their contents are valid during the onBatch call only (lib/engine.ts copies what it keeps). JS thread only.

#include <napi.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "bridge/request_record.h"
#include "bridge/response_chunk.h"

namespace trtllm_metrics::napi {

class ChunkBuffers {
public:
    Napi::Object write(Napi::Env env, std::vector<bridge::ResponseChunk> const& chunks) {
        using namespace bridge;
        std::size_t const n = chunks.size();
        std::size_t totalTokens = 0, nPerf = 0;
        bool anyLogProbs = false;
        for (auto const& c : chunks) {
            totalTokens += c.tokens.size();
            nPerf += c.hasPerf ? 1 : 0;
            anyLogProbs = anyLogProbs || !c.logProbs.empty();
        }
        Napi::Float64Array meta = reserve(env, mMeta, n * kChunkStride);
        Napi::Int32Array tokens = reserve(env, mTokens, totalTokens);
        Napi::Float64Array perf = reserve(env, mPerf, nPerf * kRecordStride);
        Napi::Float32Array logProbs;
        if (anyLogProbs) logProbs = reserve(env, mLogProbs, totalTokens);
        auto errors = Napi::Array::New(env);
        std::size_t tokenOffset = 0, perfRow = 0;
        uint32_t errorIndex = 0;
        for (std::size_t i = 0; i < n; ++i) {
            auto const& c = chunks[i];
            double* m = meta.Data() + i * kChunkStride;
            m[kChunkRequestId] = static_cast<double>(c.requestId);
            m[kChunkTokenOffset] = static_cast<double>(tokenOffset);
            m[kChunkTokenCount] = static_cast<double>(c.tokens.size());
            bool const hasLogProbs = !c.logProbs.empty() && c.logProbs.size() == c.tokens.size();
            m[kChunkFlags] = (c.isFinal ? kChunkFlagFinal : 0u) | (c.hasError ? kChunkFlagError : 0u) |
                             (c.hasPerf ? kChunkFlagPerf : 0u) | (hasLogProbs ? kChunkFlagLogProbs : 0u) |
                             (c.executorFault ? kChunkFlagExecutorFault : 0u);
            if (hasLogProbs)
                std::memcpy(logProbs.Data() + tokenOffset, c.logProbs.data(), c.logProbs.size() * sizeof(float));
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
        o.Set("count", Napi::Number::New(env, static_cast<double>(n)));
        o.Set("meta", meta);
        o.Set("tokens", tokens);
        o.Set("perf", perf);
        o.Set("errors", errors);
        if (anyLogProbs) o.Set("logProbs", logProbs);
        return o;
    }

    void reset() {
        mMeta.Reset();
        mTokens.Reset();
        mPerf.Reset();
        mLogProbs.Reset();
    }

private:
    // The array of `ref` when it holds `size` elements, else a new one (at least twice as large) kept instead.
    template <typename Array>
    static Array reserve(Napi::Env env, Napi::Reference<Array>& ref, std::size_t size) {
        if (!ref.IsEmpty()) {
            Array a = ref.Value();
            if (a.ElementLength() >= size) return a;
            size = std::max(size, 2 * a.ElementLength());
        }
        Array a = Array::New(env, std::max<std::size_t>(size, 256));
        ref = Napi::Persistent(a);
        return a;
    }

    Napi::Reference<Napi::Float64Array> mMeta, mPerf;
    Napi::Reference<Napi::Int32Array> mTokens;
    Napi::Reference<Napi::Float32Array> mLogProbs;
};

}  // namespace trtllm_metrics::napi
