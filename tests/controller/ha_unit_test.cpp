// High-availability wiring without etcd: the flags and environment, what a role looks like in
// /readyz and /status, and the Machines API that refuses writes when this replica may not act.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <map>
#include <string>

#include "controller/etcd_test_util.h"
#include "controller/ha_gated_machines_api.h"
#include "controller/ha_options.h"
#include "controller/ha_runtime.h"
#include "controller/http_api.h"
#include "fly/fake_machines_api.h"

namespace autoplacer::controller {
namespace {
namespace json = boost::json;
using autoplacer::testing::run_sync;

GetEnv env_of(std::map<std::string, std::string> vars) {
  auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
  return [shared](const char* name) -> const char* {
    auto it = shared->find(name);
    return it == shared->end() ? nullptr : it->second.c_str();
  };
}

FlagValue value_of(std::string v) {
  return [v]() -> Result<std::string, std::string> { return v; };
}

// ---- Options --------------------------------------------------------------------------------

TEST(HaOptions, WithoutEndpointsHaIsOff) {
  HaOptions o;
  ASSERT_TRUE(resolve_ha_options(o, env_of({}), "host-1", "web-app").ok());
  EXPECT_FALSE(o.enabled());
}

TEST(HaOptions, FlagsAndDefaults) {
  HaOptions o;
  for (auto [name, value] :
       std::map<std::string, std::string>{{"--etcd-endpoints", "http://e1:2379,http://e2:2379"},
                                          {"--lease-duration", "6s"},
                                          {"--renew-deadline", "4s"},
                                          {"--retry-period", "1s"},
                                          {"--etcd-request-timeout", "2s"}}) {
    auto r = parse_ha_flag(name, value_of(value), o);
    ASSERT_TRUE(r.has_value()) << name;
    ASSERT_TRUE(r->ok()) << name << ": " << r->error();
  }
  EXPECT_FALSE(parse_ha_flag("--policy", value_of("x"), o).has_value());
  ASSERT_TRUE(resolve_ha_options(o, env_of({}), "host-1", "web-app").ok());
  EXPECT_TRUE(o.enabled());
  EXPECT_EQ(o.client.endpoints.size(), 2u);
  EXPECT_EQ(o.replica_id, "host-1");
  EXPECT_EQ(o.prefix, "/autoplacer/web-app");
  auto c = election_config(o);
  EXPECT_EQ(c.key, "/autoplacer/web-app/leader");
  EXPECT_EQ(c.lease_duration, std::chrono::seconds(6));
  EXPECT_EQ(c.renew_deadline, std::chrono::seconds(4));
  EXPECT_EQ(c.retry_period, std::chrono::seconds(1));
  EXPECT_EQ(state_prefix(o), "/autoplacer/web-app/state/");
}

TEST(HaOptions, KubernetesDefaults) {
  HaOptions o;
  EXPECT_EQ(o.lease_duration, std::chrono::seconds(15));
  EXPECT_EQ(o.renew_deadline, std::chrono::seconds(10));
  EXPECT_EQ(o.retry_period, std::chrono::seconds(2));
}

TEST(HaOptions, EnvironmentAndFlyIdentity) {
  HaOptions o;
  auto env = env_of({{"ETCD_ENDPOINTS", "https://etcd.internal:2379"},
                     {"ETCD_USERNAME", "autoplacer"},
                     {"ETCD_PASSWORD", "s3cret"},
                     {"FLY_MACHINE_ID", "148e21"},
                     {"FLY_REGION", "ams"}});
  ASSERT_TRUE(resolve_ha_options(o, env, "host-1", "").ok());
  EXPECT_TRUE(o.enabled());
  EXPECT_EQ(o.client.username, "autoplacer");
  EXPECT_EQ(o.client.password, "s3cret");
  EXPECT_EQ(o.replica_id, "148e21@ams");
  EXPECT_TRUE(o.prefix.empty());  // filled once the policies say which app
  EXPECT_EQ(default_prefix_for("web"), "/autoplacer/web");
  // The older spelling still works; the short one wins.
  HaOptions old;
  ASSERT_TRUE(resolve_ha_options(old,
                                 env_of({{"AUTOPLACER_ETCD_ENDPOINTS", "http://old:2379"},
                                         {"ETCD_ENDPOINTS", "http://new:2379"}}),
                                 "h", "app")
                  .ok());
  ASSERT_EQ(old.client.endpoints.size(), 1u);
  EXPECT_EQ(old.client.endpoints[0], "http://new:2379");
}

TEST(HaOptions, RejectsWhatCannotWork) {
  {
    HaOptions o;
    auto r = parse_ha_flag("--etcd-password", value_of("pw"), o);
    ASSERT_TRUE(r.has_value());
    EXPECT_FALSE(r->ok());  // never on the command line
  }
  {
    HaOptions o;
    EXPECT_FALSE(parse_ha_flag("--lease-duration", value_of("soon"), o)->ok());
  }
  auto resolve = [](HaOptions o, std::map<std::string, std::string> env = {}) {
    o.etcd.endpoints = o.etcd.endpoints.empty() ? "http://e:2379" : o.etcd.endpoints;
    return resolve_ha_options(o, env_of(std::move(env)), "h", "app").ok();
  };
  HaOptions o;
  EXPECT_TRUE(resolve(o));
  o.renew_deadline = std::chrono::seconds(20);  // longer than the lease
  EXPECT_FALSE(resolve(o));
  o = {};
  o.lease_duration = std::chrono::milliseconds(2500);  // etcd TTLs are whole seconds
  EXPECT_FALSE(resolve(o));
  o = {};
  o.etcd.request_timeout = "10s";  // a renewal could not fit in the renew deadline
  EXPECT_FALSE(resolve(o));
  o = {};
  o.etcd.username = "u";  // without ETCD_PASSWORD
  EXPECT_FALSE(resolve(o));
  EXPECT_TRUE(resolve(o, {{"ETCD_PASSWORD", "p"}}));
  o = {};
  o.prefix = "no-slash";
  EXPECT_FALSE(resolve(o));
  o = {};
  o.etcd.endpoints = "etcd:2379";  // no scheme
  EXPECT_FALSE(resolve(o));
}

TEST(HaOptions, DefaultReplicaId) {
  EXPECT_EQ(default_replica_id(env_of({}), "box"), "box");
  EXPECT_EQ(default_replica_id(env_of({{"FLY_MACHINE_ID", "m1"}}), "box"), "m1");
  EXPECT_EQ(default_replica_id(env_of({}), ""), "autoplacer");
}

// ---- Role reports ---------------------------------------------------------------------------

TEST(HaRole, DescribesEachRole) {
  etcd::LeaderState s;
  s.role = etcd::Role::kLeader;
  s.leader_identity = "a";
  s.leader_revision = 42;
  auto r = describe_role(s, "a", std::chrono::seconds(3));
  EXPECT_EQ(r.summary, "leader");
  EXPECT_EQ(r.json.as_object().at("role").as_string(), "leader");
  EXPECT_EQ(r.json.as_object().at("leaderRevision").as_int64(), 42);

  s.role = etcd::Role::kFollower;
  r = describe_role(s, "b", std::chrono::seconds(3));
  EXPECT_EQ(r.summary, "follower of 'a'");
  EXPECT_EQ(r.json.as_object().at("leader").as_string(), "a");
  EXPECT_EQ(r.json.as_object().at("identity").as_string(), "b");

  s.role = etcd::Role::kNoQuorum;
  s.leader_identity.clear();
  s.last_error = "transport: connection refused";
  r = describe_role(s, "b", std::chrono::seconds(3));
  EXPECT_EQ(r.json.as_object().at("role").as_string(), "no_quorum");
  EXPECT_NE(r.summary.find("no quorum"), std::string::npos);
  EXPECT_NE(r.summary.find("connection refused"), std::string::npos);
}

// ---- /readyz and /status with a role --------------------------------------------------------

class StandbyView final : public ControllerView {
 public:
  std::string metrics_text() override { return ""; }
  Readiness readiness() override { return Readiness{true, "standby: follower of 'a'", {}}; }
  json::value status_json() override { return json::object{{"policies", json::array{}}}; }
  boost::asio::awaitable<TriggerOutcome> trigger(std::optional<std::string>) override {
    co_return TriggerOutcome{503, json::object{}};
  }
};

net::Response get(net::Router& router, const std::string& target) {
  net::Request req{net::http::verb::get, target, 11};
  return run_sync(router.dispatch(req));
}

TEST(HaHttp, FollowerIsReadyAndSaysSo) {
  StandbyView view;
  HttpApiOptions o;
  o.role = [] { return json::value(json::object{{"role", "follower"}, {"leader", "a"}}); };
  auto router = HttpApi::make_router(view, o, std::make_shared<std::atomic<int>>(0));
  auto ready = get(router, "/readyz");
  EXPECT_EQ(ready.result_int(), 200u);
  auto body = json::parse(ready.body()).as_object();
  EXPECT_EQ(body.at("role").as_string(), "follower");
  EXPECT_EQ(body.at("ha").as_object().at("leader").as_string(), "a");
  auto status = json::parse(get(router, "/status").body()).as_object();
  EXPECT_EQ(status.at("role").as_string(), "follower");
  EXPECT_EQ(status.at("ha").as_object().at("leader").as_string(), "a");
}

TEST(HaHttp, NoQuorumIsNotReady) {
  StandbyView view;
  HttpApiOptions o;
  o.role = [] {
    return json::value(
        json::object{{"role", "no_quorum"}, {"summary", "no quorum: etcd unreachable"}});
  };
  auto router = HttpApi::make_router(view, o, std::make_shared<std::atomic<int>>(0));
  auto ready = get(router, "/readyz");
  EXPECT_EQ(ready.result_int(), 503u);
  auto body = json::parse(ready.body()).as_object();
  EXPECT_EQ(body.at("role").as_string(), "no_quorum");
  EXPECT_EQ(body.at("reason").as_string(), "no quorum: etcd unreachable");
}

TEST(HaHttp, WithoutRoleNothingChanges) {
  StandbyView view;
  auto router = HttpApi::make_router(view, {}, std::make_shared<std::atomic<int>>(0));
  auto body = json::parse(get(router, "/readyz").body()).as_object();
  EXPECT_FALSE(body.contains("role"));
  EXPECT_FALSE(json::parse(get(router, "/status").body()).as_object().contains("ha"));
}

// ---- Writes refused when not leading ---------------------------------------------------------

TEST(HaGatedMachinesApi, RefusesWritesButNotReadsWhenTheGateIsClosed) {
  auto fake = std::make_shared<fly::FakeMachinesApi>("app");
  const std::string id = fake->add_machine(fly::FakeMachinesApi::make_machine("", "iad"));
  std::atomic<bool> leading{true};
  FunctionGate gate([&] { return leading.load(); }, [] { return "follower of 'x'"; });
  std::vector<std::string> refused;
  GatedMachinesApi api(fake, gate, [&](const char* op) { refused.emplace_back(op); });

  EXPECT_TRUE(run_sync(api.stop_machine(id, {}, "")).ok());
  const std::string state_after_stop = fake->find(id)->state;
  leading = false;
  EXPECT_TRUE(run_sync(api.list_machines({})).ok());
  EXPECT_TRUE(run_sync(api.get_machine(id, false)).ok());
  auto started = run_sync(api.start_machine(id, ""));
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().kind, fly::FlyError::Kind::kCancelled);
  EXPECT_FALSE(started.error().outcome_unknown);  // nothing was sent
  EXPECT_NE(started.error().message.find("follower of 'x'"), std::string::npos);
  EXPECT_FALSE(run_sync(api.delete_machine(id, true, "")).ok());
  EXPECT_FALSE(run_sync(api.create_machine({})).ok());
  EXPECT_FALSE(run_sync(api.acquire_lease(id, std::chrono::seconds(30), "x")).ok());
  EXPECT_FALSE(run_sync(api.set_metadata(id, "k", "v", "")).ok());
  EXPECT_EQ(refused.size(), 5u);
  EXPECT_EQ(fake->machines().size(), 1u);
  EXPECT_EQ(fake->find(id)->state, state_after_stop);  // the start never reached the API
}

}  // namespace
}  // namespace autoplacer::controller
