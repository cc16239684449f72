// The contract checker itself, on hand-made requests and responses.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "support/openapi_contract.h"

namespace autoplacer::testing {
namespace {

const OpenApiContract& spec() {
  static const OpenApiContract c = [] {
    auto r = OpenApiContract::load_file(AP_TEST_FIXTURES "/openapi/machines-subset.json");
    if (!r) throw std::runtime_error(r.error());
    return std::move(r).value();
  }();
  return c;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "\n";
  return out;
}

TEST(OpenApiContract, MatchesTemplates) {
  EXPECT_EQ(spec().match("GET", "/v1/apps/a/machines"), "/v1/apps/{app_name}/machines");
  EXPECT_EQ(spec().match("post", "/v1/apps/a/machines/m1/start"),
            "/v1/apps/{app_name}/machines/{machine_id}/start");
  EXPECT_EQ(spec().match("GET", "/v1/platform/regions?x=1"), "/v1/platform/regions");
  EXPECT_FALSE(spec().match("PUT", "/v1/apps/a/machines/m1/start").has_value());
  EXPECT_FALSE(spec().match("GET", "/v2/nothing").has_value());
}

TEST(OpenApiContract, Requests) {
  EXPECT_EQ(
      joined(spec().check_request(
          "GET",
          "/v1/apps/a/"
          "machines?region=fra&state=started%2Cstopped&metadata.role=web&limit=10&summary=true",
          {}, "")),
      "");
  EXPECT_NE(joined(spec().check_request("GET", "/v1/apps/a/machines?regoin=fra", {}, "")), "");
  EXPECT_NE(joined(spec().check_request("GET", "/v1/apps/a/machines?limit=ten", {}, "")), "");
  EXPECT_NE(joined(spec().check_request("GET", "/v1/apps/a/machines?summary=1", {}, "")), "");
  EXPECT_EQ(joined(spec().check_request(
                "GET", "/v1/apps/a/machines/m/wait?state=started&timeout=30", {}, "")),
            "");
  EXPECT_NE(joined(spec().check_request("GET", "/v1/apps/a/machines/m/wait?state=running", {}, "")),
            "");
  // Required header parameter (release lease needs the nonce).
  EXPECT_NE(joined(spec().check_request("DELETE", "/v1/apps/a/machines/m/lease", {}, "")), "");
  EXPECT_EQ(joined(spec().check_request("DELETE", "/v1/apps/a/machines/m/lease",
                                        {{"Fly-Machine-Lease-Nonce", "n"}}, "")),
            "");
  // Bodies: required, typed, no unknown fields.
  EXPECT_NE(joined(spec().check_request("POST", "/v1/apps/a/machines", {}, "")), "");
  EXPECT_EQ(joined(spec().check_request(
                "POST", "/v1/apps/a/machines", {},
                R"({"region":"fra","config":{"image":"x","metadata":{"a":"b"}}})")),
            "");
  EXPECT_NE(joined(spec().check_request("POST", "/v1/apps/a/machines", {}, R"({"region":5})")), "");
  EXPECT_NE(joined(spec().check_request("POST", "/v1/apps/a/machines", {}, R"({"regoin":"fra"})")),
            "");
  EXPECT_NE(joined(spec().check_request("POST", "/v1/apps/a/machines", {},
                                        R"({"config":{"metadata":{"a":1}}})")),
            "");
  EXPECT_NE(joined(spec().check_request("POST", "/v1/apps/a/machines/m/stop", {},
                                        R"({"signal":"SIGFOO"})")),
            "");
  EXPECT_EQ(joined(spec().check_request("POST", "/v1/apps/a/machines/m/stop", {},
                                        R"({"signal":"SIGTERM","timeout":"5s"})")),
            "");
  EXPECT_NE(joined(spec().check_request("POST", "/v1/apps/a/machines/m/start", {}, R"({"x":1})")),
            "");
  EXPECT_NE(
      joined(spec().check_request("POST", "/v1/apps/a/machines/m/lease", {}, R"({"ttl":"30"})")),
      "");
  EXPECT_NE(joined(spec().check_request("GET", "/v1/apps/a/volumes", {}, "")), "");
}

TEST(OpenApiContract, Responses) {
  EXPECT_EQ(joined(spec().check_response("GET", "/v1/apps/a/machines", 200,
                                         R"([{"id":"m","state":"started","region":"fra"}])")),
            "");
  const std::string missing_region = joined(spec().check_response(
      "GET", "/v1/apps/a/machines", 200, R"([{"id":"m","state":"started"}])"));
  EXPECT_NE(missing_region.find("region"), std::string::npos) << missing_region;
  EXPECT_NE(joined(spec().check_response(
                "GET", "/v1/apps/a/machines/m", 200,
                R"({"id":"m","state":"started","region":"fra","host_status":"fine"})")),
            "");
  EXPECT_NE(
      joined(spec().check_response(
          "GET", "/v1/apps/a/machines/m", 200,
          R"({"id":"m","state":"started","region":"fra","config":{"guest":{"cpus":"one"}}})")),
      "");
  // Lease creation is declared as 201.
  EXPECT_EQ(joined(spec().check_response("POST", "/v1/apps/a/machines/m/lease", 201,
                                         R"({"nonce":"n","expires_at":1})")),
            "");
  EXPECT_NE(
      joined(spec().check_response("POST", "/v1/apps/a/machines/m/lease", 200, R"({"nonce":"n"})")),
      "");
  EXPECT_NE(joined(spec().check_response("POST", "/v1/apps/a/machines/m/lease", 201,
                                         R"({"expires_at":1})")),
            "");
  // Undeclared errors must have Fly's error shape.
  EXPECT_EQ(joined(spec().check_response("GET", "/v1/apps/a/machines/m", 404,
                                         R"({"error":"not found"})")),
            "");
  EXPECT_EQ(joined(spec().check_response("POST", "/v1/apps/a/machines", 412,
                                         R"({"error":"x","status":"insufficient_capacity"})")),
            "");
  EXPECT_NE(joined(spec().check_response("POST", "/v1/apps/a/machines", 412,
                                         R"({"error":"x","status":"out_of_luck"})")),
            "");
  EXPECT_NE(joined(spec().check_response("GET", "/v1/apps/a/machines/m", 404, "not json")), "");
  EXPECT_EQ(joined(spec().check_response(
                "GET", "/v1/platform/regions", 200,
                R"({"regions":[{"code":"fra","latitude":50.1,"longitude":8}]})")),
            "");
  EXPECT_NE(joined(spec().check_response("GET", "/v1/platform/regions", 200,
                                         R"({"regions":[{"latitude":50.1}]})")),
            "");
}

TEST(OpenApiContract, ValueAgainstNamedSchema) {
  auto v =
      boost::json::parse(R"({"id":"m","state":"s","region":"r","events":[{"timestamp":1.5}]})");
  EXPECT_NE(joined(spec().check_value(v, "Machine")), "");  // timestamp must be an integer
  EXPECT_EQ(joined(spec().check_value(boost::json::parse(R"({"ok":true,"state":"started"})"),
                                      "WaitMachineResponse")),
            "");
  EXPECT_NE(
      joined(spec().check_value(boost::json::parse(R"({"zzz":1})"), "WaitMachineResponse", true)),
      "");
}

}  // namespace
}  // namespace autoplacer::testing
