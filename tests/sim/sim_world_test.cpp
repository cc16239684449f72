// flysim's pure parts: the world model (lifecycle, leases, listing, metadata, capacity), the API
// rate limits, fault injection and the edge-traffic model. No sockets, no wall clock.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cmath>

#include "sim/api_rate_limits.h"
#include "sim/edge_traffic.h"
#include "sim/faults.h"
#include "sim/fly_world.h"

namespace autoplacer::sim {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;

const TimePoint kT0 = from_unix_seconds(1'700'000'000);

json::value create_body(std::string region, std::map<std::string, std::string> md = {},
                        std::string name = "", bool skip_launch = false) {
  json::object meta;
  for (auto& [k, v] : md) meta[k] = v;
  json::object o{{"region", region},
                 {"config", json::object{{"image", "registry.fly.io/app:v1"}, {"metadata", meta}}}};
  if (!name.empty()) o["name"] = name;
  if (skip_launch) o["skip_launch"] = true;
  return o;
}

std::string id_of(const json::value& m) {
  return std::string(m.at("id").as_string());
}
std::string state_of(FlyWorld& w, const std::string& id, TimePoint t) {
  w.advance(t);
  return std::string(w.get("app", id, false, t)->at("state").as_string());
}

FlyWorld make_world(std::map<std::string, int> capacity = {}) {
  FlyWorld::Options o;
  o.apps = {"app"};
  o.capacity = std::move(capacity);
  o.delays.create = 2s;
  o.delays.start = 1s;
  o.delays.stop = 3s;
  o.delays.destroy = 1s;
  return FlyWorld(o);
}

TEST(FlyWorld, CreateGoesThroughCreatingStartingStarted) {
  auto w = make_world();
  auto m = w.create("app", create_body("fra"), kT0);
  ASSERT_TRUE(m.ok()) << m.error().message;
  const auto id = id_of(*m);
  EXPECT_EQ(m->at("state").as_string(), "creating");
  EXPECT_EQ(m->at("region").as_string(), "fra");
  EXPECT_EQ(m->at("image_ref").at("repository").as_string(), "app");
  EXPECT_EQ(m->at("image_ref").at("tag").as_string(), "v1");
  EXPECT_EQ(state_of(w, id, kT0 + 1999ms), "creating");
  EXPECT_EQ(state_of(w, id, kT0 + 2s), "starting");
  EXPECT_EQ(state_of(w, id, kT0 + 3s), "started");
  EXPECT_EQ(w.next_transition(), std::nullopt);
  // stop -> stopping -> stopped; start again; destroy needs stopped or force.
  ASSERT_TRUE(w.stop("app", id, nullptr, "", kT0 + 4s).ok());
  EXPECT_EQ(state_of(w, id, kT0 + 5s), "stopping");
  EXPECT_EQ(state_of(w, id, kT0 + 7s), "stopped");
  ASSERT_TRUE(w.start("app", id, "", kT0 + 8s).ok());
  EXPECT_EQ(state_of(w, id, kT0 + 9s), "started");
  auto d = w.destroy("app", id, false, "", kT0 + 10s);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().status, 412);
  ASSERT_TRUE(w.destroy("app", id, true, "", kT0 + 10s).ok());
  EXPECT_EQ(state_of(w, id, kT0 + 11s), "destroyed");
  // Destroyed machines leave the default listing but stay visible with include_deleted.
  EXPECT_EQ(w.list("app", {}, kT0 + 11s)->machines.size(), 0u);
  ListQuery q;
  q.include_deleted = true;
  EXPECT_EQ(w.list("app", q, kT0 + 11s)->machines.size(), 1u);
}

TEST(FlyWorld, SkipLaunchStopsAtCreated) {
  auto w = make_world();
  auto m = w.create("app", create_body("ams", {}, "", true), kT0);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(state_of(w, id_of(*m), kT0 + 10s), "created");
}

TEST(FlyWorld, WaitCheck) {
  auto w = make_world();
  auto id = id_of(*w.create("app", create_body("fra"), kT0));
  auto r = w.wait_check("app", id, {"started"}, "", kT0);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  w.advance(kT0 + 3s);
  r = w.wait_check("app", id, {"stopped", "started"}, "", kT0 + 3s);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((**r).at("state").as_string(), "started");
  EXPECT_TRUE(w.wait_check("app", id, {"settled"}, "", kT0 + 3s)->has_value());
  EXPECT_EQ(w.wait_check("app", id, {"bogus"}, "", kT0).error().status, 400);
  EXPECT_EQ(w.wait_check("app", "nope", {"started"}, "", kT0).error().status, 404);
}

TEST(FlyWorld, LeasesNonceAndConflicts) {
  auto w = make_world();
  auto id = id_of(*w.create("app", create_body("fra"), kT0));
  w.advance(kT0 + 3s);
  auto lease =
      w.lease_acquire("app", id, json::object{{"ttl", 30}, {"description", "me"}}, "", kT0 + 3s);
  ASSERT_TRUE(lease.ok());
  const std::string nonce(lease->at("nonce").as_string());
  EXPECT_EQ(lease->at("expires_at").as_int64(), 1'700'000'033);
  // Someone else (no or wrong nonce): 409 on lease and on every change.
  EXPECT_EQ(w.lease_acquire("app", id, json::object{}, "", kT0 + 4s).error().status, 409);
  EXPECT_EQ(w.stop("app", id, nullptr, "", kT0 + 4s).error().status, 409);
  EXPECT_EQ(w.stop("app", id, nullptr, "wrong", kT0 + 4s).error().status, 409);
  EXPECT_EQ(
      w.metadata_set_key("app", id, "k", json::object{{"value", "v"}}, "", kT0 + 4s).error().status,
      409);
  // The holder can act and refresh; the nonce stays.
  EXPECT_TRUE(w.metadata_set_key("app", id, "k", json::object{{"value", "v"}}, nonce, kT0 + 4s));
  auto refreshed = w.lease_acquire("app", id, json::object{{"ttl", 60}}, nonce, kT0 + 5s);
  ASSERT_TRUE(refreshed.ok());
  EXPECT_EQ(refreshed->at("nonce").as_string(), nonce);
  EXPECT_EQ(w.lease_get("app", id, kT0 + 5s)->at("nonce").as_string(), nonce);
  // Release needs the nonce; releasing again is fine.
  EXPECT_EQ(w.lease_release("app", id, "wrong", kT0 + 6s).error().status, 409);
  EXPECT_TRUE(w.lease_release("app", id, nonce, kT0 + 6s).ok());
  EXPECT_TRUE(w.lease_release("app", id, nonce, kT0 + 6s).ok());
  EXPECT_EQ(w.lease_get("app", id, kT0 + 6s).error().status, 404);
  // A foreign lease expires by itself.
  ASSERT_TRUE(w.set_foreign_lease("app", id, "deployer", 10s, kT0 + 7s));
  EXPECT_EQ(w.start("app", id, "", kT0 + 8s).error().status, 409);
  EXPECT_TRUE(w.start("app", id, "", kT0 + 17s).ok());
}

TEST(FlyWorld, CreateWithLeaseTtlReturnsNonce) {
  auto w = make_world();
  auto body = create_body("fra");
  body.as_object()["lease_ttl"] = 20;
  auto m = w.create("app", body, kT0);
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(m->as_object().contains("nonce"));
  const std::string nonce(m->at("nonce").as_string());
  w.advance(kT0 + 5s);
  EXPECT_EQ(w.stop("app", id_of(*m), nullptr, "", kT0 + 5s).error().status, 409);
  EXPECT_TRUE(w.stop("app", id_of(*m), nullptr, nonce, kT0 + 5s).ok());
}

TEST(FlyWorld, ListFiltersAndPaginates) {
  auto w = make_world();
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(
        w.create("app", create_body(i < 3 ? "fra" : "lhr", {{"owner", i % 2 ? "a" : "b"}}), kT0));
  w.advance(kT0 + 3s);
  ListQuery q;
  q.region = "fra";
  EXPECT_EQ(w.list("app", q, kT0 + 3s)->machines.size(), 3u);
  q = {};
  q.metadata = {{"owner", "b"}};
  EXPECT_EQ(w.list("app", q, kT0 + 3s)->machines.size(), 3u);
  q.region = "lhr";
  EXPECT_EQ(w.list("app", q, kT0 + 3s)->machines.size(), 1u);
  q = {};
  q.states = {"stopped", "created"};
  EXPECT_EQ(w.list("app", q, kT0 + 3s)->machines.size(), 0u);
  q.states = {"started"};
  EXPECT_EQ(w.list("app", q, kT0 + 3s)->machines.size(), 5u);
  // Pages of two: 2 + 2 + 1, every machine exactly once.
  std::set<std::string> seen;
  ListQuery page;
  page.limit = 2;
  int pages = 0;
  for (;;) {
    auto r = w.list("app", page, kT0 + 3s);
    ASSERT_TRUE(r.ok());
    ++pages;
    for (const auto& m : r->machines) EXPECT_TRUE(seen.insert(id_of(m)).second);
    if (r->next_cursor.empty()) break;
    page.cursor = r->next_cursor;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen.size(), 5u);
  page.cursor = "garbage";
  EXPECT_EQ(w.list("app", page, kT0).error().status, 400);
  page.limit = 0;
  page.cursor.clear();
  EXPECT_EQ(w.list("app", page, kT0).error().status, 400);
  // summary omits config, events and host_status.
  q = {};
  q.summary = true;
  auto s = w.list("app", q, kT0 + 3s);
  EXPECT_FALSE(s->machines[0].as_object().contains("config"));
  EXPECT_FALSE(s->machines[0].as_object().contains("events"));
  EXPECT_EQ(w.list("nope", {}, kT0).error().status, 404);
}

TEST(FlyWorld, CapacityAndRegionLists) {
  auto w = make_world({{"lhr", 1}, {"fra", 0}});
  auto a = w.create("app", create_body("lhr"), kT0);
  ASSERT_TRUE(a.ok());
  auto b = w.create("app", create_body("lhr"), kT0);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().status, 412);
  EXPECT_EQ(b.error().fly_status, "insufficient_capacity");
  // A priority list falls through to the first region with room.
  auto c = w.create("app", create_body("lhr,fra,ams"), kT0);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->at("region").as_string(), "ams");
  EXPECT_EQ(w.create("app", create_body("lhr,fra"), kT0).error().fly_status,
            "insufficient_capacity");
  // Destroying frees the slot.
  ASSERT_TRUE(w.destroy("app", id_of(*a), true, "", kT0 + 1s));
  w.advance(kT0 + 5s);
  EXPECT_TRUE(w.create("app", create_body("lhr"), kT0 + 5s).ok());
  // Aliases and bad regions.
  EXPECT_TRUE(w.create("app", create_body("eu"), kT0).ok());
  EXPECT_EQ(w.create("app", create_body("waw"), kT0).error().status, 400);  // edge-only
  EXPECT_EQ(w.create("app", create_body("xyz"), kT0).error().status, 400);
}

