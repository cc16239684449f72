#pragma once
// Time-to-serve, measured by the controller: how long a machine it created or started takes
// until it serves (state `started`), per region. The decision core sizes capacity for the
// demand expected one time-to-serve ahead (forecast.horizon: auto), so this is what makes the
// horizon real rather than the policy's bootTime guess.
//
// How: after an apply, every machine the executor created or started is watched with the time
// the request went out. When a later list (the next pass's, or a region's re-list) shows it
// started, one sample is taken from the machine's own events: the request event (launch, or a
// start that is not yet `started`) to the `started` event, both stamped by Fly, so the
// controller's clock and how often it lists do not matter. Without events the sample is the
// time from the request to the list that saw it started (an upper bound). A machine that goes
// away or fails, or is not started within `give_up`, gives no sample.
//
// Per region the estimate is the median of the last `samples_per_region` samples (robust to one
// slow boot). The horizon handed to decide() is the highest regional estimate: capacity asked
// for now must cover demand until the slowest region's new machine can serve.
//
// Plain values, no I/O and no clock reads (times come from the caller); saved in the state store
// with to_json/from_json so a restart keeps what was learned.
#include <boost/json/fwd.hpp>
#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/duration.h"
#include "common/result.h"
#include "fly/models.h"

namespace autoplacer::controller {

struct TimeToServeSample {
  std::string region;
  std::string machineId;
  Duration duration{};
  bool fromEvents = false;  // false: request to the list that saw it started (upper bound)
};

class TimeToServe {
 public:
  static constexpr std::size_t kDefaultSamples = 20;
  explicit TimeToServe(std::size_t samples_per_region = kDefaultSamples,
                       Duration give_up = std::chrono::minutes(10));

  // A create or start of `machine_id`, counted for `region`, was requested at `requested`.
  void watch(const std::string& machine_id, const std::string& region, TimePoint requested);
  // Settles watches against a list of the app's machines taken at `now`; returns new samples.
  std::vector<TimeToServeSample> observe(const std::vector<fly::Machine>& machines, TimePoint now);
  // Adds a sample directly (tests, restores).
  void add_sample(const std::string& region, Duration d);

  // Median of the region's recent samples; nullopt before the first one.
  std::optional<Duration> estimate(const std::string& region) const;
  // The highest regional estimate: what decide() takes as measuredTimeToServe.
  std::optional<Duration> horizon() const;
  std::map<std::string, Duration> estimates() const;
  std::size_t watching() const { return watches_.size(); }

  // {"samplesMs": {region: [ms, ...]}} (watches are not saved: a restart re-measures).
  boost::json::value to_json() const;
  static Result<TimeToServe, std::string> from_json(
      const boost::json::value& v, std::size_t samples_per_region = kDefaultSamples);

 private:
  struct Watch {
    std::string region;
    TimePoint requested{};
  };
  std::size_t capacity_;
  Duration give_up_;
  std::map<std::string, Watch> watches_;  // machine id -> watch
  std::map<std::string, std::deque<Duration>> samples_;
};

// The request-to-started time from a started machine's events (unix ms stamps by Fly), or
// nullopt when the events do not show both ends.
std::optional<Duration> time_to_serve_from_events(const fly::Machine& m);

}  // namespace autoplacer::controller
