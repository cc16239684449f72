#include "metrics/prometheus_traffic_source.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>
#include <optional>

#include "metrics/query_template.h"

namespace autoplacer::metrics {
namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

std::string seconds_text(Duration d) {
  return format_prom_seconds(d) + "s";
}

// Why a sample value cannot be used, or nullopt when it can.
std::optional<std::string> bad_value(double v) {
  if (std::isnan(v)) return "value is NaN";
  if (std::isinf(v)) return "value is infinite";
  if (v < 0) return "value is negative";
  return std::nullopt;
}

const std::string* region_of(const PromSeries& s) {
  auto it = s.labels.find(kRegionLabel);
  if (it == s.labels.end() || it->second.empty()) return nullptr;
  return &it->second;
}

std::string wrong_type_reason(PromResultType t) {
  return std::string("query answered a ") + to_string(t) +
         ", not a vector by region (aggregate with `by (region)`)";
}

// Per-region accumulation shared by instant and range answers.
struct Accumulator {
  std::map<std::string, double> rps;
  std::map<std::string, std::string> unknown;

  void add(const std::string& region, double value, std::optional<std::string> why) {
    if (unknown.count(region) != 0) return;
    if (why) {
      rps.erase(region);
      unknown.emplace(region, std::move(*why));
      return;
    }
    rps[region] += value;
  }

  void finish(DemandReading& r) {
    r.rps = std::move(rps);
    r.unknown = std::move(unknown);
    if (r.rps.empty()) {
      // Every series was unusable: absent regions would read as zero, so nothing is known.
      r.known = false;
      r.reason = "no usable sample";
      if (!r.unknown.empty()) {
        const auto& [region, why] = *r.unknown.begin();
        r.reason += " (" + region + ": " + why;
        if (r.unknown.size() > 1) r.reason += ", ...";
        r.reason += ")";
      }
    } else {
      r.known = true;
    }
  }
};

}  // namespace

DemandReading interpret_demand(const PromResult& answer, TimePoint now, Duration staleness) {
  DemandReading r;
  r.at = now;
  if (!answer) {
    r.reason = "query failed: " + describe(answer.error());
    return r;
  }
  if (answer->type != PromResultType::kVector) {
    r.reason = wrong_type_reason(answer->type);
    return r;
  }
  if (answer->series.empty()) {
    r.reason =
        "empty result: no series matched (no traffic recorded for the app, or metrics are "
        "not being collected)";
    return r;
  }
  Accumulator acc;
  for (const auto& s : answer->series) {
    const auto* region = region_of(s);
    if (region == nullptr) {
      r.reason = "a series has no `region` label (aggregate with `sum by (region)`)";
      return r;
    }
    if (s.points.empty()) {
      acc.add(*region, 0, "no sample");
      continue;
    }
    const auto& p = s.points.back();
    auto why = bad_value(p.value);
    if (!why && now - p.at > staleness) {
      why = "stale: sample is " + seconds_text(now - p.at) + " old (limit " +
            seconds_text(staleness) + ")";
    }
    acc.add(*region, p.value, std::move(why));
  }
  acc.finish(r);
  return r;
}

std::map<std::string, double> interpret_latency_ms(const PromResult& answer, TimePoint now,
                                                   Duration staleness) {
  std::map<std::string, double> out;
  if (!answer || answer->type != PromResultType::kVector) return out;
  for (const auto& s : answer->series) {
    const auto* region = region_of(s);
    if (region == nullptr || s.points.empty()) continue;
    const auto& p = s.points.back();
    if (bad_value(p.value) || now - p.at > staleness) continue;
    const double ms = p.value * 1000.0;
    auto [it, inserted] = out.emplace(*region, ms);
    if (!inserted) it->second = std::max(it->second, ms);
  }
  return out;
}

Result<std::vector<DemandReading>, std::string> interpret_range(const PromResult& answer,
                                                                TimePoint from, TimePoint to,
                                                                Duration step) {
  if (!answer) return make_err("query_range failed: " + describe(answer.error()));
  if (answer->type != PromResultType::kMatrix) {
    return make_err(std::string("query_range answered a ") + to_string(answer->type) +
                    ", not a matrix");
  }
  if (step <= Duration::zero() || to < from) return make_err(std::string("bad range or step"));
  const auto count = static_cast<std::size_t>((to - from) / step) + 1;
  std::vector<Accumulator> grid(count);
  std::vector<bool> seen(count, false);
  for (const auto& s : answer->series) {
    const auto* region = region_of(s);
    if (region == nullptr) {
      return make_err(
          std::string("a series has no `region` label (aggregate with `sum by (region)`)"));
    }
    for (const auto& p : s.points) {
      if (p.at < from) continue;
      // Points sit on the grid; round to the nearest grid time to absorb sub-ms formatting.
      const auto k = static_cast<std::size_t>((p.at - from + step / 2) / step);
      if (k >= count) continue;
      seen[k] = true;
      grid[k].add(*region, p.value, bad_value(p.value));
    }
  }
  std::vector<DemandReading> out(count);
  for (std::size_t k = 0; k < count; ++k) {
    out[k].at = from + step * static_cast<std::int64_t>(k);
    if (!seen[k]) {
      out[k].reason = "no data at this time";
      continue;
    }
    grid[k].finish(out[k]);
  }
  return out;
}

