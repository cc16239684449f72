#include "controller/ha_runtime.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>

#include "common/log.h"
#include "controller/ha_gated_machines_api.h"
#include "metrics/self_metrics.h"

namespace autoplacer::controller {
namespace asio = boost::asio;
namespace json = boost::json;
using std::chrono::duration_cast;

TimePoint MonotonicClock::now() const {
  return TimePoint{duration_cast<Duration>(std::chrono::steady_clock::now().time_since_epoch())};
}

RoleReport describe_role(const etcd::LeaderState& s, const std::string& identity,
                         Duration role_age) {
  RoleReport r;
  r.role = s.role;
  switch (s.role) {
    case etcd::Role::kLeader:
      r.summary = "leader";
      break;
    case etcd::Role::kFollower:
      r.summary = s.leader_identity.empty() ? "follower (no leader elected yet)"
                                            : "follower of '" + s.leader_identity + "'";
      break;
    case etcd::Role::kNoQuorum:
      r.summary = "no quorum: etcd unreachable" +
                  (s.last_error.empty() ? std::string() : " (" + s.last_error + ")");
      break;
  }
  json::object o;
  o["mode"] = "etcd";
  o["role"] = etcd::to_string(s.role);
  o["identity"] = identity;
  o["summary"] = r.summary;
  if (!s.leader_identity.empty()) o["leader"] = s.leader_identity;
  if (s.leader_revision != 0) o["leaderRevision"] = s.leader_revision;
  o["roleForSeconds"] = static_cast<double>(role_age.count()) / 1000.0;
  o["transitions"] = s.transitions;
  if (!s.last_error.empty()) o["lastError"] = s.last_error;
  r.json = std::move(o);
  return r;
}

Result<std::unique_ptr<HaRuntime>, std::string> HaRuntime::create(asio::any_io_executor executor,
                                                                  HaOptions options,
                                                                  metrics::SelfMetrics* metrics) {
  if (!options.enabled()) return make_err(std::string("HA mode needs --etcd-endpoints"));
  if (!options.client.password.empty()) log::register_secret(options.client.password);
  return std::unique_ptr<HaRuntime>(
      new HaRuntime(std::move(executor), std::move(options), metrics));
}

HaRuntime::HaRuntime(asio::any_io_executor executor, HaOptions options,
                     metrics::SelfMetrics* metrics)
    : executor_(std::move(executor)), options_(std::move(options)), metrics_(metrics) {
  // The connect timeout is the request timeout: an unreachable member must not hold a renewal
  // past it, or the next endpoint is tried too late.
  transport_ =
      etcd::make_etcd_transport(executor_, options_.client.tls, options_.client.request_timeout);
  client_ = std::make_unique<etcd::EtcdGatewayClient>(options_.client, transport_);
  const auto config = election_config(options_);
  etcd::LeaderCallbacks callbacks;
  callbacks.on_started_leading = [this](etcd::Revision revision) {
    spdlog::info("HA: {} is the leader now (leadership revision {}); acting", options_.replica_id,
                 revision);
    publish_once();
  };
  callbacks.on_stopped_leading = [this](const std::string& why) {
    spdlog::warn("HA: {} stopped leading ({}); no more actions from this replica",
                 options_.replica_id, why);
    publish_once();
  };
  callbacks.on_new_leader = [this](const std::string& identity) {
    if (identity != options_.replica_id) spdlog::info("HA: following '{}'", identity);
  };
  elector_ = std::make_unique<etcd::LeaderElector>(*client_, clock_, config, std::move(callbacks));
  etcd::LeaderFence fence{config.key, [this] { return elector_->leadership_revision(); }};
  etcd_store_ =
      std::make_unique<etcd::EtcdStateStore>(*client_, state_prefix(options_), std::move(fence));
  adapter_ = std::make_unique<EtcdStateStoreAdapter>(*etcd_store_);
  gate_ = std::make_unique<FunctionGate>(
      [this] { return elector_->is_leader(); }, [this] { return role().summary; },
      [this] { return static_cast<std::uint64_t>(elector_->leadership_revision().value_or(0)); });

  if (metrics_ != nullptr) {
    auto& registry = *metrics_->registry();
    role_family_ = &prometheus::BuildGauge()
                        .Name("autoplacer_leader_role")
                        .Help(
                            "1 for this replica's current role in the leader election "
                            "(leader, follower, no_quorum: etcd unreachable)")
                        .Register(registry);
    refused_family_ = &prometheus::BuildCounter()
                           .Name("autoplacer_leader_writes_refused_total")
                           .Help(
                               "Machines API writes not sent because this replica no longer "
                               "leads")
                           .Register(registry);
    for (auto role : {etcd::Role::kLeader, etcd::Role::kFollower, etcd::Role::kNoQuorum})
      role_family_->Add({{"role", etcd::to_string(role)}}).Set(0);
  }
}

HaRuntime::~HaRuntime() {
  stopping_ = true;
  elector_->stop();
}

std::shared_ptr<fly::MachinesApi> HaRuntime::wrap_machines_api(
    std::shared_ptr<fly::MachinesApi> api) {
  auto* refused = refused_family_;
  return std::make_shared<GatedMachinesApi>(
      std::move(api), *gate_, [refused](const char* operation) {
        if (refused != nullptr) refused->Add({{"operation", operation}}).Increment();
      });
}

RoleReport HaRuntime::role() const {
  const etcd::LeaderState s = elector_->state();
  return describe_role(s, options_.replica_id, clock_.now() - s.role_since);
}

void HaRuntime::publish_once() {
  const etcd::LeaderState s = elector_->state();
  if (metrics_ != nullptr) metrics_->set_leader(elector_->is_leader());
  if (role_family_ != nullptr) {
    for (auto role : {etcd::Role::kLeader, etcd::Role::kFollower, etcd::Role::kNoQuorum})
      role_family_->Add({{"role", etcd::to_string(role)}}).Set(s.role == role ? 1 : 0);
  }
}

asio::awaitable<void> HaRuntime::publish_metrics() {
  // Often enough that autoplacer_leader drops within a scrape of the renew deadline passing,
  // even while the election loop waits on a slow etcd.
  while (!stopping_) {
    publish_once();
    publish_timer_->expires_after(std::chrono::milliseconds(250));
    (void)co_await publish_timer_->async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

void HaRuntime::start() {
  spdlog::info(
      "HA: replica '{}' campaigning for {} on {} (lease {}, renew deadline {}, retry {}); state "
      "under {}",
      options_.replica_id, election_config(options_).key, options_.client.endpoints.front(),
      format_duration(options_.lease_duration), format_duration(options_.renew_deadline),
      format_duration(options_.retry_period), state_prefix(options_));
  publish_timer_ = std::make_shared<asio::steady_timer>(executor_);
  asio::co_spawn(executor_, elector_->run(), asio::detached);
  asio::co_spawn(executor_, publish_metrics(), asio::detached);
}

asio::awaitable<void> HaRuntime::resign() {
  stopping_ = true;
  if (publish_timer_) publish_timer_->cancel();
  const bool was_leader = elector_->is_leader();
  co_await elector_->resign();
  if (was_leader) spdlog::info("HA: {} resigned the leadership", options_.replica_id);
  publish_once();
}

}  // namespace autoplacer::controller