TEST(FlyWorld, NameTakenAndValidation) {
  auto w = make_world();
  ASSERT_TRUE(w.create("app", create_body("fra", {}, "web-1"), kT0));
  auto dup = w.create("app", create_body("fra", {}, "web-1"), kT0);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().status, 422);
  EXPECT_EQ(dup.error().fly_status, "name_taken");
  EXPECT_EQ(w.create("app", json::object{{"region", "fra"}}, kT0).error().status, 400);
  EXPECT_EQ(w.create("app", json::parse(R"({"config":{"image":"x","metadata":{"a":1}}})"), kT0)
                .error()
                .status,
            400);
  EXPECT_EQ(w.create("other", create_body("fra"), kT0).error().status, 404);
}

TEST(FlyWorld, MetadataOperations) {
  auto w = make_world();
  auto id = id_of(*w.create("app", create_body("fra", {{"a", "1"}}), kT0));
  EXPECT_EQ(json::serialize(*w.metadata_get("app", id)), R"({"a":"1"})");
  ASSERT_TRUE(w.metadata_set_key("app", id, "b", json::object{{"value", "2"}}, "", kT0));
  EXPECT_EQ(w.metadata_get_key("app", id, "b")->at("value").as_string(), "2");
  EXPECT_EQ(w.metadata_get_key("app", id, "zz").error().status, 404);
  ASSERT_TRUE(
      w.metadata_update("app", id, json::parse(R"({"metadata":{"c":"3"}})"), false, "", kT0));
  EXPECT_EQ(w.metadata_get("app", id)->as_object().size(), 3u);
  const std::string version(w.get("app", id, false, kT0)->at("instance_id").as_string());
  EXPECT_EQ(
      w.metadata_update("app", id, json::parse(R"({"metadata":{},"machine_version":"stale"})"),
                        true, "", kT0)
          .error()
          .status,
      412);
  ASSERT_TRUE(w.metadata_update(
      "app", id, json::object{{"metadata", json::object{{"d", "4"}}}, {"machine_version", version}},
      true, "", kT0));
  EXPECT_EQ(json::serialize(*w.metadata_get("app", id)), R"({"d":"4"})");
  ASSERT_TRUE(w.metadata_delete_key("app", id, "d", "", kT0));
  EXPECT_EQ(w.metadata_get("app", id)->as_object().size(), 0u);
}

