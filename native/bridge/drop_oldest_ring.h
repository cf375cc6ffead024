#pragma once
// A bounded FIFO that never blocks its producer: when full, the oldest item is overwritten and counted.
// One mutex guards it; producers push whole batches under one lock so the per-item cost is a move.
// (Finished-request records use the specialised RecordRing.)

#include <cstdint>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

namespace trtllm_metrics::bridge {

struct StreamCountersSnapshot {
    std::uint64_t produced = 0;
    std::uint64_t delivered = 0;
    std::uint64_t dropped = 0;
    std::uint64_t queued = 0;
    std::uint64_t capacity = 0;
};

template <typename T>
class DropOldestRing {
public:
    explicit DropOldestRing(std::size_t capacity) : mSlots(capacity == 0 ? 1 : capacity) {}

    // Appends items[0..n), dropping the oldest queued items when there is no room.
    template <typename It>
    void pushBatch(It first, It last) {
        std::lock_guard<std::mutex> lock(mMutex);
        for (; first != last; ++first) pushLocked(std::move(*first));
    }

    void push(T item) {
        std::lock_guard<std::mutex> lock(mMutex);
        pushLocked(std::move(item));
    }

    // Moves every queued item into `out` (appending), counting them as delivered.
    std::size_t drainInto(std::vector<T>& out) {
        std::lock_guard<std::mutex> lock(mMutex);
        std::size_t const n = mSize;
        out.reserve(out.size() + n);
        for (std::size_t i = 0; i < n; ++i) {
            out.push_back(std::move(*mSlots[mHead]));
            mSlots[mHead].reset();
            mHead = (mHead + 1) % mSlots.size();
        }
        mSize = 0;
        mDelivered += n;
        return n;
    }

    std::size_t size() const {
        std::lock_guard<std::mutex> lock(mMutex);
        return mSize;
    }

    StreamCountersSnapshot counters() const {
        std::lock_guard<std::mutex> lock(mMutex);
        return {mProduced, mDelivered, mDropped, mSize, mSlots.size()};
    }

private:
    void pushLocked(T&& item) {
        ++mProduced;
        std::size_t const cap = mSlots.size();
        if (mSize == cap) {
            mHead = (mHead + 1) % cap;  // overwrite the oldest
            --mSize;
            ++mDropped;
        }
        mSlots[(mHead + mSize) % cap].emplace(std::move(item));
        ++mSize;
    }

    mutable std::mutex mMutex;
    std::vector<std::optional<T>> mSlots;  // optional: executor types need not be default-constructible
    std::size_t mHead = 0;
    std::size_t mSize = 0;
    std::uint64_t mProduced = 0;
    std::uint64_t mDelivered = 0;
    std::uint64_t mDropped = 0;
};

}  // namespace trtllm_metrics::bridge
