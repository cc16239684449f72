#pragma once
// A small OpenAPI 3 contract checker for tests: does a request our client builds, or a response a
// server (flysim, a test server) sends, fit the Machines API spec subset in
// tests/fixtures/openapi/machines-subset.json?
//
// It knows what the Machines API spec uses: path templates, query/header/path parameters
// (including templated names like `metadata.{key}`), request bodies, responses by status,
// schemas with type, properties, required, items, additionalProperties, enum, allOf, nullable and
// $ref to #/components/schemas. Every check returns a list of human-readable violations; empty
// means conforming.
//
//   auto spec = OpenApiContract::load_file(AP_TEST_FIXTURES "/openapi/machines-subset.json");
//   EXPECT_THAT(spec->check_request(req), IsEmpty());
//   EXPECT_THAT(spec->check_response("GET", "/v1/apps/a/machines", 200, body), IsEmpty());
#include <boost/json/value.hpp>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "net/http_types.h"

namespace autoplacer::testing {

class OpenApiContract {
 public:
  struct Options {
    // Object properties a schema does not declare: in requests they are almost always a typo
    // in our client ("lease_ttl" vs "ttl"), so they count; in responses servers may add fields.
    bool reject_unknown_request_properties = true;
    bool reject_unknown_response_properties = false;
  };

  static Result<OpenApiContract, std::string> load_file(const std::string& path, Options options);
  static Result<OpenApiContract, std::string> load_file(const std::string& path) {
    return load_file(path, Options{});
  }
  static Result<OpenApiContract, std::string> from_json(boost::json::value spec, Options options);

  // The path template ("/v1/apps/{app_name}/machines/{machine_id}") an operation with this
  // method and concrete path matches, or nullopt. method: "GET", "post", ...
  std::optional<std::string> match(std::string_view method, std::string_view path) const;

  // target: path with optional query ("/v1/apps/a/machines?region=fra"). headers: any case.
  std::vector<std::string> check_request(std::string_view method, std::string_view target,
                                         const std::map<std::string, std::string>& headers,
                                         std::string_view body) const;
  std::vector<std::string> check_request(const net::Request& req) const;

  // target may carry a query (ignored). A status the operation does not declare is a violation,
  // except 4xx/5xx whose body must then fit ErrorResponse.
  std::vector<std::string> check_response(std::string_view method, std::string_view target,
                                          int status, std::string_view body) const;
  std::vector<std::string> check_response(std::string_view method, std::string_view target,
                                          const net::Response& res) const;

  // A JSON value against a named schema ("Machine" or "#/components/schemas/Machine").
  std::vector<std::string> check_value(const boost::json::value& value, std::string_view schema,
                                       bool reject_unknown_properties = false) const;

 private:
  OpenApiContract(boost::json::value spec, Options options)
      : spec_(std::move(spec)), options_(options) {}
  const boost::json::object* operation(std::string_view method, std::string_view path,
                                       std::string* template_out) const;
  void validate(const boost::json::value& v, const boost::json::value& schema,
                const std::string& where, bool strict, std::vector<std::string>& out,
                int depth) const;
  const boost::json::value* resolve(const boost::json::value& schema) const;

  boost::json::value spec_;
  Options options_;
};

}  // namespace autoplacer::testing
