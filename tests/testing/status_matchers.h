// ASSERT_OK / EXPECT_OK for Status and Result<T>: the failure message is the status text.
#pragma once

#include <gtest/gtest.h>

#include "util/status.h"

namespace binlake::testing {

inline const Status& ToStatus(const Status& s) { return s; }
template <typename T>
const Status& ToStatus(const Result<T>& r) {
  return r.status();
}

}  // namespace binlake::testing

#define ASSERT_OK(expr)                                                    \
  do {                                                                     \
    auto&& _bl_v = (expr);                                                 \
    const ::binlake::Status& _bl_st = ::binlake::testing::ToStatus(_bl_v); \
    ASSERT_TRUE(_bl_st.ok()) << _bl_st.ToString();                         \
  } while (0)

#define EXPECT_OK(expr)                                                    \
  do {                                                                     \
    auto&& _bl_v = (expr);                                                 \
    const ::binlake::Status& _bl_st = ::binlake::testing::ToStatus(_bl_v); \
    EXPECT_TRUE(_bl_st.ok()) << _bl_st.ToString();                         \
  } while (0)
