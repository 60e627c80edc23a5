// The fault-injecting ObjectStore: one seeded generator decides, per operation, ok / fail before /
// fail after.
#include "store/fault_store.h"

#include <cstdlib>
#include <mutex>
#include <random>
#include <string>

namespace binlake::store {

namespace {

enum class Fault { kNone, kBefore, kAfter };

class Dice {
 public:
  explicit Dice(const FaultOptions& o) : options_(o), rng_(o.seed) {}
  Fault Roll() {
    std::lock_guard<std::mutex> lock(mu_);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    if (u(rng_) >= options_.rate) return Fault::kNone;
    return u(rng_) < options_.after_share ? Fault::kAfter : Fault::kBefore;
  }

 private:
  FaultOptions options_;
  std::mutex mu_;
  std::mt19937_64 rng_;
};

Status Injected(const std::string& uri, std::string_view op, Fault f) {
  return Status::Unavailable(uri + ": " + std::string(op) + ": injected fault (" +
                             (f == Fault::kBefore ? "before the operation" : "answer lost") +
                             ", BINLAKE_STORE_FAULTS); retry");
}

// Runs `op` unless the dice say fail before; fails after it when they say so.
template <typename F>
auto WithFault(Dice* dice, const std::string& uri, std::string_view name, F&& op)
    -> decltype(op()) {
  const Fault f = dice->Roll();
  if (f == Fault::kBefore) return Injected(uri, name, f);
  auto r = op();
  if (f == Fault::kAfter) return Injected(uri, name, f);
  return r;
}

class FaultReader : public ObjectReader {
 public:
  FaultReader(std::unique_ptr<ObjectReader> inner, std::shared_ptr<Dice> dice, std::string uri)
      : inner_(std::move(inner)), dice_(std::move(dice)), uri_(std::move(uri)) {}
  Result<size_t> Read(char* buf, size_t n) override {
    // A failed read consumes nothing (a lost answer would corrupt the stream position).
    if (dice_->Roll() != Fault::kNone) return Injected(uri_, "read", Fault::kBefore);
    return inner_->Read(buf, n);
  }
  uint64_t size() const override { return inner_->size(); }

 private:
  std::unique_ptr<ObjectReader> inner_;
  std::shared_ptr<Dice> dice_;
  std::string uri_;
};

class FaultWriter : public ObjectWriter {
 public:
  FaultWriter(std::unique_ptr<ObjectWriter> inner, std::shared_ptr<Dice> dice, std::string uri)
      : inner_(std::move(inner)), dice_(std::move(dice)), uri_(std::move(uri)) {}
  Status Write(std::string_view data) override {
    if (dice_->Roll() != Fault::kNone) return Injected(uri_, "write", Fault::kBefore);
    return inner_->Write(data);
  }
  Status Close() override {
    return WithFault(dice_.get(), uri_, "close", [&] { return inner_->Close(); });
  }
  uint64_t bytes_written() const override { return inner_->bytes_written(); }

 private:
  std::unique_ptr<ObjectWriter> inner_;
  std::shared_ptr<Dice> dice_;
  std::string uri_;
};

class FaultStore : public ObjectStore {
 public:
  FaultStore(std::unique_ptr<ObjectStore> inner, const FaultOptions& o)
      : inner_(std::move(inner)), dice_(std::make_shared<Dice>(o)), uri_(inner_->uri()) {}

  std::string uri() const override { return uri_; }
  bool SupportsCreateIfAbsent() const override { return inner_->SupportsCreateIfAbsent(); }
  std::string LocalPath(std::string_view key) const override { return inner_->LocalPath(key); }

  Status Put(std::string_view key, std::string_view data, PutMode mode) override {
    return WithFault(dice_.get(), uri_, "put " + std::string(key),
                     [&] { return inner_->Put(key, data, mode); });
  }
  Result<std::unique_ptr<ObjectWriter>> Create(std::string_view key, PutMode mode) override {
    if (dice_->Roll() != Fault::kNone) {
      return Injected(uri_, "create " + std::string(key), Fault::kBefore);
    }
    BL_ASSIGN_OR_RETURN(auto w, inner_->Create(key, mode));
    return std::unique_ptr<ObjectWriter>(std::make_unique<FaultWriter>(std::move(w), dice_, uri_));
  }
  Status PutFile(std::string_view key, const std::string& local_path, PutMode mode) override {
    return WithFault(dice_.get(), uri_, "put " + std::string(key),
                     [&] { return inner_->PutFile(key, local_path, mode); });
  }
  Result<std::string> Get(std::string_view key) override {
    return WithFault(dice_.get(), uri_, "get " + std::string(key),
                     [&] { return inner_->Get(key); });
  }
  Result<std::string> GetRange(std::string_view key, uint64_t offset, uint64_t length) override {
    return WithFault(dice_.get(), uri_, "get " + std::string(key),
                     [&] { return inner_->GetRange(key, offset, length); });
  }
  Result<std::unique_ptr<ObjectReader>> Open(std::string_view key) override {
    if (dice_->Roll() != Fault::kNone) {
      return Injected(uri_, "open " + std::string(key), Fault::kBefore);
    }
    BL_ASSIGN_OR_RETURN(auto r, inner_->Open(key));
    return std::unique_ptr<ObjectReader>(std::make_unique<FaultReader>(std::move(r), dice_, uri_));
  }
  Result<std::vector<ObjectInfo>> List(const ListOptions& options) override {
    return WithFault(dice_.get(), uri_, "list " + options.prefix,
                     [&] { return inner_->List(options); });
  }
  Status Delete(std::string_view key) override {
    return WithFault(dice_.get(), uri_, "delete " + std::string(key),
                     [&] { return inner_->Delete(key); });
  }
  Result<ObjectInfo> Stat(std::string_view key) override {
    return WithFault(dice_.get(), uri_, "stat " + std::string(key),
                     [&] { return inner_->Stat(key); });
  }

 private:
  std::unique_ptr<ObjectStore> inner_;
  std::shared_ptr<Dice> dice_;
  std::string uri_;
};

}  // namespace

Result<FaultOptions> ParseFaultSpec(std::string_view spec) {
  FaultOptions o;
  const auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("BINLAKE_STORE_FAULTS='" + std::string(spec) + "': " + why +
                                   "; write e.g. rate=0.05,seed=7");
  };
  bool have_rate = false;
  while (!spec.empty()) {
    const size_t comma = spec.find(',');
    const std::string item(spec.substr(0, comma));
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    const size_t eq = item.find('=');
    if (eq == std::string::npos) return bad("'" + item + "' is not name=value");
    const std::string name = item.substr(0, eq);
    const std::string value = item.substr(eq + 1);
    char* end = nullptr;
    if (name == "rate" || name == "after") {
      const double v = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || !(v >= 0 && v <= 1)) {
        return bad(name + " must be a number from 0 to 1");
      }
      (name == "rate" ? o.rate : o.after_share) = v;
      have_rate = have_rate || name == "rate";
    } else if (name == "seed") {
      o.seed = std::strtoull(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0') return bad("seed must be a whole number");
    } else {
      return bad("unknown setting '" + name + "'");
    }
  }
  if (!have_rate) return bad("no rate");
  return o;
}

std::unique_ptr<ObjectStore> WrapWithFaults(std::unique_ptr<ObjectStore> inner,
                                            const FaultOptions& options) {
  return std::make_unique<FaultStore>(std::move(inner), options);
}

}  // namespace binlake::store
