// A decoder-only transformer as the performance model sees it: the dimensions of a Hugging Face config.json
// (Llama-style: grouped-query attention, a gated MLP of three matrices, untied or tied embeddings) and the
// numeric precisions of its weights and KV cache. The JS layer reads the config file (or a built-in name) and
// hands these numbers over; nothing here parses files.
#pragma once

#include "sim/types.h"

#include <cstdint>

namespace trtllm_sim::executor
{

/// Storage precision of weights or KV cache. Bytes per element: fp16/bf16 2, fp8 1, fp4 0.5 (NVFP4; the
/// block scales' 1/16 byte per element is left out, as trtllm-bench's memory estimate leaves it out).
enum class Precision
{
    kFP16 = 0,
    kBF16 = 1,
    kFP8 = 2,
    kFP4 = 3,
};

[[nodiscard]] constexpr double bytesPerElement(Precision p) noexcept
{
    switch (p)
    {
    case Precision::kFP16:
    case Precision::kBF16: return 2.0;
    case Precision::kFP8: return 1.0;
    case Precision::kFP4: return 0.5;
    }
    return 2.0;
}

[[nodiscard]] constexpr char const* precisionName(Precision p) noexcept
{
    switch (p)
    {
    case Precision::kFP16: return "fp16";
    case Precision::kBF16: return "bf16";
    case Precision::kFP8: return "fp8";
    case Precision::kFP4: return "fp4";
    }
    return "fp16";
}

/// The dimensions of config.json (num_hidden_layers, hidden_size, ...), under their C++ names.
struct ModelSpec
{
    SizeType32 numLayers{0};
    SizeType32 hiddenSize{0};
    SizeType32 numHeads{0};
    SizeType32 numKvHeads{0};
    SizeType32 headDim{0};
    SizeType32 intermediateSize{0};
    SizeType32 vocabSize{0};
    bool tieWordEmbeddings{false};

    /// Parameters of one layer's attention projections (Q, K, V, O), no biases.
    [[nodiscard]] double attentionParamsPerLayer() const noexcept
    {
        double const h = hiddenSize;
        double const q = static_cast<double>(numHeads) * headDim;
        double const kv = static_cast<double>(numKvHeads) * headDim;
        return h * q + 2.0 * h * kv + q * h;
    }

    /// Parameters of one layer's gated MLP (gate, up, down).
    [[nodiscard]] double mlpParamsPerLayer() const noexcept
    {
        return 3.0 * static_cast<double>(hiddenSize) * intermediateSize;
    }

    /// The embedding table (and the LM head, the same size).
    [[nodiscard]] double embeddingParams() const noexcept { return static_cast<double>(vocabSize) * hiddenSize; }

    /// Every parameter: the layers' matrices, the embedding, an untied LM head and the RMSNorm weights.
    [[nodiscard]] double totalParams() const noexcept
    {
        double const layers = numLayers * (attentionParamsPerLayer() + mlpParamsPerLayer() + 2.0 * hiddenSize);
        return layers + embeddingParams() * (tieWordEmbeddings ? 1.0 : 2.0) + hiddenSize;
    }
};

} // namespace trtllm_sim::executor
