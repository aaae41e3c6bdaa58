// A std::mutex that Clang's -Wthread-safety analysis understands, and its scoped lock.
//
// libstdc++'s std::mutex carries no capability attributes, so GUARDED_BY(std::mutex) is never
// checked. These wrappers add the attributes and nothing else.

#ifndef LOCI_COMMON_MUTEX_H_
#define LOCI_COMMON_MUTEX_H_

#include <mutex>

#include "common/thread_annotations.h"

namespace loci {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

// Holds `mu` for the lifetime of the object.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

}  // namespace loci

#endif  // LOCI_COMMON_MUTEX_H_