PrometheusTrafficSource::PrometheusTrafficSource(std::shared_ptr<PrometheusApi> api,
                                                 const RegionCatalog& catalog,
                                                 PrometheusTrafficSourceOptions options)
    : api_(std::move(api)), catalog_(catalog), options_(options) {}

asio::awaitable<PromResult> PrometheusTrafficSource::guarded(asio::awaitable<PromResult> op,
                                                             Duration timeout) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(timeout + options_.watchdogGrace);
  auto wait = timer.async_wait(asio::use_awaitable);
  auto race = std::move(op) || std::move(wait);
  auto raced = co_await std::move(race);
  if (raced.index() == 0) co_return std::move(std::get<0>(raced));
  PromError e{PromError::Kind::kTimeout, "no answer within " + seconds_text(timeout)};
  co_return make_err(std::move(e));
}

asio::awaitable<DemandReading> PrometheusTrafficSource::read(const PlacementPolicy& policy,
                                                             TimePoint now) {
  const auto& traffic = policy.spec.traffic;
  const auto vars = query_variables(policy);
  auto demand_query = expand_query(traffic.query, vars);
  if (!demand_query) {
    DemandReading r;
    r.at = now;
    r.reason = "bad traffic.query: " + demand_query.error();
    co_return r;
  }
  std::optional<std::string> latency_query;
  if (!traffic.latencyQuery.empty()) {
    auto q = expand_query(traffic.latencyQuery, vars);
    if (q) {
      latency_query = std::move(*q);
    } else {
      spdlog::warn("policy {}: bad traffic.latencyQuery, latency not read: {}",
                   policy.metadata.name, q.error());
    }
  }

  // Queries are built as named values before any co_await: GCC 12 mishandles braced temporaries
  // inside co_await expressions (double destruction).
  InstantQuery dq;
  dq.query = std::move(*demand_query);
  dq.time = now;
  dq.timeout = traffic.queryTimeout;
  DemandReading reading;
  if (latency_query) {
    InstantQuery lq = dq;
    lq.query = std::move(*latency_query);
    // Both at once: a slow latency query must not push the demand read past its time-out.
    auto demand_op = guarded(api_->query(std::move(dq)), traffic.queryTimeout);
    auto latency_op = guarded(api_->query(std::move(lq)), traffic.queryTimeout);
    auto both = co_await (std::move(demand_op) && std::move(latency_op));
    const PromResult& demand = std::get<0>(both);
    const PromResult& latency = std::get<1>(both);
    reading = interpret_demand(demand, now, traffic.staleness);
    reading.p95LatencyMs = interpret_latency_ms(latency, now, traffic.staleness);
    if (!latency) {
      spdlog::debug("policy {}: latency query failed: {}", policy.metadata.name,
                    describe(latency.error()));
    }
  } else {
    auto demand_op = guarded(api_->query(std::move(dq)), traffic.queryTimeout);
    PromResult demand = co_await std::move(demand_op);
    reading = interpret_demand(demand, now, traffic.staleness);
  }
  if (reading.known) note_mapping(reading);
  co_return reading;
}

void PrometheusTrafficSource::note_mapping(const DemandReading& reading) {
  last_mapping_ = map_origins(reading, catalog_);
  for (const auto& code : last_mapping_.unmapped) {
    // Kept (demand is demand), but the core cannot place it near anything: say so once.
    if (warned_unmapped_.insert(code).second) {
      spdlog::warn("traffic from origin region \"{}\" which the region catalog does not know",
                   code);
    }
  }
}

asio::awaitable<Result<std::vector<DemandReading>, std::string>> PrometheusTrafficSource::backfill(
    const PlacementPolicy& policy, TimePoint from, TimePoint to, Duration step) {
  using Out = Result<std::vector<DemandReading>, std::string>;
  const auto& traffic = policy.spec.traffic;
  if (step <= Duration::zero() || to < from)
    co_return Out(make_err(std::string("bad range or step")));
  auto query = expand_query(traffic.query, query_variables(policy));
  if (!query) co_return Out(make_err("bad traffic.query: " + query.error()));

  const auto per_chunk =
      static_cast<std::int64_t>(std::max<std::size_t>(options_.maxPointsPerRangeQuery, 2));
  std::vector<DemandReading> all;
  std::size_t failed_chunks = 0, chunks = 0;
  std::string first_error;
  for (TimePoint start = from; start <= to; start += step * per_chunk) {
    const TimePoint end = std::min(to, start + step * (per_chunk - 1));
    ++chunks;
    RangeQuery rq;
    rq.query = *query;
    rq.start = start;
    rq.end = end;
    rq.step = step;
    rq.timeout = traffic.queryTimeout;
    auto op = guarded(api_->query_range(std::move(rq)), traffic.queryTimeout);
    PromResult answer = co_await std::move(op);
    auto part = interpret_range(answer, start, end, step);
    if (part) {
      for (auto& r : *part) all.push_back(std::move(r));
      continue;
    }
    // One failed chunk leaves a gap, not a failed warm start: its times are unknown.
    ++failed_chunks;
    if (first_error.empty()) first_error = part.error();
    for (TimePoint t = start; t <= end; t += step) {
      DemandReading r;
      r.at = t;
      r.reason = part.error();
      all.push_back(std::move(r));
    }
  }
  if (failed_chunks == chunks) co_return Out(make_err(std::move(first_error)));
  co_return Out(std::move(all));
}

}  // namespace autoplacer::metrics
