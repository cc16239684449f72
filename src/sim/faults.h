#pragma once
// Seeded, reproducible fault injection for flysim. Rules name an operation ("create", "get",
// "list", "start", ..., or "*") and a kind; each fires with a probability, on given call numbers
// of that operation, or both, optionally only inside a time window and at most N times. The
// same seed and the same sequence of requests give the same faults.
//
// Flag form (flysim --fault): op:kind[:probability[:param]]
//   create:error:0.2:503    one create in five answers 503
//   *:slow:0.1:1500ms       one request in ten waits 1.5 s first
//   start:drop:1            every start: connection closed without an answer
//   get:timeout:0.05:40s    5% of gets hang for 40 s, then the connection is dropped
//   create:insufficient_capacity:0.5
//   stop:foreign_lease:1:60s  a foreign client takes the machine's lease for 60 s first
// JSON form (POST /flysim/faults): {"seed": 7, "rules": [{"operation": "create", "kind": "error",
//   "probability": 0.2, "status": 503, "calls": [1, 3], "max_fires": 2, "delay_ms": 0,
//   "after_apply": false, "from_ms": 0, "until_ms": 0}]}
// after_apply: the operation takes effect, then the fault hits the answer (error, drop or
// timeout), the case where a client cannot know whether its write happened.
#include <boost/json/value.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"

namespace autoplacer::sim {

enum class FaultKind { kError, kTimeout, kDrop, kSlow, kInsufficientCapacity, kForeignLease };
const char* to_string(FaultKind kind);
std::optional<FaultKind> fault_kind_from_string(std::string_view s);

struct FaultRule {
  std::string operation = "*";
  FaultKind kind = FaultKind::kError;
  double probability = 0;
  std::vector<std::uint64_t> calls;  // 1-based call numbers of this operation that fire
  std::int64_t max_fires = -1;       // -1 = unlimited
  int status = 503;                  // kError
  Duration delay{0};                 // kSlow / kTimeout hold / kForeignLease ttl
  bool after_apply = false;
  std::optional<TimePoint> from, until;  // window in the flysim clock
};

class FaultInjector {
 public:
  explicit FaultInjector(std::uint64_t seed = 1) : rng_(seed) {}

  void set_rules(std::vector<FaultRule> rules, std::uint64_t seed);
  const std::vector<FaultRule>& rules() const { return rules_; }

  // Counts the call and returns the first rule that fires for it, if any.
  std::optional<FaultRule> decide(std::string_view operation, TimePoint now);

  std::uint64_t fired(FaultKind kind) const;
  std::uint64_t calls(std::string_view operation) const;

  static Result<FaultRule, std::string> parse_flag(std::string_view text);
  static Result<FaultRule, std::string> rule_from_json(const boost::json::value& v);
  static boost::json::value rule_to_json(const FaultRule& r);

 private:
  std::vector<FaultRule> rules_;
  std::vector<std::int64_t> fires_;  // per rule
  std::mt19937_64 rng_;
  std::map<std::string, std::uint64_t, std::less<>> calls_;
  std::map<FaultKind, std::uint64_t> fired_;
};

}  // namespace autoplacer::sim
