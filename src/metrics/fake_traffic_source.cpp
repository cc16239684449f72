#include "metrics/fake_traffic_source.h"

namespace autoplacer::metrics {

void FakeTrafficSource::set_demand(std::map<std::string, double> rps,
                                   std::map<std::string, double> p95_latency_ms) {
  steady_ = DemandReading{};
  steady_.known = true;
  steady_.rps = std::move(rps);
  steady_.p95LatencyMs = std::move(p95_latency_ms);
}

void FakeTrafficSource::set_region_unknown(const std::string& region, const std::string& reason) {
  steady_.rps.erase(region);
  steady_.unknown[region] = reason;
}

void FakeTrafficSource::set_unknown(std::string reason) {
  steady_ = DemandReading{};
  steady_.known = false;
  steady_.reason = std::move(reason);
}

void FakeTrafficSource::push(DemandReading reading) {
  queued_.push_back(std::move(reading));
}

void FakeTrafficSource::set_handler(Handler handler) {
  handler_ = std::move(handler);
}

void FakeTrafficSource::set_history(std::vector<DemandReading> history) {
  history_ = std::move(history);
  backfill_error_.clear();
}

void FakeTrafficSource::fail_backfill(std::string error) {
  backfill_error_ = std::move(error);
}

boost::asio::awaitable<DemandReading> FakeTrafficSource::read(const PlacementPolicy& policy,
                                                              TimePoint now) {
  ++reads_;
  apps_read_.push_back(policy.spec.app);
  last_read_at_ = now;
  DemandReading r;
  if (!queued_.empty()) {
    r = std::move(queued_.front());
    queued_.pop_front();
  } else if (handler_) {
    r = handler_(policy, now);
  } else {
    r = steady_;
    if (!r.known && r.reason.empty()) r.reason = "fake: no demand set";
  }
  r.at = now;
  co_return r;
}

boost::asio::awaitable<Result<std::vector<DemandReading>, std::string>> FakeTrafficSource::backfill(
    const PlacementPolicy& /*policy*/, TimePoint from, TimePoint to, Duration /*step*/) {
  using Out = Result<std::vector<DemandReading>, std::string>;
  ++backfills_;
  if (!backfill_error_.empty()) co_return Out(make_err(backfill_error_));
  std::vector<DemandReading> out;
  for (const auto& r : history_) {
    if (r.at >= from && r.at <= to) out.push_back(r);
  }
  co_return Out(std::move(out));
}

}  // namespace autoplacer::metrics
