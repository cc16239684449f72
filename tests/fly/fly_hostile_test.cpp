// Malformed and hostile Machines API answers over real sockets: every operation that reads a
// body gets truncated JSON, wrong types, missing fields, deep nesting, invalid UTF-8, huge bodies
// and broken HTTP; each must come back as an error value (never a crash, a hang or a partial
// result). Error bodies and Retry-After headers get the same treatment.
#include <gtest/gtest.h>

#include <functional>

#include "fly/machines_client.h"
#include "fly/mini_fly_server.h"
#include "net/client_test_util.h"

namespace autoplacer::fly {
namespace {
using autoplacer::testing::json_reply;
using autoplacer::testing::MiniFly;
using autoplacer::testing::OpenApiContract;
using autoplacer::testing::run_sync;
using autoplacer::testing::TestReply;
using namespace std::chrono_literals;
namespace http = net::http;

const OpenApiContract& contract() {
  static const OpenApiContract c = [] {
    auto r = OpenApiContract::load_file(AP_TEST_FIXTURES "/openapi/machines-subset.json");
    if (!r) throw std::runtime_error(r.error());
    return std::move(r).value();
  }();
  return c;
}

// One operation, reduced to "did it fail, and how".
using Outcome = std::optional<FlyError>;  // nullopt: it succeeded
using Operation = std::function<Outcome(MachinesClient&, boost::asio::io_context&)>;

template <class T>
Outcome outcome(FlyResult<T> r) {
  if (r.ok()) return std::nullopt;
  return std::move(r).error();
}

const std::vector<std::pair<std::string, Operation>>& operations() {
  static const std::vector<std::pair<std::string, Operation>> ops = {
      {"list",
       [](MachinesClient& c, boost::asio::io_context& io) {
         return outcome(run_sync(io, c.list_machines({})));
       }},
      {"get",
       [](MachinesClient& c, boost::asio::io_context& io) {
         return outcome(run_sync(io, c.get_machine("m1", true)));
       }},
      {"create",
       [](MachinesClient& c, boost::asio::io_context& io) {
         CreateMachineRequest req;
         req.region = "fra";
         req.config["image"] = "registry.fly.io/app:v1";
         return outcome(run_sync(io, c.create_machine(req)));
       }},
      {"lease",
       [](MachinesClient& c, boost::asio::io_context& io) {
         return outcome(run_sync(io, c.acquire_lease("m1", 30s, "x")));
       }},
      {"wait",
       [](MachinesClient& c, boost::asio::io_context& io) {
         return outcome(run_sync(io, c.wait_machine("m1", "started", 1s, "")));
       }},
      {"metadata",
       [](MachinesClient& c, boost::asio::io_context& io) {
         return outcome(run_sync(io, c.get_metadata("m1")));
       }},
      {"regions",
       [](MachinesClient& c, boost::asio::io_context& io) {
         return outcome(run_sync(io, c.list_regions()));
       }},
  };
  return ops;
}

class Hostile : public ::testing::Test {
 protected:
  std::unique_ptr<MachinesClient> make_client(MachinesClientOptions o = {},
                                              std::chrono::milliseconds timeout = 2s) {
    o.app = "app";
    o.base_url = fly.base_url();
    o.rate_limit = false;  // the hook answers before MiniFly's limiter; keep the test quick
    o.max_attempts = 1;
    o.http.request_timeout = timeout;
    o.http.max_body_bytes = 256u << 10;
    return std::make_unique<MachinesClient>(io.get_executor(), o, clock);
  }
  void answer_with(TestReply reply) {
    fly.set_hook([reply](const net::Request&) -> std::optional<TestReply> { return reply; });
  }
  void TearDown() override { (void)fly.take_violations(); }  // the bodies are ours, on purpose