TEST(FlyWorld, SeededFleetShapes) {
  auto w = make_world();
  SeedMachine sick;
  sick.app = "app";
  sick.host_status = "unreachable";
  sick.state = "stopped";
  const auto& m = w.seed(sick, kT0);
  auto j = w.get("app", m.id, true, kT0);
  EXPECT_FALSE(j->as_object().contains("config"));
  EXPECT_TRUE(j->as_object().contains("incomplete_config"));
  EXPECT_EQ(j->at("host_status").as_string(), "unreachable");
  SeedMachine held;
  held.app = "app";
  held.lease_owner = "deployer";
  const auto& h = w.seed(held, kT0);
  EXPECT_EQ(w.get("app", h.id, true, kT0)->at("lease").at("owner").as_string(), "deployer");
  EXPECT_EQ(w.stop("app", h.id, nullptr, "", kT0).error().status, 409);
}

TEST(FlyWorld, SameSeedSameIds) {
  auto a = make_world();
  auto b = make_world();
  EXPECT_EQ(id_of(*a.create("app", create_body("fra"), kT0)),
            id_of(*b.create("app", create_body("fra"), kT0)));
}

TEST(ApiRateLimiter, DocumentedLimits) {
  ApiRateLimiter l;
  // Actions: burst 3, then 1/s.
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(l.take("start", "app/m1", kT0)) << i;
  auto wait = l.take("start", "app/m1", kT0);
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, 1000ms);
  EXPECT_FALSE(l.take("stop", "app/m1", kT0));   // another action has its own bucket
  EXPECT_FALSE(l.take("start", "app/m2", kT0));  // another machine too
  EXPECT_FALSE(l.take("start", "app/m1", kT0 + 1s));
  EXPECT_TRUE(l.take("start", "app/m1", kT0 + 1s));
  // Get: burst 10, 5/s.
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(l.take("get", "app/m1", kT0)) << i;
  EXPECT_EQ(l.take("get", "app/m1", kT0), 200ms);
  EXPECT_FALSE(l.take("get", "app/m1", kT0 + 200ms));
  // Waits are not limited; disabled limits let everything through.
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(l.take("wait", "app/m1", kT0));
  RateLimitConfig off;
  off.enabled = false;
  ApiRateLimiter none(off);
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(none.take("create", "app", kT0));
}

