#pragma once
// The finished-request record stream: a drop-oldest ring of fixed-size records, specialised for throughput.
// The consumer swaps the whole storage out under the lock (O(1)) and copies it into JS without holding it,
// so the producer (the response pump) is never stalled by a copy. See scripts/bench/bridge-firehose.mjs.

#include <cstdint>
#include <cstring>
#include <mutex>
#include <vector>

#include "bridge/drop_oldest_ring.h"
#include "bridge/request_record.h"

namespace trtllm_metrics::bridge {

class RecordRing {
public:
    explicit RecordRing(std::size_t capacity)
        : mCapacity(capacity == 0 ? 1 : capacity), mSlots(mCapacity), mSpare(mCapacity) {}

    template <typename It>
    void pushBatch(It first, It last) {
        std::lock_guard<std::mutex> lock(mMutex);
        for (; first != last; ++first) {
            ++mProduced;
            if (mSize == mCapacity) {
                if (++mHead == mCapacity) mHead = 0;  // overwrite the oldest
                --mSize;
                ++mDropped;
            }
            std::size_t tail = mHead + mSize;
            if (tail >= mCapacity) tail -= mCapacity;
            mSlots[tail] = *first;
            ++mSize;
        }
    }

    // Takes every queued record. `fn(first, n)` is called for up to two contiguous runs, oldest first,
    // after the lock is released. Returns the number of records taken. One consumer at a time.
    template <typename Fn>
    std::size_t drain(Fn&& fn) {
        std::size_t head, size;
        {
            std::lock_guard<std::mutex> lock(mMutex);
            head = mHead;
            size = mSize;
            if (size == 0) return 0;
            mSlots.swap(mSpare);  // mSpare now holds the records; producers continue into fresh storage
            mHead = 0;
            mSize = 0;
            mDelivered += size;
        }
        std::size_t const firstRun = std::min(size, mCapacity - head);
        fn(mSpare.data() + head, firstRun);
        if (firstRun < size) fn(mSpare.data(), size - firstRun);
        return size;
    }

    // Copies every queued record, oldest first, into `out`, which has room for capacity() records.
    std::size_t drainInto(RequestRecord* out) {
        std::size_t copied = 0;
        drain([&](RequestRecord const* first, std::size_t n) {
            std::memcpy(out + copied, first, n * sizeof(RequestRecord));
            copied += n;
        });
        return copied;
    }

    std::size_t capacity() const { return mCapacity; }

    std::size_t size() const {
        std::lock_guard<std::mutex> lock(mMutex);
        return mSize;
    }

    StreamCountersSnapshot counters() const {
        std::lock_guard<std::mutex> lock(mMutex);
        return {mProduced, mDelivered, mDropped, mSize, mCapacity};
    }

private:
    mutable std::mutex mMutex;
    std::size_t const mCapacity;
    std::vector<RequestRecord> mSlots;
    std::vector<RequestRecord> mSpare;
    std::size_t mHead = 0;
    std::size_t mSize = 0;
    std::uint64_t mProduced = 0;
    std::uint64_t mDelivered = 0;
    std::uint64_t mDropped = 0;
};

}  // namespace trtllm_metrics::bridge
