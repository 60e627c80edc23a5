// A store failure under Arrow's Parquet writer keeps its status code (kUnavailable stays
// retryable), and a stream that failed never publishes an object.
#include <arrow/api.h>
#include <gtest/gtest.h>

#include "lake/bucket_file.h"
#include "store/fault_store.h"
#include "store/store.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace binlake::lake {
namespace {

TEST(StoreIoTest, AFailingStoreKeepsItsCodeThroughTheParquetWriter) {
  auto schema = arrow::schema({arrow::field("id", arrow::int64())});
  arrow::Int64Builder b;
  for (int i = 0; i < 1000; i++) ASSERT_TRUE(b.Append(i).ok());
  auto batch = arrow::RecordBatch::Make(schema, 1000, {b.Finish().ValueOrDie()});
  int write_faults = 0;
  for (uint64_t seed = 1; seed <= 40; seed++) {
    binlake::testing::TempDir dir;
    auto local = store::OpenStore(dir.path());
    ASSERT_OK(local.status());
    store::FaultOptions fo;
    fo.rate = 0.3;
    fo.seed = seed;
    auto faulty = store::WrapWithFaults(std::move(*local), fo);
    auto file = BucketFile::Create(faulty.get(), 0, schema, {ValueKind::kInt}, false);
    ASSERT_OK(file.status());
    Status st;
    for (int g = 0; g < 4 && st.ok(); g++) st = (*file)->WriteRowGroup(batch);
    if (st.ok()) st = (*file)->Finish().status();
    if (st.ok()) continue;
    write_faults += st.message().find("write") != std::string::npos;
    EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
    EXPECT_EQ(st.message().find("arrow:"), std::string::npos) << st.ToString();
  }
  EXPECT_GT(write_faults, 0);
}

}  // namespace
}  // namespace binlake::lake
