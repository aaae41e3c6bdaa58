// Status and Result<T>: how every Loci operation reports success or what went wrong.
//
// A Status is OK or carries a code and a message that names what is wrong (and, for
// corruption, which file and offset). No exception crosses the API. Both types are
// [[nodiscard]]: ignoring an error is a bug the compiler should point out.

#ifndef LOCI_STATUS_H_
#define LOCI_STATUS_H_

#include <cassert>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace loci {

class [[nodiscard]] Status {
 public:
  enum class Code : unsigned char {
    kOk = 0,
    kNotFound = 1,
    kCorruption = 2,
    kNotSupported = 3,
    kInvalidArgument = 4,
    kIOError = 5,
    kBusy = 6,      // the resource (e.g. the database's writer lock) is held by someone else
    kPoisoned = 7,  // an earlier fsync failed: the instance refuses further writes
    kPruned = 8,    // the read point is older than the history a retention policy kept
  };

  Status() noexcept = default;
  Status(const Status& other) : rep_(other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr) {}
  Status& operator=(const Status& other) {
    if (this != &other) rep_ = other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr;
    return *this;
  }
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;

  static Status OK() { return Status(); }
  static Status NotFound(std::string_view msg) { return Status(Code::kNotFound, msg); }
  static Status Corruption(std::string_view msg) { return Status(Code::kCorruption, msg); }
  static Status NotSupported(std::string_view msg) { return Status(Code::kNotSupported, msg); }
  static Status InvalidArgument(std::string_view msg) {
    return Status(Code::kInvalidArgument, msg);
  }
  static Status IOError(std::string_view msg) { return Status(Code::kIOError, msg); }
  static Status Busy(std::string_view msg) { return Status(Code::kBusy, msg); }
  static Status Poisoned(std::string_view msg) { return Status(Code::kPoisoned, msg); }
  static Status Pruned(std::string_view msg) { return Status(Code::kPruned, msg); }

  bool ok() const { return rep_ == nullptr; }
  Code code() const { return rep_ ? rep_->code : Code::kOk; }
  bool IsNotFound() const { return code() == Code::kNotFound; }
  bool IsCorruption() const { return code() == Code::kCorruption; }
  bool IsNotSupported() const { return code() == Code::kNotSupported; }
  bool IsInvalidArgument() const { return code() == Code::kInvalidArgument; }
  bool IsIOError() const { return code() == Code::kIOError; }
  bool IsBusy() const { return code() == Code::kBusy; }
  bool IsPoisoned() const { return code() == Code::kPoisoned; }
  bool IsPruned() const { return code() == Code::kPruned; }

  // The message alone (empty when OK).
  const std::string& message() const;
  // "OK", or "<Code name>: <message>".
  std::string ToString() const;

  // Returns a status with the same code and "<context>: <message>".
  Status WithContext(std::string_view context) const;

  // Marks a deliberately ignored status (e.g. best-effort cleanup on an error path).
  void PermitUncheckedError() const {}

 private:
  struct Rep {
    Code code;
    std::string message;
  };
  Status(Code code, std::string_view msg)
      : rep_(std::make_unique<Rep>(Rep{code, std::string(msg)})) {}

  std::unique_ptr<Rep> rep_;  // nullptr means OK: ok() is a null check, moves are free
};

// Either a value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "a Result built from a Status must carry an error");
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  // REQUIRES: ok().
  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace loci

// Returns early from the enclosing function when `expr` yields a non-OK Status.
#define LOCI_RETURN_IF_ERROR(expr) LOCI_RETURN_IF_ERROR_IMPL_(expr, LOCI_CONCAT_(_loci_s, __LINE__))
#define LOCI_CONCAT_(a, b) LOCI_CONCAT_IMPL_(a, b)
#define LOCI_CONCAT_IMPL_(a, b) a##b
#define LOCI_RETURN_IF_ERROR_IMPL_(expr, var) \
  do {                                        \
    ::loci::Status var = (expr);              \
    if (!var.ok()) return var;                \
  } while (0)

#endif  // LOCI_STATUS_H_
