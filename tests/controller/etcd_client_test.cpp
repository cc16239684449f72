// The gateway client's failover and auth logic against a scripted transport.
#include "controller/etcd_client.h"

#include <gtest/gtest.h>

#include <deque>
#include <map>

#include "common/log.h"
#include "controller/etcd_test_util.h"

namespace autoplacer::etcd {
namespace {
using testing::run_sync;
namespace asio = boost::asio;

class ScriptedTransport final : public EtcdTransport {
 public:
  struct Sent {
    std::string endpoint, path, body, token;
  };
  // Answers per endpoint, in order; an endpoint without answers left fails to connect.
  std::map<std::string, std::deque<net::HttpResult<Reply>>> script;
  std::vector<Sent> sent;

  asio::awaitable<net::HttpResult<Reply>> post(std::string endpoint, std::string path,
                                               std::string body, std::string auth_token,
                                               Duration) override {
    sent.push_back({endpoint, path, body, auth_token});
    auto& q = script[endpoint];
    if (q.empty()) {
      co_return make_err(net::HttpError{net::HttpError::Kind::kConnect, "refused"});
    }
    auto r = std::move(q.front());
    q.pop_front();
    co_return r;
  }
};

net::HttpResult<EtcdTransport::Reply> ok(std::string body) {
  return EtcdTransport::Reply{200, std::move(body)};
}
net::HttpResult<EtcdTransport::Reply> status(unsigned s, std::string body) {
  return EtcdTransport::Reply{s, std::move(body)};
}

EtcdClientOptions opts(std::vector<std::string> endpoints, std::string user = "",
                       std::string password = "") {
  EtcdClientOptions o;
  o.endpoints = std::move(endpoints);
  o.username = std::move(user);
  o.password = std::move(password);
  return o;
}

EtcdFlagValues flags(std::string endpoints, std::string cert = "", std::string timeout = "") {
  EtcdFlagValues f;
  f.endpoints = std::move(endpoints);
  f.cert = std::move(cert);
  f.request_timeout = std::move(timeout);
  return f;
}

constexpr const char* kEmptyRange = R"({"header":{"revision":"7"}})";

TEST(EtcdClient, FailsOverToTheNextEndpointAndStaysThere) {
  auto t = std::make_shared<ScriptedTransport>();
  t->script["http://b"].push_back(ok(kEmptyRange));
  t->script["http://b"].push_back(ok(kEmptyRange));
  EtcdGatewayClient c(opts({"http://a", "http://b"}), t);
  auto r = run_sync(c.range(RangeRequest::single("k")));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->header.revision, 7);
  EXPECT_EQ(c.current_endpoint(), "http://b");
  ASSERT_TRUE(run_sync(c.range(RangeRequest::single("k"))).ok());
  ASSERT_EQ(t->sent.size(), 3u);  // a (refused), b, then b directly
  EXPECT_EQ(t->sent[2].endpoint, "http://b");
  EXPECT_EQ(t->sent[1].path, "/v3/kv/range");
}

TEST(EtcdClient, FailsOverOnUnavailableAnswersButNotOnRequestErrors) {
  auto t = std::make_shared<ScriptedTransport>();
  t->script["http://a"].push_back(status(503, R"({"error":"etcdserver: no leader","code":14})"));
  t->script["http://b"].push_back(ok(kEmptyRange));
  t->script["http://b"].push_back(status(400, R"({"error":"bad","code":3})"));
  EtcdGatewayClient c(opts({"http://a", "http://b"}), t);
  ASSERT_TRUE(run_sync(c.range(RangeRequest::single("k"))).ok());
  auto bad = run_sync(c.range(RangeRequest::single("k")));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, EtcdError::Kind::kInvalidArgument);
  EXPECT_EQ(t->sent.size(), 3u);  // the 400 was not retried elsewhere
}

