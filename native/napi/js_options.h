#pragma once
// Reading JS option objects in C++: type conversion only.
//
// What this layer checks, and why. lib/engine-options.ts validates every option first, against one table that
// is the single source of ranges, and names the bad one. The executor checks its own configuration too (the
// simulator's validateConfig, TensorRT-LLM's setters and constructor), and its exceptions reach JS as errors
// with a code (napi/engine_wrap.h). So the N-API layer does not restate ranges; it checks only what keeps a
// direct call into the addon (tests, a bypassed TS layer) from crashing or invoking undefined behaviour:
//   - the JS type of each value (TypeError);
//   - a number is finite, and one cast to an integer type is an integer that fits it (int32; [0, 2^53] for the
//     64-bit unsigned values and sizes): an out-of-range floating-to-integer cast is undefined behaviour;
//   - a number cast to float fits a float, for the same reason;
//   - durations in ms fit int32, so that the clock arithmetic of a wait (now + timeout, in ns) cannot overflow;
//   - sizes are non-negative, and the bridge's queue capacities are bounded, because they are allocated up front;
//   - token ids are 32-bit integers;
//   - strings that select an enum name one of its values.
// A RangeError from here means "cannot be represented", not "out of the documented range".

#include <napi.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

namespace trtllm_metrics::napi {

constexpr double kMaxInt32 = 2147483647.0;
constexpr double kMinInt32 = -2147483648.0;
constexpr double kMaxSafeInteger = 9007199254740991.0;  // 2^53 - 1: integers a double holds exactly

inline Napi::Object objectOr(Napi::Object parent, char const* key) {
    Napi::Value v = parent.Get(key);
    if (v.IsUndefined() || v.IsNull()) return Napi::Object::New(parent.Env());
    if (!v.IsObject()) throw Napi::TypeError::New(parent.Env(), std::string(key) + " must be an object");
    return v.As<Napi::Object>();
}

inline std::optional<double> optNumber(Napi::Object o, char const* key) {
    Napi::Value v = o.Get(key);
    if (v.IsUndefined() || v.IsNull()) return std::nullopt;
    if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a number");
    double d = v.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d)) throw Napi::RangeError::New(o.Env(), std::string(key) + " must be finite");
    return d;
}

// An integer in [min, max]: the representable range of the integer type it is cast to.
inline std::optional<long long> optIntegerIn(Napi::Object o, char const* key, double min, double max) {
    auto d = optNumber(o, key);
    if (!d) return std::nullopt;
    if (std::floor(*d) != *d || *d < min || *d > max)
        throw Napi::RangeError::New(o.Env(), std::string(key) + " must be an integer in [" + std::to_string((long long)min) +
                                                 ", " + std::to_string((long long)max) + "]");
    return static_cast<long long>(*d);
}

// For an int32 (SizeType32) field.
inline std::optional<int> optInt32(Napi::Object o, char const* key) {
    auto v = optIntegerIn(o, key, kMinInt32, kMaxInt32);
    return v ? std::optional<int>(static_cast<int>(*v)) : std::nullopt;
}

// For a 64-bit unsigned field (seeds, ids) or a size: non-negative, exact in a double; `max` bounds what is
// allocated up front.
inline std::optional<std::uint64_t> optSize(Napi::Object o, char const* key, double max = kMaxSafeInteger) {
    auto v = optIntegerIn(o, key, 0, max);
    return v ? std::optional<std::uint64_t>(static_cast<std::uint64_t>(*v)) : std::nullopt;
}

// A byte count given as a number (fractions are truncated): non-negative and exact in a double.
inline std::optional<std::size_t> optBytes(Napi::Object o, char const* key) {
    auto d = optNumber(o, key);
    if (!d) return std::nullopt;
    if (*d < 0 || *d > kMaxSafeInteger)
        throw Napi::RangeError::New(o.Env(), std::string(key) + " must be a byte count in [0, 2^53)");
    return static_cast<std::size_t>(*d);
}

// A timeout or interval in ms that a wait adds to the clock (in ns) without overflow.
inline std::optional<long long> optMillis(Napi::Object o, char const* key) { return optIntegerIn(o, key, 0, kMaxInt32); }

// For a float field.
inline std::optional<float> optFloat(Napi::Object o, char const* key) {
    auto d = optNumber(o, key);
    if (!d) return std::nullopt;
    if (std::fabs(*d) > FLT_MAX) throw Napi::RangeError::New(o.Env(), std::string(key) + " does not fit a float");
    return static_cast<float>(*d);
}

// Steady ns relative to the epoch, converted to an int64 time point: exact in a double and free of overflow.
inline bool isRelativeNs(double v) { return std::isfinite(v) && std::fabs(v) <= kMaxSafeInteger; }

inline std::optional<bool> optBool(Napi::Object o, char const* key) {
    Napi::Value v = o.Get(key);
    if (v.IsUndefined() || v.IsNull()) return std::nullopt;
    if (!v.IsBoolean()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a boolean");
    return v.As<Napi::Boolean>().Value();
}

inline std::optional<std::string> optString(Napi::Object o, char const* key) {
    Napi::Value v = o.Get(key);
    if (v.IsUndefined() || v.IsNull()) return std::nullopt;
    if (!v.IsString()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a string");
    return v.As<Napi::String>().Utf8Value();
}

// Token ids from an Int32Array or an array of integers.
template <typename VecTokens>
VecTokens tokensFrom(Napi::Env env, Napi::Value v, char const* what) {
    VecTokens out;
    if (v.IsTypedArray()) {
        auto ta = v.As<Napi::TypedArray>();
        if (ta.TypedArrayType() != napi_int32_array)
            throw Napi::TypeError::New(env, std::string(what) + " must be an Int32Array or an array of integers");
        auto arr = v.As<Napi::Int32Array>();
        out.assign(arr.Data(), arr.Data() + arr.ElementLength());
        return out;
    }
    if (!v.IsArray()) throw Napi::TypeError::New(env, std::string(what) + " must be an Int32Array or an array of integers");
    auto arr = v.As<Napi::Array>();
    out.reserve(arr.Length());
    for (uint32_t i = 0; i < arr.Length(); ++i) {
        Napi::Value t = arr.Get(i);
        if (!t.IsNumber()) throw Napi::TypeError::New(env, std::string(what) + " must contain only integers");
        double d = t.As<Napi::Number>().DoubleValue();
        if (std::floor(d) != d || d < kMinInt32 || d > kMaxInt32)
            throw Napi::RangeError::New(env, std::string(what) + " must contain 32-bit integers");
        out.push_back(static_cast<typename VecTokens::value_type>(d));
    }
    return out;
}

}  // namespace trtllm_metrics::napi
