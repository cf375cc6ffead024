#pragma once
// A bounded FIFO for data that must not be lost (the token chunks of generate() calls): when full, the
// producer (our response pump thread, never an executor thread) waits for the JS thread to drain.
// close() releases waiting producers for teardown; what they could not queue then is counted as dropped.
// Items live in a vector that the consumer swaps with its own (emptied) one: a drain moves no item and,
// once both vectors have grown, nothing is allocated.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#include "bridge/drop_oldest_ring.h"

namespace trtllm_metrics::bridge {

template <typename T>
class BackpressureQueue {
public:
    explicit BackpressureQueue(std::size_t capacity) : mCapacity(capacity == 0 ? 1 : capacity) {}

    // Queues every item, waiting for room as needed. While it waits it calls `onFull` (outside the lock) so
    // the consumer is woken to drain; it re-asks every few ms, so a wake-up lost to a race costs no more.
    // Returns false if the queue was closed meanwhile.
    template <typename OnFull>
    bool pushAll(std::vector<T>& items, OnFull&& onFull) {
        std::unique_lock<std::mutex> lock(mMutex);
        for (auto& item : items) {
            ++mProduced;
            while (!mClosed && mItems.size() >= mCapacity) {
                lock.unlock();
                onFull();
                lock.lock();
                mNotFull.wait_for(lock, std::chrono::milliseconds(5),
                                  [&] { return mClosed || mItems.size() < mCapacity; });
            }
            if (mClosed) {
                ++mDropped;
                continue;
            }
            mItems.push_back(std::move(item));
        }
        return !mClosed;
    }

    // Queues one item even if the queue is full (used once at shutdown to settle requests).
    void pushUnbounded(T item) {
        std::lock_guard<std::mutex> lock(mMutex);
        ++mProduced;
        mItems.push_back(std::move(item));
    }

    std::size_t drainInto(std::vector<T>& out) {
        std::size_t n;
        {
            std::lock_guard<std::mutex> lock(mMutex);
            n = mItems.size();
            if (out.empty()) {
                out.swap(mItems);
            } else {
                out.reserve(out.size() + n);
                for (auto& item : mItems) out.push_back(std::move(item));
            }
            mItems.clear();
            mDelivered += n;
        }
        mNotFull.notify_all();
        return n;
    }

    void close() {
        {
            std::lock_guard<std::mutex> lock(mMutex);
            mClosed = true;
        }
        mNotFull.notify_all();
    }

    StreamCountersSnapshot counters() const {
        std::lock_guard<std::mutex> lock(mMutex);
        return {mProduced, mDelivered, mDropped, mItems.size(), mCapacity};
    }

private:
    mutable std::mutex mMutex;
    std::condition_variable mNotFull;
    std::vector<T> mItems;
    std::size_t const mCapacity;
    bool mClosed = false;
    std::uint64_t mProduced = 0;
    std::uint64_t mDelivered = 0;
    std::uint64_t mDropped = 0;
};

}  // namespace trtllm_metrics::bridge
