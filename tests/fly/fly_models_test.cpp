#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdlib>
#include <fstream>

#include "common/log.h"
#include "fly/errors.h"
#include "fly/models.h"
#include "fly/token.h"

namespace autoplacer::fly {
namespace {
namespace json = boost::json;

constexpr const char* kMachine = R"({
  "id": "148ed193b95089", "name": "withered-sun-123", "state": "started", "region": "fra",
  "instance_id": "01HXYZ", "version": "01HXYZ", "private_ip": "fdaa::3",
  "host_status": "ok", "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-02T00:00:00Z",
  "cordoned": false,
  "image_ref": {"registry": "registry.fly.io", "repository": "my-app", "tag": "deployment-01H",
                "digest": "sha256:abc", "labels": {"x": "y"}},
  "config": {"image": "registry.fly.io/my-app:deployment-01H",
             "guest": {"cpu_kind": "shared", "cpus": 1, "memory_mb": 256},
             "mounts": [{"volume": "vol_1", "path": "/data"}],
             "standbys": ["e2865014c05586"],
             "future_field": {"kept": true},
             "metadata": {"fly_process_group": "web", "fly_release_id": "r1",
                          "fly_bluegreen_deployment_tag": "bg", "autoplacer_op_id": "old",
                          "team": "core", "weird": 5}},
  "events": [{"id": "e1", "type": "start", "status": "started", "source": "user", "timestamp": 1700000000000}],
  "lease": {"owner": "someone@example.com", "description": "deploy", "expires_at": 1700000100}
})";

TEST(Models, ParsesFullMachine) {
  auto m = machine_from_json(json::parse(kMachine));
  ASSERT_TRUE(m.ok()) << m.error();
  EXPECT_EQ(m->id, "148ed193b95089");
  EXPECT_EQ(m->state, "started");
  EXPECT_EQ(m->region, "fra");
  EXPECT_EQ(m->host_status, "ok");
  EXPECT_EQ(m->instance_id, "01HXYZ");
  ASSERT_TRUE(m->image_ref.has_value());
  EXPECT_EQ(m->image_ref->to_image(), "registry.fly.io/my-app:deployment-01H@sha256:abc");
  EXPECT_EQ(m->process_group(), "web");
  EXPECT_EQ(m->metadata.count("weird"), 0u);  // non-string metadata is ignored
  ASSERT_EQ(m->events.size(), 1u);
  EXPECT_EQ(m->events[0].timestamp, 1700000000000);
  ASSERT_TRUE(m->lease.has_value());
  EXPECT_EQ(m->lease->owner, "someone@example.com");
  EXPECT_TRUE(m->config.contains("future_field"));  // opaque config keeps unknown fields
}

TEST(Models, SummaryMachineWithoutConfig) {
  auto m = machine_from_body(R"({"id":"a","state":"stopped","region":"iad","config":null})");
  ASSERT_TRUE(m.ok()) << m.error();
  EXPECT_TRUE(m->config.empty());
  EXPECT_TRUE(m->metadata.empty());
}

TEST(Models, MalformedInputsAreErrorsNotCrashes) {
  const char* cases[] = {
      "",
      "{",
      R"({"id": "a", "state": "started")",  // truncated
      "[]",
      "null",
      "42",
      R"({"state":"started","region":"fra"})",         // no id
      R"({"id":"a","region":"fra"})",                  // no state
      R"({"id":"a","state":"started"})",               // no region
      R"({"id":7,"state":"started","region":"fra"})",  // wrong type
      R"({"id":"a","state":"started","region":"fra","config":[]})",
      R"({"id":"a","state":"started","region":"fra","config":{"metadata":"x"}})",
      R"({"id":"a","state":"started","region":"fra","image_ref":"img"})",
      R"({"id":"a","state":"started","region":"fra","events":{}})",
      R"({"id":"a","state":"started","region":"fra","events":[1]})",
      R"({"id":"a","state":"started","region":"fra","events":[{"timestamp":"x"}]})",
      R"({"id":"a","state":"started","region":"fra","lease":{"expires_at":1e300}})",
      R"({"id":"a","state":"started","region":"fra","cordoned":"yes"})",
      R"({"id":"","state":"started","region":"fra"})",
  };
  for (const char* c : cases) {
    auto m = machine_from_body(c);
    EXPECT_FALSE(m.ok()) << c;
  }
}