  boost::asio::io_context io;
  SystemClock clock;
  MiniFly fly{contract()};
};

std::string nested(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

// Bodies no operation can use, sent with 200 OK.
TEST_F(Hostile, UnusableBodiesAreBadResponsesForEveryOperation) {
  const std::vector<std::pair<std::string, std::string>> bodies = {
      {"truncated object", R"({"id":"m1","state":"star)"},
      {"truncated array", R"([{"id":"m1","state":"started","region":"fra"},)"},
      {"just an opening brace", "{"},
      {"a bare number", "42"},
      {"a bare string", R"("machines")"},
      {"html", "<html><body>502 Bad Gateway</body></html>"},
      {"deep nesting", nested(100000)},
      {"invalid utf-8", "{\"id\":\"m\xff\xfe\",\"state\":\"started\",\"region\":\"fra\"}"},
      {"trailing garbage", R"({"id":"m1","state":"started","region":"fra"} {"again":1})"},
      {"nul byte", std::string("{\"id\":\"m1\"\0}", 12)},
  };
  auto api = make_client();
  for (const auto& [what, body] : bodies) {
    answer_with(json_reply(http::status::ok, body));
    for (const auto& [name, op] : operations()) {
      const Outcome r = op(*api, io);
      ASSERT_TRUE(r.has_value()) << name << " accepted " << what;
      EXPECT_EQ(r->kind, FlyError::Kind::kBadResponse) << name << " / " << what;
      EXPECT_EQ(r->http_status, 200) << name << " / " << what;
      // A write that got a 2xx we cannot read did happen, but we cannot say what it made.
      EXPECT_EQ(r->outcome_unknown, name == "create" || name == "lease") << name << " / " << what;
      EXPECT_LE(r->message.size(), 4096u) << name << " / " << what;
    }
  }
}

TEST_F(Hostile, WrongTypesAndMissingFields) {
  struct Case {
    std::string op;
    std::string body;
  };
  const std::vector<Case> cases = {
      {"list", R"({"machines":[]})"},                                   // object, not array
      {"list", R"([{"id":"m1","state":"started"}])"},                   // no region
      {"list", R"([{"id":1,"state":"started","region":"fra"}])"},       // id a number
      {"list", R"([null])"},                                            // entry null
      {"list", R"([{"id":"m1","state":"started","region":"fra"},7])"},  // one bad entry
      {"get", R"({"id":"m1"})"},
      {"get", R"({"id":"m1","state":null,"region":"fra"})"},
      {"get", R"({"id":"m1","state":"started","region":["fra"]})"},
      {"get", R"({"id":"m1","state":"started","region":"fra","config":"opaque"})"},
      {"get", R"({"id":"m1","state":"started","region":"fra","events":"none"})"},
      {"get", R"({"id":"m1","state":"started","region":"fra","image_ref":[1,2]})"},
      {"get", R"({"id":"m1","state":"started","region":"fra","created_at":17e400})"},
      {"create", R"({"state":"created","region":"fra"})"},
      {"create", "[]"},
      {"lease", R"({"status":"success","data":{"owner":"me"}})"},  // no nonce
      {"lease", R"({"data":{"nonce":12345,"expires_at":1}})"},
      {"lease", R"({"nonce":"n","expires_at":"tomorrow"})"},
      {"wait", R"({"ok":"yes"})"},
      {"wait", R"([])"},
      {"metadata", R"({"role":1})"},
      {"metadata", R"({"role":{"nested":"x"}})"},
      {"metadata", R"(["role","web"])"},
      {"regions", R"({"regions":"all of them"})"},
      {"regions", R"({"Regions":[]})"},
      {"regions", R"({"regions":[{"name":"Paris"}]})"},
      {"regions", R"({"regions":[{"code":"cdg","latitude":"north"}]})"},
      {"regions", R"({"regions":[{"code":"cdg","latitude":91,"longitude":2}]})"},
  };
  auto api = make_client();
  for (const auto& c : cases) {
    answer_with(json_reply(http::status::ok, c.body));
    const Operation* op = nullptr;
    for (const auto& [name, fn] : operations())
      if (name == c.op) op = &fn;
    ASSERT_NE(op, nullptr) << c.op;
    const Outcome r = (*op)(*api, io);
    ASSERT_TRUE(r.has_value()) << c.op << " accepted " << c.body;
    EXPECT_EQ(r->kind, FlyError::Kind::kBadResponse) << c.op << " / " << c.body;
    EXPECT_FALSE(r->message.empty());
  }
}

TEST_F(Hostile, HugeBodiesAreRefusedNotBuffered) {
  // max_body_bytes = 256 KiB. The 2 s request time-out of the other tests is too short here:
  // under ASan on a busy 2-core CI machine, building and sending the first megabyte took longer
  // (a kTimeout instead of the kBadResponse this test is about).
  auto api = make_client({}, 20s);
  // A list of valid machines, just too many bytes; and one giant string field.
  std::string list = "[";
  while (list.size() < (1u << 20))
    list += R"({"id":"m1","state":"started","region":"fra","name":"x"},)";
  list.back() = ']';
  const std::string giant = R"({"id":"m1","state":"started","region":"fra","name":")" +
                            std::string(2u << 20, 'a') + R"("})";
  const std::string* const bodies[] = {&list, &giant};
  for (const std::string* body : bodies) {
    answer_with(json_reply(http::status::ok, *body));
    for (const auto& [name, op] : operations()) {
      const Outcome r = op(*api, io);
      ASSERT_TRUE(r.has_value()) << name;
      EXPECT_EQ(r->kind, FlyError::Kind::kBadResponse) << name;
      EXPECT_EQ(r->http_status, 0) << name;  // nothing usable came back
    }
  }
}