TEST(FaultInjector, ReproducibleBySeed) {
  auto run = [](std::uint64_t seed) {
    FaultInjector f;
    std::vector<FaultRule> rules;
    for (auto kind : {FaultKind::kError, FaultKind::kDrop, FaultKind::kSlow, FaultKind::kTimeout,
                      FaultKind::kInsufficientCapacity, FaultKind::kForeignLease}) {
      FaultRule r;
      r.operation = "*";
      r.kind = kind;
      r.probability = 0.1;
      rules.push_back(r);
    }
    f.set_rules(rules, seed);
    std::string trace;
    for (int i = 0; i < 400; ++i) {
      auto hit = f.decide(i % 2 ? "create" : "get", kT0);
      trace += hit ? to_string(hit->kind)[0] : '.';
    }
    return trace;
  };
  const auto a = run(42);
  EXPECT_EQ(a, run(42));
  EXPECT_NE(a, run(43));
  for (char k : std::string("edstif")) EXPECT_NE(a.find(k), std::string::npos) << k;
}

TEST(FaultInjector, CallsWindowsAndLimits) {
  FaultInjector f;
  FaultRule by_call;
  by_call.operation = "create";
  by_call.kind = FaultKind::kError;
  by_call.calls = {2, 4};
  FaultRule once;
  once.operation = "get";
  once.kind = FaultKind::kDrop;
  once.probability = 1;
  once.max_fires = 1;
  once.from = kT0 + 10s;
  f.set_rules({by_call, once}, 1);
  std::string creates;
  for (int i = 0; i < 5; ++i) creates += f.decide("create", kT0) ? 'x' : '.';
  EXPECT_EQ(creates, ".x.x.");
  EXPECT_FALSE(f.decide("get", kT0));
  EXPECT_TRUE(f.decide("get", kT0 + 10s));
  EXPECT_FALSE(f.decide("get", kT0 + 11s));
  EXPECT_EQ(f.fired(FaultKind::kError), 2u);
}

