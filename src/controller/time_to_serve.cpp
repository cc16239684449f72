#include "controller/time_to_serve.h"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace autoplacer::controller {
namespace json = boost::json;

namespace {

constexpr std::size_t kMaxWatches = 10000;  // bounded: a broken API cannot grow this forever

bool gone_or_failed(const std::string& state) {
  return state == "destroyed" || state == "destroying" || state == "failed" ||
         state == "replaced" || state == "migrated" || state == "stopped" || state == "suspended";
}

}  // namespace

std::optional<Duration> time_to_serve_from_events(const fly::Machine& m) {
  std::optional<std::int64_t> started;
  for (const auto& e : m.events)
    if (e.status == "started" && (!started || e.timestamp > *started)) started = e.timestamp;
  if (!started) return std::nullopt;
  // The request that led to it: the latest launch, or start not yet done, before it.
  std::optional<std::int64_t> requested;
  for (const auto& e : m.events) {
    const bool request = e.type == "launch" || (e.type == "start" && e.status != "started");
    if (request && e.timestamp <= *started && (!requested || e.timestamp > *requested))
      requested = e.timestamp;
  }
  if (!requested) return std::nullopt;
  return Duration(*started - *requested);
}

TimeToServe::TimeToServe(std::size_t samples_per_region, Duration give_up)
    : capacity_(std::max<std::size_t>(1, samples_per_region)), give_up_(give_up) {}

void TimeToServe::watch(const std::string& machine_id, const std::string& region,
                        TimePoint requested) {
  if (machine_id.empty() || region.empty()) return;
  if (watches_.size() >= kMaxWatches && !watches_.contains(machine_id)) return;
  watches_[machine_id] = Watch{region, requested};
}

std::vector<TimeToServeSample> TimeToServe::observe(const std::vector<fly::Machine>& machines,
                                                    TimePoint now) {
  std::vector<TimeToServeSample> out;
  if (watches_.empty()) return out;
  std::map<std::string, const fly::Machine*> by_id;
  for (const auto& m : machines) by_id[m.id] = &m;
  for (auto it = watches_.begin(); it != watches_.end();) {
    const Watch& w = it->second;
    auto found = by_id.find(it->first);
    if (found == by_id.end() || gone_or_failed(found->second->state) ||
        now - w.requested > give_up_) {
      it = watches_.erase(it);
      continue;
    }
    const fly::Machine& m = *found->second;
    if (m.state != "started") {
      ++it;
      continue;
    }
    TimeToServeSample s;
    s.region = w.region;
    s.machineId = m.id;
    if (auto d = time_to_serve_from_events(m); d && *d >= Duration::zero()) {
      s.duration = *d;
      s.fromEvents = true;
    } else {
      s.duration = std::max(Duration::zero(), now - w.requested);
    }
    add_sample(s.region, s.duration);
    out.push_back(std::move(s));
    it = watches_.erase(it);
  }
  return out;
}

void TimeToServe::add_sample(const std::string& region, Duration d) {
  auto& q = samples_[region];
  q.push_back(d);
  while (q.size() > capacity_) q.pop_front();
}

std::optional<Duration> TimeToServe::estimate(const std::string& region) const {
  auto it = samples_.find(region);
  if (it == samples_.end() || it->second.empty()) return std::nullopt;
  std::vector<Duration> v(it->second.begin(), it->second.end());
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::map<std::string, Duration> TimeToServe::estimates() const {
  std::map<std::string, Duration> out;
  for (const auto& [region, q] : samples_)
    if (auto e = estimate(region)) out[region] = *e;
  return out;
}

std::optional<Duration> TimeToServe::horizon() const {
  std::optional<Duration> best;
  for (const auto& [region, d] : estimates())
    if (!best || d > *best) best = d;
  return best;
}

json::value TimeToServe::to_json() const {
  json::object samples;
  for (const auto& [region, q] : samples_) {
    json::array a;
    for (const auto& d : q) a.push_back(d.count());
    samples[region] = std::move(a);
  }
  return json::object{{"samplesMs", std::move(samples)}};
}

Result<TimeToServe, std::string> TimeToServe::from_json(const json::value& v,
                                                        std::size_t samples_per_region) {
  TimeToServe t(samples_per_region);
  if (!v.is_object()) return make_err(std::string("time-to-serve: not an object"));
  const auto* samples = v.as_object().if_contains("samplesMs");
  if (samples == nullptr) return t;
  if (!samples->is_object()) return make_err(std::string("time-to-serve: samplesMs not an object"));
  for (const auto& [region, list] : samples->as_object()) {
    if (!list.is_array()) return make_err("time-to-serve: samples of " + std::string(region));
    for (const auto& x : list.as_array()) {
      if (!x.is_int64() && !x.is_uint64())
        return make_err("time-to-serve: a sample of " + std::string(region) + " is not ms");
      const std::int64_t ms =
          x.is_int64()
              ? x.as_int64()
              : static_cast<std::int64_t>(std::min<std::uint64_t>(x.as_uint64(), 1ULL << 40));
      if (ms < 0) return make_err("time-to-serve: a negative sample of " + std::string(region));
      t.add_sample(std::string(region), Duration(ms));
    }
  }
  return t;
}

}  // namespace autoplacer::controller