TEST(Models, HostileNestingAndSize) {
  std::string deep(10000, '[');
  EXPECT_FALSE(machines_from_json(deep).ok());
  std::string deep_config = R"({"id":"a","state":"s","region":"r","config":{"x":)" +
                            std::string(5000, '[') + std::string(5000, ']') + "}}";
  EXPECT_FALSE(machine_from_body(deep_config).ok());
  // Many machines parse fine; one bad entry fails the whole list (never a partial list).
  std::string list = "[";
  for (int i = 0; i < 5000; ++i) {
    list += R"({"id":"m)" + std::to_string(i) + R"(","state":"started","region":"fra"},)";
  }
  list += R"({"id":"bad"}])";
  auto r = machines_from_json(list);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("entry 5000"), std::string::npos) << r.error();
  list.resize(list.size() - std::string(R"({"id":"bad"}])").size() - 1);
  list += "]";
  auto ok = machines_from_json(list);
  ASSERT_TRUE(ok.ok()) << ok.error();
  EXPECT_EQ(ok->size(), 5000u);
}

TEST(Models, LeaseWaitMetadataRegions) {
  auto l = lease_from_body(
      R"({"nonce":"n1","expires_at":1700000000,"owner":"o","description":"d","version":"v"})");
  ASSERT_TRUE(l.ok()) << l.error();
  EXPECT_EQ(l->nonce, "n1");
  EXPECT_EQ(l->expires_at, 1700000000);
  auto wrapped = lease_from_body(R"({"status":"success","data":{"nonce":"n2","expires_at":5}})");
  ASSERT_TRUE(wrapped.ok()) << wrapped.error();
  EXPECT_EQ(wrapped->nonce, "n2");
  EXPECT_FALSE(lease_from_body(R"({"owner":"o"})").ok());  // no nonce: unusable

  auto w = wait_from_body(R"({"ok":true,"state":"started","version":"v1"})");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->state, "started");
  EXPECT_TRUE(wait_from_body("").ok());
  EXPECT_FALSE(wait_from_body(R"({"ok":"yes"})").ok());

  auto md = metadata_from_body(R"({"a":"1","b":"2"})");
  ASSERT_TRUE(md.ok());
  EXPECT_EQ(md->at("b"), "2");
  EXPECT_FALSE(metadata_from_body(R"({"a":1})").ok());

  auto regions = regions_from_body(
      R"({"nearest":"fra","regions":[{"code":"fra","name":"Frankfurt","latitude":50.1,"longitude":8.6},
         {"code":"old","name":"Old","latitude":1,"longitude":2,"deprecated":true}]})");
  ASSERT_TRUE(regions.ok()) << regions.error();
  ASSERT_EQ(regions->size(), 2u);
  EXPECT_TRUE((*regions)[0].hostable);
  EXPECT_FALSE((*regions)[1].hostable);
  EXPECT_TRUE((*regions)[1].deprecated);
  EXPECT_FALSE(
      regions_from_body(R"({"regions":[{"code":"x","latitude":500,"longitude":0}]})").ok());
  EXPECT_FALSE(regions_from_body(R"({"regions":[{"name":"no code"}]})").ok());
  EXPECT_FALSE(regions_from_body(R"([])").ok());

  RegionCatalog catalog = RegionCatalog::builtin();
  catalog.merge_platform_regions(*regions);
  EXPECT_TRUE(catalog.hostable("fra"));
  EXPECT_FALSE(catalog.hostable("old"));
}

TEST(Models, MachineJsonRoundTrip) {
  auto m = machine_from_json(json::parse(kMachine));
  ASSERT_TRUE(m.ok());
  auto again = machine_from_json(machine_to_json(*m));
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_EQ(again->id, m->id);
  EXPECT_EQ(again->metadata, m->metadata);
  EXPECT_EQ(again->image_ref->to_image(), m->image_ref->to_image());
}

