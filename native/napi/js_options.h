#pragma once
// Reading JS option objects in C++. The TS layer validates every option first and names the bad one; these
// checks are a second line so that a wrong call straight into the addon gets a TypeError, never a crash.

#include <napi.h>

#include <cmath>
#include <optional>
#include <string>

namespace trtllm_metrics::napi {

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

inline std::optional<long long> optInteger(Napi::Object o, char const* key, double min, double max) {
    auto d = optNumber(o, key);
    if (!d) return std::nullopt;
    if (std::floor(*d) != *d || *d < min || *d > max)
        throw Napi::RangeError::New(o.Env(), std::string(key) + " must be an integer in [" + std::to_string((long long)min) +
                                                 ", " + std::to_string((long long)max) + "]");
    return static_cast<long long>(*d);
}

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
        if (std::floor(d) != d || d < -2147483648.0 || d > 2147483647.0)
            throw Napi::RangeError::New(env, std::string(what) + " must contain 32-bit integers");
        out.push_back(static_cast<typename VecTokens::value_type>(d));
    }
    return out;
}

}  // namespace trtllm_metrics::napi
