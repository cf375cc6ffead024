#include "sim/scheduler.h"

#include <algorithm>

namespace trtllm_sim::executor
{

Scheduler::Scheduler(Limits const& limits)
    : mLimits(limits)
{
}

SizeType32 Scheduler::genCost(LlmRequest const& r) const
{
    SizeType32 const remaining = r.maxTokens - r.numGenerated();
    SizeType32 const draft = std::max<SizeType32>(0, std::min(mLimits.draftLength, remaining - 1));
    return 1 + draft;
}

SizeType32 Scheduler::stepBlocks(LlmRequest const& r, KvCacheManager const& kv, SizeType32 chunk) const
{
    if (r.stage == RequestStage::kGENERATION_IN_PROGRESS)
    {
        // The step computes the KV of the newest token and of accepted drafts: at most genCost tokens.
        return kv.blocksNeeded(r.kv, static_cast<SizeType32>(r.tokens.size()) - 1 + genCost(r));
    }
    return kv.blocksNeeded(r.kv, r.prefillPos + chunk);
}

SizeType64 Scheduler::reservedBlocks(std::vector<LlmRequest*> const& active, KvCacheManager const& kv)
{
    SizeType64 reserved = kv.getNumUsedBlocks();
    for (auto const* r : active)
    {
        reserved += std::max<SizeType64>(0, r->maxBlocks - static_cast<SizeType64>(r->kv.blocks.size()));
    }
    return reserved;
}

SizeType32 Scheduler::admit(std::deque<LlmRequest*>& waiting, std::vector<LlmRequest*>& active, KvCacheManager& kv,
    LoraCache& lora, std::vector<LlmRequest*>& admitted)
{
    SizeType32 loads = 0;
    if (waiting.empty())
    {
        return loads;
    }
    bool const maxUtilization = mLimits.policy == CapacitySchedulerPolicy::kMAX_UTILIZATION;
    if (mLimits.policy == CapacitySchedulerPolicy::kSTATIC_BATCH && !active.empty())
    {
        // Static batching: a new batch starts only when the previous one has drained.
        return loads;
    }

    // Blocks still available to newcomers after what admitted requests may claim.
    SizeType64 available = 0;
    if (maxUtilization)
    {
        // Only the next step of running requests is protected; later growth may pause the newest ones.
        SizeType64 stepNeed = 0;
        for (auto const* r : active)
        {
            SizeType32 const chunk = std::min(r->contextLen - r->prefillPos, mLimits.maxNumTokens);
            stepNeed += stepBlocks(*r, kv, r->stage == RequestStage::kGENERATION_IN_PROGRESS ? 0 : chunk);
        }
        available = static_cast<SizeType64>(kv.getNumFreeBlocks()) - stepNeed;
    }
    else
    {
        available = static_cast<SizeType64>(kv.getMaxNumBlocks()) - reservedBlocks(active, kv);
    }

    SizeType32 const tpb = mLimits.tokensPerBlock;
    while (!waiting.empty() && static_cast<SizeType32>(active.size()) < mLimits.maxBatchSize)
    {
        LlmRequest* r = waiting.front();
        if (kv.getEnableBlockReuse())
        {
            KvCacheManager::computeBlockHashes(r->kv, r->tokens.data(), r->contextLen, tpb);
        }
        SizeType32 const inUse = kv.findReusable(r->kv, r->contextLen, mMatched);
        // Blocks drawn from the free pool: everything except blocks shared with running requests
        // (reused cached blocks that nobody references leave the free pool too).
        SizeType32 const blocksWanted = maxUtilization ? (r->contextLen + tpb - 1) / tpb : r->maxBlocks;
        SizeType64 const need = blocksWanted - inUse;
        if (need > available || (r->loraTaskId && !lora.canAcquire(*r->loraTaskId)))
        {
            break; // FCFS: the head of the queue blocks the ones behind it
        }
        if (r->loraTaskId)
        {
            loads += lora.acquire(*r->loraTaskId) ? 1 : 0;
            r->loraPinned = true;
        }
        kv.admit(r->kv, mMatched, r->contextLen);
        r->prefillPos = static_cast<SizeType32>(mMatched.size()) * tpb;
        r->stage = RequestStage::kCONTEXT_IN_PROGRESS;
        r->paused = false;
        available -= need;
        waiting.pop_front();
        active.push_back(r);
        admitted.push_back(r);
    }
    return loads;
}

MicroBatch Scheduler::formMicroBatch(std::vector<LlmRequest*> const& active) const
{
    MicroBatch batch;
    SizeType32 budget = mLimits.maxNumTokens;
    SizeType32 count = 0;
    for (auto* r : active)
    {
        r->chunk = 0;
        r->scheduled = false;
    }
    for (auto* r : active)
    {
        if (r->stage != RequestStage::kGENERATION_IN_PROGRESS || count >= mLimits.maxBatchSize)
        {
            continue;
        }
        SizeType32 const cost = genCost(*r);
        if (cost > budget)
        {
            continue;
        }
        budget -= cost;
        batch.numGenTokens += cost;
        r->scheduled = true;
        ++count;
        batch.generation.push_back(r);
    }
    SizeType32 const tpb = mLimits.tokensPerBlock;
    for (auto* r : active)
    {
        if (r->stage != RequestStage::kCONTEXT_IN_PROGRESS)
        {
            continue;
        }
        if (count >= mLimits.maxBatchSize || budget <= 0)
        {
            break;
        }
        SizeType32 const remaining = r->contextLen - r->prefillPos;
        SizeType32 chunk = 0;
        if (mLimits.enableChunkedContext)
        {
            chunk = std::min(remaining, budget);
            if (chunk < remaining)
            {
                // Intermediate chunks are whole blocks, unless the budget itself is below one block.
                SizeType32 const aligned = chunk - chunk % tpb;
                if (aligned > 0)
                {
                    chunk = aligned;
                }
                else if (mLimits.maxNumTokens >= tpb)
                {
                    chunk = 0;
                }
            }
        }
        else if (remaining <= budget)
        {
            chunk = remaining;
        }
        if (chunk <= 0)
        {
            break; // FCFS within the context phase
        }
        r->chunk = chunk;
        r->scheduled = true;
        budget -= chunk;
        batch.numCtxTokens += chunk;
        ++count;
        batch.context.push_back(r);
    }
    return batch;
}

void Scheduler::fitBlocks(MicroBatch& batch, std::vector<LlmRequest*>& active, std::deque<LlmRequest*>& waiting,
    KvCacheManager& kv, LoraCache& lora, std::vector<LlmRequest*>& paused) const
{
    if (mLimits.policy != CapacitySchedulerPolicy::kMAX_UTILIZATION)
    {
        return;
    }
    auto const stepNeed = [&] {
        SizeType64 need = 0;
        for (auto const* r : batch.generation)
        {
            need += stepBlocks(*r, kv, 0);
        }
        for (auto const* r : batch.context)
        {
            need += stepBlocks(*r, kv, r->chunk);
        }
        return need;
    };
    while (active.size() > 1 && stepNeed() > kv.getNumFreeBlocks())
    {
        LlmRequest* victim = active.back();
        active.pop_back();
        if (victim->scheduled)
        {
            auto& list = victim->stage == RequestStage::kGENERATION_IN_PROGRESS ? batch.generation : batch.context;
            list.erase(std::remove(list.begin(), list.end(), victim), list.end());
            if (victim->stage == RequestStage::kGENERATION_IN_PROGRESS)
            {
                batch.numGenTokens -= genCost(*victim);
            }
            else
            {
                batch.numCtxTokens -= victim->chunk;
            }
        }
        kv.release(victim->kv);
        if (victim->loraPinned)
        {
            lora.release(*victim->loraTaskId);
            victim->loraPinned = false;
        }
        // Recompute everything so far when it resumes: its context becomes prompt + generated tokens.
        victim->stage = RequestStage::kQUEUED;
        victim->contextLen = static_cast<SizeType32>(victim->tokens.size());
        victim->prefillPos = 0;
        victim->chunk = 0;
        victim->scheduled = false;
        victim->paused = true;
        ++victim->numPauses;
        waiting.push_front(victim);
        paused.push_back(victim);
    }
}

} // namespace trtllm_sim::executor