TEST(FaultInjector, ParsesFlags) {
  auto r = FaultInjector::parse_flag("create:error:0.25:500");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->operation, "create");
  EXPECT_EQ(r->status, 500);
  EXPECT_DOUBLE_EQ(r->probability, 0.25);
  r = FaultInjector::parse_flag("*:slow:0.1:1500ms");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->delay, 1500ms);
  r = FaultInjector::parse_flag("start:drop");
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r->probability, 1);
  EXPECT_FALSE(FaultInjector::parse_flag("create:nope:1").ok());
  EXPECT_FALSE(FaultInjector::parse_flag("create:error:2").ok());
  EXPECT_FALSE(FaultInjector::parse_flag("create").ok());
  auto j = FaultInjector::rule_from_json(FaultInjector::rule_to_json(*r));
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->kind, FaultKind::kDrop);
}

Scenario two_regions() {
  auto s = Scenario::parse_csv(
      "timestamp,region,rps\n"
      "1700000000,iad,10\n1700000000,waw,0\n"
      "1700000060,iad,10\n1700000060,waw,5\n"
      "1700000120,iad,20\n1700000120,waw,5\n",
      "two");
  EXPECT_TRUE(s.ok());
  return std::move(s).value();
}

TEST(EdgeTraffic, CountersFollowTheScenario) {
  EdgeTraffic::Options o;
  o.app = "app";
  o.origin = kT0;
  EdgeTraffic t(two_regions(), RegionCatalog::builtin(), o);
  const std::vector<std::string> serving{"iad"};
  // Advance in uneven pieces; the result must not depend on how time was cut.
  for (int s = 0; s <= 180; s += 7) t.advance(kT0 + std::chrono::seconds(s), serving);
  t.advance(kT0 + 180s, serving);
  EXPECT_NEAR(t.responses("iad", "200"), 10 * 60 + 10 * 60 + 20 * 60, 1e-6);
  EXPECT_NEAR(t.responses("waw", "200"), 5 * 60 + 5 * 60, 1e-6);
  // Past the end: no more traffic.
  t.advance(kT0 + 400s, serving);
  EXPECT_NEAR(t.responses("iad", "200"), 2400, 1e-6);
}

TEST(EdgeTraffic, SpeedCompressesTimeNotRate) {
  EdgeTraffic::Options o;
  o.origin = kT0;
  o.speed = 60;  // one scenario minute per second
  EdgeTraffic t(two_regions(), RegionCatalog::builtin(), o);
  t.advance(kT0, {"iad"});
  t.advance(kT0 + 1500ms, {"iad"});  // scenario 0..90 s: 1 s at 10 rps, 0.5 s at 10 rps
  EXPECT_NEAR(t.responses("iad", "200"), 15, 1e-6);
  EXPECT_NEAR(t.responses("waw", "200"), 2.5, 1e-6);
}

TEST(EdgeTraffic, LatencyFromNearestServingRegionAnd503sWithoutOne) {
  EdgeTraffic::Options o;
  o.origin = kT0;
  o.service_ms = 15;
  EdgeTraffic t(two_regions(), RegionCatalog::builtin(), o);
  const auto& cat = RegionCatalog::builtin();
  EXPECT_NEAR(*t.latency_ms("waw", {"iad", "fra"}), cat.rtt_ms("waw", "fra") + 15, 1e-9);
  EXPECT_GT(*t.latency_ms("waw", {"iad"}), *t.latency_ms("waw", {"fra"}));
  EXPECT_FALSE(t.latency_ms("waw", {}).has_value());
  t.advance(kT0, {});
  t.advance(kT0 + 60s, {});
  EXPECT_NEAR(t.responses("iad", "503"), 600, 1e-6);
  EXPECT_EQ(t.responses("iad", "200"), 0);
  const auto text = t.prometheus_text();
  EXPECT_NE(
      text.find(
          "fly_edge_http_responses_count{app=\"demo-app\",region=\"iad\",status=\"503\"} 600"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("fly_edge_http_response_time_seconds_bucket{app=\"demo-app\",region=\"iad\","
                      "status=\"503\",le=\"+Inf\"} 600"),
            std::string::npos);
}

}  // namespace
}  // namespace autoplacer::sim
