// A local store that behaves as a remote one to its users: no LocalPath, and PutFile copies the
// bytes through Create (ObjectStore's generic PutFile), so code paths meant for S3 run on a folder.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "store/store.h"

namespace binlake::testing {

class RemoteLikeStore : public store::ObjectStore {
 public:
  explicit RemoteLikeStore(std::unique_ptr<store::ObjectStore> base) : base_(std::move(base)) {}

  std::string uri() const override { return "remote-like:" + base_->uri(); }
  bool SupportsCreateIfAbsent() const override { return base_->SupportsCreateIfAbsent(); }
  Status Put(std::string_view key, std::string_view data, store::PutMode mode) override {
    return base_->Put(key, data, mode);
  }
  Result<std::unique_ptr<store::ObjectWriter>> Create(std::string_view key,
                                                      store::PutMode mode) override {
    return base_->Create(key, mode);
  }
  // PutFile and LocalPath: ObjectStore's remote defaults (copy through Create; "").
  Result<std::string> Get(std::string_view key) override { return base_->Get(key); }
  Result<std::string> GetRange(std::string_view key, uint64_t offset, uint64_t length) override {
    return base_->GetRange(key, offset, length);
  }
  Result<std::unique_ptr<store::ObjectReader>> Open(std::string_view key) override {
    return base_->Open(key);
  }
  Result<std::vector<store::ObjectInfo>> List(const store::ListOptions& options) override {
    return base_->List(options);
  }
  Status Delete(std::string_view key) override { return base_->Delete(key); }
  Result<store::ObjectInfo> Stat(std::string_view key) override { return base_->Stat(key); }

 private:
  std::unique_ptr<store::ObjectStore> base_;
};

inline Result<std::unique_ptr<store::ObjectStore>> OpenRemoteLikeStore(const std::string& folder) {
  BL_ASSIGN_OR_RETURN(auto base, store::OpenStore(folder));
  return std::unique_ptr<store::ObjectStore>(std::make_unique<RemoteLikeStore>(std::move(base)));
}

}  // namespace binlake::testing
