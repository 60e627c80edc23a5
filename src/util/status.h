// Status and Result<T>: how every module reports errors across its boundary (no exceptions).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace binlake {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // bad config / flag / usage
  kCorruption,       // bytes that do not decode: truncated, bad checksum, impossible length
  kNotSupported,     // an event or type we do not understand (never skipped silently)
  kIOError,          // local file or socket failure
  kNetwork,          // connection lost; retryable
  kServer,           // the database server answered with an error
  kNotFound,
  kAlreadyExists,  // a create-if-absent write found the name taken (another writer won)
  kInternal,
  kUnavailable,       // a remote service failed or timed out (after retries); retryable later
  kUnauthenticated,   // the credentials were refused (wrong key or secret, expired token)
  kPermissionDenied,  // the credentials are valid but not allowed to do this
};

// Ok is a null pointer, so returning Ok on hot paths costs nothing.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message)
      : state_(std::make_unique<State>(State{code, std::move(message)})) {}
  Status(const Status& o) : state_(o.state_ ? std::make_unique<State>(*o.state_) : nullptr) {}
  Status& operator=(const Status& o) {
    state_ = o.state_ ? std::make_unique<State>(*o.state_) : nullptr;
    return *this;
  }
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;

  static Status Ok() { return {}; }
  static Status InvalidArgument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status NotSupported(std::string m) { return {StatusCode::kNotSupported, std::move(m)}; }
  static Status IOError(std::string m) { return {StatusCode::kIOError, std::move(m)}; }
  static Status Network(std::string m) { return {StatusCode::kNetwork, std::move(m)}; }
  static Status Server(std::string m) { return {StatusCode::kServer, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status Unauthenticated(std::string m) {
    return {StatusCode::kUnauthenticated, std::move(m)};
  }
  static Status PermissionDenied(std::string m) {
    return {StatusCode::kPermissionDenied, std::move(m)};
  }

  bool ok() const { return state_ == nullptr; }
  StatusCode code() const { return state_ ? state_->code : StatusCode::kOk; }
  const std::string& message() const {
    static const std::string kEmpty;
    return state_ ? state_->message : kEmpty;
  }
  // "corruption: <message>"; "ok" when ok.
  std::string ToString() const;
  // Same code, "<prefix>: <message>": adds where the error happened (file, offset, table).
  Status WithContext(std::string_view prefix) const;

 private:
  struct State {
    StatusCode code;
    std::string message;
  };
  std::unique_ptr<State> state_;
};

const char* StatusCodeName(StatusCode code);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace binlake

#define BL_CONCAT_INNER(a, b) a##b
#define BL_CONCAT(a, b) BL_CONCAT_INNER(a, b)

#define BL_RETURN_IF_ERROR(expr)       \
  do {                                 \
    ::binlake::Status _bl_st = (expr); \
    if (!_bl_st.ok()) return _bl_st;   \
  } while (0)

// lhs may be a declaration ("auto x"), so it cannot be parenthesized.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define BL_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()

#define BL_ASSIGN_OR_RETURN(lhs, expr) \
  BL_ASSIGN_OR_RETURN_IMPL(BL_CONCAT(_bl_res_, __LINE__), lhs, expr)
// NOLINTEND(bugprone-macro-parentheses)
