#include "sim/response_queue.h"

#include <algorithm>
#include <iterator>
#include <utility>

namespace trtllm_sim::executor
{

template <class Pred>
void ResponseQueue::waitFor(std::unique_lock<std::mutex>& lock, Timeout const& timeout, Pred ready)
{
    auto const pred = [&] { return ready() || mClosed; };
    if (timeout)
    {
        mCv.wait_for(lock, *timeout, pred);
    }
    else
    {
        mCv.wait(lock, pred);
    }
}

template <class Match, class Sink>
void ResponseQueue::extractLocked(Match match, Sink sink)
{
    std::deque<Response> rest;
    for (auto& response : mResponses)
    {
        IdType const id = response.getRequestId();
        if (match(id))
        {
            sink(std::move(response));
            mCount.erase(id);
        }
        else
        {
            rest.push_back(std::move(response));
        }
    }
    mResponses.swap(rest);
}

void ResponseQueue::publish(std::vector<Response>& responses)
{
    if (responses.empty())
    {
        return;
    }
    {
        std::lock_guard<std::mutex> lock(mMutex);
        for (auto& response : responses)
        {
            ++mCount[response.getRequestId()];
            mResponses.push_back(std::move(response));
        }
    }
    responses.clear();
    mCv.notify_all();
}

std::vector<Response> ResponseQueue::takeAll(Timeout const& timeout)
{
    std::unique_lock<std::mutex> lock(mMutex);
    waitFor(lock, timeout, [this] { return !mResponses.empty(); });
    std::vector<Response> out(std::make_move_iterator(mResponses.begin()), std::make_move_iterator(mResponses.end()));
    mResponses.clear();
    mCount.clear();
    return out;
}

std::vector<Response> ResponseQueue::take(IdType requestId, Timeout const& timeout)
{
    std::unique_lock<std::mutex> lock(mMutex);
    waitFor(lock, timeout, [&] { return mCount.count(requestId) > 0; });
    std::vector<Response> out;
    extractLocked([&](IdType id) { return id == requestId; }, [&](Response&& r) { out.push_back(std::move(r)); });
    return out;
}

std::vector<std::vector<Response>> ResponseQueue::take(std::vector<IdType> const& requestIds, Timeout const& timeout)
{
    std::unordered_map<IdType, std::size_t> index;
    for (std::size_t i = 0; i < requestIds.size(); ++i)
    {
        index.emplace(requestIds[i], i);
    }
    std::vector<std::vector<Response>> out(requestIds.size());
    std::unique_lock<std::mutex> lock(mMutex);
    waitFor(lock, timeout, [&] {
        return std::any_of(requestIds.begin(), requestIds.end(), [&](IdType id) { return mCount.count(id) > 0; });
    });
    extractLocked([&](IdType id) { return index.count(id) > 0; },
        [&](Response&& r) { out[index[r.getRequestId()]].push_back(std::move(r)); });
    return out;
}

SizeType32 ResponseQueue::numReady(std::optional<IdType> const& requestId) const
{
    std::lock_guard<std::mutex> lock(mMutex);
    if (!requestId)
    {
        return static_cast<SizeType32>(mResponses.size());
    }
    auto const it = mCount.find(*requestId);
    return it == mCount.end() ? 0 : it->second;
}

void ResponseQueue::close()
{
    {
        std::lock_guard<std::mutex> lock(mMutex);
        mClosed = true;
    }
    mCv.notify_all();
}

} // namespace trtllm_sim::executor
