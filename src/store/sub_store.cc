// SubStore: an ObjectStore view under a key prefix (one lake table, one staging table).
#include <utility>

#include "store/store.h"

namespace binlake::store {
namespace {

class Sub : public ObjectStore {
 public:
  Sub(std::shared_ptr<ObjectStore> base, std::string prefix)
      : base_(std::move(base)), prefix_(std::move(prefix)) {}

  std::string uri() const override {
    std::string u = base_->uri();
    if (!u.empty() && u.back() != '/') u.push_back('/');
    u += prefix_;
    if (u.size() > 1 && u.back() == '/') u.pop_back();
    return u;
  }
  bool SupportsCreateIfAbsent() const override { return base_->SupportsCreateIfAbsent(); }
  Status Put(std::string_view key, std::string_view data, PutMode mode) override {
    return base_->Put(Full(key), data, mode);
  }
  Result<std::unique_ptr<ObjectWriter>> Create(std::string_view key, PutMode mode) override {
    return base_->Create(Full(key), mode);
  }
  Status PutFile(std::string_view key, const std::string& local_path, PutMode mode) override {
    return base_->PutFile(Full(key), local_path, mode);
  }
  std::string LocalPath(std::string_view key) const override { return base_->LocalPath(Full(key)); }
  Result<std::string> Get(std::string_view key) override { return base_->Get(Full(key)); }
  Result<std::string> GetRange(std::string_view key, uint64_t offset, uint64_t length) override {
    return base_->GetRange(Full(key), offset, length);
  }
  Result<std::unique_ptr<ObjectReader>> Open(std::string_view key) override {
    return base_->Open(Full(key));
  }
  Result<std::vector<ObjectInfo>> List(const ListOptions& options) override {
    ListOptions o = options;
    o.prefix = prefix_ + options.prefix;
    if (!options.start_after.empty()) o.start_after = prefix_ + options.start_after;
    BL_ASSIGN_OR_RETURN(auto out, base_->List(o));
    for (auto& i : out) i.key.erase(0, prefix_.size());
    return out;
  }
  Status Delete(std::string_view key) override { return base_->Delete(Full(key)); }
  Result<ObjectInfo> Stat(std::string_view key) override {
    BL_ASSIGN_OR_RETURN(auto i, base_->Stat(Full(key)));
    i.key.erase(0, prefix_.size());
    return i;
  }

 private:
  std::string Full(std::string_view key) const { return prefix_ + std::string(key); }
  std::shared_ptr<ObjectStore> base_;
  std::string prefix_;
};

}  // namespace

std::unique_ptr<ObjectStore> SubStore(std::shared_ptr<ObjectStore> base, std::string prefix) {
  if (!prefix.empty() && prefix.back() != '/') prefix.push_back('/');
  return std::make_unique<Sub>(std::move(base), std::move(prefix));
}

}  // namespace binlake::store