TEST(Clone, FollowsTheRecipe) {
  auto src = machine_from_json(json::parse(kMachine));
  ASSERT_TRUE(src.ok());
  CloneOptions o;
  o.region = "syd";
  o.metadata = {{"autoplacer_policy", "p1"}, {"autoplacer_op_id", "op-42"}};
  o.skip_launch = true;
  auto req = make_clone_request(*src, o);
  ASSERT_TRUE(req.ok()) << req.error();
  EXPECT_EQ(req->region, "syd");
  EXPECT_TRUE(req->skip_launch);
  const auto& c = req->config;
  EXPECT_EQ(c.at("image").as_string(), "registry.fly.io/my-app:deployment-01H@sha256:abc");
  EXPECT_FALSE(c.contains("mounts"));
  EXPECT_FALSE(c.contains("standbys"));
  EXPECT_TRUE(c.contains("future_field"));  // nothing unknown is lost
  EXPECT_EQ(c.at("guest"), src->config.at("guest"));
  const auto& md = c.at("metadata").as_object();
  EXPECT_EQ(md.at("fly_process_group").as_string(), "web");
  EXPECT_EQ(md.at("fly_release_id").as_string(), "r1");
  EXPECT_EQ(md.at("team").as_string(), "core");
  EXPECT_FALSE(md.contains("fly_bluegreen_deployment_tag"));
  EXPECT_EQ(md.at("autoplacer_op_id").as_string(), "op-42");  // ours, not the source's
  EXPECT_EQ(md.at("autoplacer_policy").as_string(), "p1");
  auto body = to_json(*req);
  EXPECT_EQ(body.at("region").as_string(), "syd");
  EXPECT_EQ(body.at("skip_launch").as_bool(), true);
  EXPECT_FALSE(body.contains("name"));
}

CloneOptions to(std::string region) {
  CloneOptions o;
  o.region = std::move(region);
  return o;
}

TEST(Clone, RefusesUnusableSources) {
  auto src = machine_from_json(json::parse(kMachine));
  ASSERT_TRUE(src.ok());
  Machine unreachable = *src;
  unreachable.host_status = "unreachable";
  EXPECT_FALSE(make_clone_request(unreachable, to("syd")).ok());
  Machine summary = *src;
  summary.config = {};
  EXPECT_FALSE(make_clone_request(summary, to("syd")).ok());
  EXPECT_FALSE(make_clone_request(*src, {}).ok());  // no region
  Machine no_image = *src;
  no_image.image_ref.reset();
  no_image.config.erase("image");
  EXPECT_FALSE(make_clone_request(no_image, to("syd")).ok());
  Machine config_image_only = *src;
  config_image_only.image_ref.reset();
  auto req = make_clone_request(config_image_only, to("syd"));
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(req->config.at("image").as_string(), "registry.fly.io/my-app:deployment-01H");
}

TEST(ImageRefTest, ParsesImageStrings) {
  auto r = ImageRef::from_image("registry.fly.io/my-app:deployment-1@sha256:ff");
  EXPECT_EQ(r.registry, "registry.fly.io");
  EXPECT_EQ(r.repository, "my-app");
  EXPECT_EQ(r.tag, "deployment-1");
  EXPECT_EQ(r.digest, "sha256:ff");
  auto local = ImageRef::from_image("localhost:5000/a/b:t");
  EXPECT_EQ(local.registry, "localhost:5000");
  EXPECT_EQ(local.repository, "a/b");
  auto bare = ImageRef::from_image("nginx");
  EXPECT_EQ(bare.to_image(), "nginx");
}

TEST(Errors, FromResponse) {
  net::Response res{net::http::status::precondition_failed, 11};
  res.set("fly-request-id", "req-1");
  res.body() = R"({"error":"no capacity in syd","status":"insufficient_capacity"})";
  FlyError e = from_response(res);
  EXPECT_EQ(e.kind, FlyError::Kind::kInsufficientCapacity);
  EXPECT_EQ(e.http_status, 412);
  EXPECT_EQ(e.fly_status, "insufficient_capacity");
  EXPECT_EQ(e.request_id, "req-1");
  EXPECT_EQ(e.message, "no capacity in syd");

  const std::pair<int, FlyError::Kind> table[] = {
      {400, FlyError::Kind::kBadRequest},    {401, FlyError::Kind::kUnauthorized},
      {404, FlyError::Kind::kNotFound},      {408, FlyError::Kind::kWaitTimeout},
      {409, FlyError::Kind::kConflict},      {412, FlyError::Kind::kPrecondition},
      {422, FlyError::Kind::kUnprocessable}, {429, FlyError::Kind::kRateLimited},
      {503, FlyError::Kind::kServer},        {302, FlyError::Kind::kBadResponse},
  };
  for (auto [status, kind] : table) {
    net::Response r{static_cast<net::http::status>(status), 11};
    r.body() = "<html>not json</html>";
    EXPECT_EQ(from_response(r).kind, kind) << status;
  }
  net::Response limited{net::http::status::too_many_requests, 11};
  limited.set(net::http::field::retry_after, "3");
  EXPECT_EQ(from_response(limited).retry_after, std::chrono::milliseconds(3000));
}