TEST(EtcdClient, AllEndpointsDownIsUnavailable) {
  auto t = std::make_shared<ScriptedTransport>();
  EtcdGatewayClient c(opts({"http://a", "http://b", "http://c"}), t);
  auto r = run_sync(c.lease_keep_alive(1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, EtcdError::Kind::kUnavailable);
  EXPECT_EQ(t->sent.size(), 3u);
  EtcdGatewayClient none(opts({}), t);
  EXPECT_EQ(run_sync(none.range(RangeRequest::single("k"))).error().kind,
            EtcdError::Kind::kUnavailable);
}

TEST(EtcdClient, TimeoutsAreReportedAsTimeouts) {
  auto t = std::make_shared<ScriptedTransport>();
  t->script["http://a"].push_back(make_err(net::HttpError{net::HttpError::Kind::kTimeout, "slow"}));
  EtcdGatewayClient c(opts({"http://a"}), t);
  EXPECT_EQ(run_sync(c.put(PutRequest::of("k", "v"))).error().kind, EtcdError::Kind::kTimeout);
}

TEST(EtcdClient, AuthenticatesSendsTheTokenAndRenewsItOnce) {
  log::init("off");
  auto t = std::make_shared<ScriptedTransport>();
  auto& a = t->script["http://a"];
  a.push_back(ok(R"({"token":"tok-one.1"})"));
  a.push_back(ok(kEmptyRange));
  a.push_back(status(401, R"({"error":"etcdserver: invalid auth token","code":16})"));
  a.push_back(ok(R"({"token":"tok-two.2"})"));
  a.push_back(ok(kEmptyRange));
  EtcdGatewayClient c(opts({"http://a"}, "root", "s3cret-pw"), t);
  ASSERT_TRUE(run_sync(c.range(RangeRequest::single("k"))).ok());
  ASSERT_TRUE(run_sync(c.range(RangeRequest::single("k"))).ok());
  ASSERT_EQ(t->sent.size(), 5u);
  EXPECT_EQ(t->sent[0].path, "/v3/auth/authenticate");
  EXPECT_NE(t->sent[0].body.find("s3cret-pw"), std::string::npos);
  EXPECT_EQ(t->sent[1].token, "tok-one.1");
  EXPECT_EQ(t->sent[3].path, "/v3/auth/authenticate");
  EXPECT_EQ(t->sent[4].token, "tok-two.2");
  // The password and tokens never reach the logs.
  EXPECT_EQ(log::redact("pw=s3cret-pw"), "pw=[REDACTED]");
  EXPECT_EQ(log::redact("tok-two.2"), "[REDACTED]");
}

TEST(EtcdClient, BadCredentialsAreNotRetried) {
  auto t = std::make_shared<ScriptedTransport>();
  t->script["http://a"].push_back(status(
      400,
      R"({"error":"etcdserver: authentication failed, invalid user ID or password","code":3})"));
  EtcdGatewayClient c(opts({"http://a", "http://b"}, "root", "wrong-pw"), t);
  auto r = run_sync(c.range(RangeRequest::single("k")));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, EtcdError::Kind::kUnauthenticated);
  EXPECT_EQ(t->sent.size(), 1u);
}

TEST(EtcdOptions, FlagsWinOverEnvironmentAndThePasswordComesOnlyFromTheEnvironment) {
  std::map<std::string, std::string> env = {
      {"AUTOPLACER_ETCD_ENDPOINTS", "http://env:2379"},
      {"AUTOPLACER_ETCD_USERNAME", "ap"},
      {"AUTOPLACER_ETCD_PASSWORD", "pw-from-env"},
      {"AUTOPLACER_ETCD_CA", "/etc/ca.pem"},
  };
  auto getenv_fn = [&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  auto o = etcd_options_from({}, getenv_fn);
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->endpoints, std::vector<std::string>{"http://env:2379"});
  EXPECT_EQ(o->username, "ap");
  EXPECT_EQ(o->password, "pw-from-env");
  EXPECT_EQ(o->tls.ca_file, "/etc/ca.pem");

  auto f = etcd_options_from(flags("https://a:2379, https://b:2379,https://c:2379", "", "2s"),
                             getenv_fn);
  ASSERT_TRUE(f.ok()) << f.error();
  EXPECT_EQ(f->endpoints.size(), 3u);
  EXPECT_EQ(f->endpoints[1], "https://b:2379");
  EXPECT_EQ(f->request_timeout, Duration{2000});

  EXPECT_FALSE(etcd_options_from(flags("etcd:2379"), getenv_fn).ok());
  EXPECT_FALSE(etcd_options_from(flags("", "c.pem"), getenv_fn).ok());
  EXPECT_FALSE(etcd_options_from(flags("", "", "soon"), getenv_fn).ok());
  env.erase("AUTOPLACER_ETCD_PASSWORD");
  EXPECT_FALSE(etcd_options_from({}, getenv_fn).ok());  // a username without a password
  env.clear();
  auto none = etcd_options_from({}, getenv_fn);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->endpoints.empty());  // local state directory
}

}  // namespace
}  // namespace autoplacer::etcd