TEST_F(Hostile, BrokenHttpIsATransportError) {
  auto raw = [](std::string bytes) {
    TestReply r;
    r.raw = true;
    r.raw_bytes = std::move(bytes);
    return r;
  };
  const std::vector<std::pair<std::string, TestReply>> replies = {
      {"body shorter than Content-Length",
       raw("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n[]")},
      {"not HTTP", raw("SSH-2.0-OpenSSH_9.2\r\n")},
      {"bad status line", raw("HTTP/1.1 ABC WAT\r\nContent-Length: 0\r\n\r\n")},
      {"negative length", raw("HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n")},
      {"bad chunking", raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n[]\r\n")},
      {"headers too large", raw("HTTP/1.1 200 OK\r\nX-Junk: " + std::string(200u << 10, 'j') +
                                "\r\nContent-Length: 2\r\n\r\n[]")},
      {"nothing at all", raw("")},
  };
  auto api = make_client();
  for (const auto& [what, reply] : replies) {
    answer_with(reply);
    for (const auto& [name, op] : operations()) {
      const Outcome r = op(*api, io);
      ASSERT_TRUE(r.has_value()) << name << " accepted " << what;
      EXPECT_EQ(r->kind, FlyError::Kind::kTransport) << name << " / " << what;
      EXPECT_EQ(r->outcome_unknown, name == "create" || name == "lease") << name << " / " << what;
    }
  }
}

TEST_F(Hostile, HostileErrorAnswers) {
  auto api = make_client();
  // A megabyte-long error message is cut short: we log these.
  answer_with(json_reply(http::status::internal_server_error,
                         R"({"error":")" + std::string(100u << 10, 'e') + R"(","status":"x"})"));
  auto r = run_sync(io, api->get_machine("m1", false));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, FlyError::Kind::kServer);
  EXPECT_LE(r.error().message.size(), 1000u);

  // Error bodies of the wrong shape still give the status's class.
  for (const char* body : {R"({"error":5,"status":["insufficient_capacity"]})", "[1,2]", "{",
                           "<h1>Not Found</h1>", ""}) {
    answer_with(json_reply(http::status::not_found, body));
    auto e = run_sync(io, api->get_machine("m1", false));
    ASSERT_FALSE(e.ok()) << body;
    EXPECT_EQ(e.error().kind, FlyError::Kind::kNotFound) << body;
    EXPECT_FALSE(e.error().message.empty()) << body;
  }

  // Retry-After values nobody should believe: ignored (the client's own backoff applies),
  // capped at an hour, or taken as "now" for a date in the past.
  auto patient = make_client();
  const std::vector<std::pair<std::string, std::optional<std::chrono::milliseconds>>> values = {
      {"99999999999999999999999", std::nullopt},  // overflows
      {"-3", std::nullopt},
      {"1.5", std::nullopt},
      {"Thu, 31 Feb 2030 00:00:00 GMT", std::nullopt},  // no such day
      {"Mon, 01 Jan 1990 00:00:00 GMT", 0ms},           // long past
      {"Wed, 01 Jan 2200 00:00:00 GMT", 3600s},         // capped at an hour
      {"86400", 3600s},
  };
  for (const auto& [value, expected] : values) {
    TestReply limited =
        json_reply(http::status::too_many_requests, R"({"error":"rate limit exceeded"})");
    limited.response.set(http::field::retry_after, value);
    answer_with(limited);
    auto e = run_sync(io, patient->get_machine("m1", false));
    ASSERT_FALSE(e.ok()) << value;
    EXPECT_EQ(e.error().kind, FlyError::Kind::kRateLimited) << value;
    EXPECT_EQ(e.error().retry_after, expected) << value;
  }
}

}  // namespace
}  // namespace autoplacer::fly