TEST(Errors, RetryAfterParsing) {
  EXPECT_EQ(parse_retry_after("0"), std::chrono::milliseconds(0));
  EXPECT_EQ(parse_retry_after(" 12 "), std::chrono::milliseconds(12000));
  EXPECT_EQ(parse_retry_after("99999999"), std::chrono::milliseconds(3600000));  // capped
  EXPECT_FALSE(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT").has_value());
  EXPECT_FALSE(parse_retry_after("-1").has_value());
  EXPECT_FALSE(parse_retry_after("").has_value());
}

TEST(Errors, TransportMapping) {
  using HK = net::HttpError::Kind;
  EXPECT_FALSE(from_http_error({HK::kConnect, "x"}, true).outcome_unknown);
  EXPECT_FALSE(from_http_error({HK::kTls, "x"}, true).outcome_unknown);
  EXPECT_TRUE(from_http_error({HK::kTimeout, "x"}, true).outcome_unknown);
  EXPECT_EQ(from_http_error({HK::kTimeout, "x"}, true).kind, FlyError::Kind::kTimeout);
  EXPECT_FALSE(from_http_error({HK::kTimeout, "x"}, false).outcome_unknown);
  EXPECT_TRUE(from_http_error({HK::kClosed, "x"}, true).outcome_unknown);
  EXPECT_EQ(from_http_error({HK::kBodyTooLarge, "x"}, false).kind, FlyError::Kind::kBadResponse);
}

TEST(Token, AuthorizationForm) {
  EXPECT_EQ(authorization_value("fm2_abcdef"), "FlyV1 fm2_abcdef");
  EXPECT_EQ(authorization_value("fm1r_abcdef"), "FlyV1 fm1r_abcdef");
  EXPECT_EQ(authorization_value("fm1a_abcdef"), "FlyV1 fm1a_abcdef");
  EXPECT_EQ(authorization_value("fm2_a,fm2_b"), "FlyV1 fm2_a,fm2_b");
  EXPECT_EQ(authorization_value("FlyV1 fm2_abc"), "FlyV1 fm2_abc");
  EXPECT_EQ(authorization_value("  personal-token-123\n"), "Bearer personal-token-123");
  EXPECT_EQ(authorization_value("Bearer xyz"), "Bearer xyz");
}

TEST(Token, LoadFromFileIsRedacted) {
  const std::string path = ::testing::TempDir() + "/fly_token_test";
  {
    std::ofstream out(path);
    out << "  fm2_supersecretmacaroon,fm2_secondpartsecret  \n";
  }
  auto t = load_token(path);
  ASSERT_TRUE(t.ok()) << t.error();
  EXPECT_EQ(*t, "fm2_supersecretmacaroon,fm2_secondpartsecret");
  const std::string line =
      log::redact("header: FlyV1 fm2_supersecretmacaroon and fm2_secondpartsecret");
  EXPECT_EQ(line.find("supersecret"), std::string::npos) << line;
  EXPECT_EQ(line.find("secondpartsecret"), std::string::npos) << line;
  EXPECT_FALSE(load_token(path + ".missing").ok());
}

TEST(Token, LoadFromEnvironment) {
  ::setenv("FLY_API_TOKEN", "fm2_fromenvironmentsecret", 1);
  auto t = load_token();
  ::unsetenv("FLY_API_TOKEN");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, "fm2_fromenvironmentsecret");
  EXPECT_FALSE(load_token().ok());
}

}  // namespace
}  // namespace autoplacer::fly
