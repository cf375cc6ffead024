# Builds the `trtllm` backend into the addon. Included by CMakeLists.txt when TRTLLM_ROOT is set.
# TRTLLM_ROOT is a wheel install (site-packages/tensorrt_llm with include/ and libs/) or a source tree
# (cpp/include, libraries under cpp/build/tensorrt_llm or given by TRTLLM_LIB_DIR).

set(TRTLLM_LIB_DIR "$ENV{TRTLLM_LIB_DIR}" CACHE PATH "Directory of libtensorrt_llm.so (default: found under TRTLLM_ROOT)")
option(TRTLLM_ENABLE_BF16 "Define ENABLE_BF16 as the TensorRT-LLM library was built (wheels: ON)" ON)
option(TRTLLM_ENABLE_FP8 "Define ENABLE_FP8 as the TensorRT-LLM library was built (wheels: ON)" ON)

find_path(TRTLLM_INCLUDE_DIR tensorrt_llm/executor/executor.h
  PATHS ${TRTLLM_ROOT}/include ${TRTLLM_ROOT}/cpp/include NO_DEFAULT_PATH)
if(NOT TRTLLM_INCLUDE_DIR)
  message(FATAL_ERROR "TRTLLM_ROOT=${TRTLLM_ROOT}: no tensorrt_llm/executor/executor.h under include/ or cpp/include/")
endif()

find_library(TRTLLM_LIB tensorrt_llm
  PATHS ${TRTLLM_LIB_DIR} ${TRTLLM_ROOT}/libs ${TRTLLM_ROOT}/lib ${TRTLLM_ROOT}/cpp/build/tensorrt_llm NO_DEFAULT_PATH)
find_library(TRTLLM_PLUGIN_LIB nvinfer_plugin_tensorrt_llm
  PATHS ${TRTLLM_LIB_DIR} ${TRTLLM_ROOT}/libs ${TRTLLM_ROOT}/lib ${TRTLLM_ROOT}/cpp/build/tensorrt_llm/plugins NO_DEFAULT_PATH)
if(NOT TRTLLM_LIB OR NOT TRTLLM_PLUGIN_LIB)
  message(FATAL_ERROR "TRTLLM_ROOT=${TRTLLM_ROOT}: libtensorrt_llm.so / libnvinfer_plugin_tensorrt_llm.so not found (set TRTLLM_LIB_DIR)")
endif()

# CUDA headers: types.h includes cuda_fp16.h (no TensorRT header is needed to compile the glue).
find_path(CUDA_FP16_INCLUDE_DIR cuda_fp16.h PATHS $ENV{CUDA_HOME}/include /usr/local/cuda/include NO_DEFAULT_PATH)
if(NOT CUDA_FP16_INCLUDE_DIR)
  message(FATAL_ERROR "CUDA headers not found: set CUDA_HOME (cuda_fp16.h is needed by tensorrt_llm/executor/types.h)")
endif()

# The library's std::string ABI decides ours: mixing them breaks every std::string across the boundary.
execute_process(COMMAND sh -c "nm -D '${TRTLLM_LIB}' | grep -c __cxx11" OUTPUT_VARIABLE TRTLLM_CXX11_SYMBOLS OUTPUT_STRIP_TRAILING_WHITESPACE)
if(TRTLLM_CXX11_SYMBOLS GREATER 0)
  set(TRTLLM_CXX11_ABI 1)
else()
  set(TRTLLM_CXX11_ABI 0)
endif()
message(STATUS "TensorRT-LLM: ${TRTLLM_LIB} (_GLIBCXX_USE_CXX11_ABI=${TRTLLM_CXX11_ABI}), headers ${TRTLLM_INCLUDE_DIR}")

target_sources(${PROJECT_NAME} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/native/backends/trtllm/trtllm_engine.cc)
target_include_directories(${PROJECT_NAME} PRIVATE ${TRTLLM_INCLUDE_DIR} ${CUDA_FP16_INCLUDE_DIR})
target_compile_definitions(${PROJECT_NAME} PRIVATE TRTLLM_METRICS_HAVE_TRTLLM)
foreach(target ${PROJECT_NAME} ${PROJECT_NAME}_testing trtllm_sim)
  target_compile_definitions(${target} PRIVATE _GLIBCXX_USE_CXX11_ABI=${TRTLLM_CXX11_ABI})
endforeach()
if(TRTLLM_ENABLE_BF16)
  target_compile_definitions(${PROJECT_NAME} PRIVATE ENABLE_BF16)
endif()
if(TRTLLM_ENABLE_FP8)
  target_compile_definitions(${PROJECT_NAME} PRIVATE ENABLE_FP8)
endif()
target_link_libraries(${PROJECT_NAME} PRIVATE ${TRTLLM_LIB} ${TRTLLM_PLUGIN_LIB})
get_filename_component(TRTLLM_LIB_PATH ${TRTLLM_LIB} DIRECTORY)
get_filename_component(TRTLLM_PLUGIN_LIB_PATH ${TRTLLM_PLUGIN_LIB} DIRECTORY)
set_target_properties(${PROJECT_NAME} PROPERTIES BUILD_RPATH "${TRTLLM_LIB_PATH};${TRTLLM_PLUGIN_LIB_PATH}"
  INSTALL_RPATH "${TRTLLM_LIB_PATH};${TRTLLM_PLUGIN_LIB_PATH}")
