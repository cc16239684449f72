#include "controller/etcd_codec.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace autoplacer::etcd {
namespace {
namespace json = boost::json;

TEST(EtcdBase64, KnownVectorsAndRoundTrip) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  std::string binary;
  for (int i = 0; i < 256; ++i) binary += static_cast<char>(i);
  EXPECT_EQ(base64_decode(base64_encode(binary)), binary);
  EXPECT_EQ(base64_decode("Zm9vYmFy"), "foobar");
  EXPECT_EQ(base64_decode("Zg=="), "f");
  EXPECT_EQ(base64_decode("Zg"), "f");  // padding is optional on input
  EXPECT_FALSE(base64_decode("Zm9v!"));
  EXPECT_FALSE(base64_decode("Z"));
}

TEST(EtcdPrefix, RangeEndIsTheNextKeyAfterThePrefix) {
  EXPECT_EQ(prefix_range_end("/autoplacer/"), "/autoplacer0");
  EXPECT_EQ(prefix_range_end("a\xff"), "b");
  EXPECT_EQ(prefix_range_end("\xff\xff"), std::string(1, '\0'));
  EXPECT_EQ(prefix_range_end(""), std::string(1, '\0'));
}

TEST(EtcdEncode, TxnCarriesCompareAndOpsInGatewayShape) {
  TxnRequest t;
  t.compare.push_back(Compare::create_revision("k", Compare::Result::kEqual, 0));
  t.compare.push_back(Compare::value_is("v", Compare::Result::kNotEqual, "x"));
  t.success.emplace_back(PutRequest::of("k", "me", 42));
  t.failure.emplace_back(RangeRequest::single("k"));
  t.failure.emplace_back(DeleteRangeRequest::single("d"));
  auto v = json::parse(encode_txn(t)).as_object();
  const auto& c0 = v["compare"].as_array()[0].as_object();
  EXPECT_EQ(c0.at("key").as_string(), "aw==");
  EXPECT_EQ(c0.at("target").as_string(), "CREATE");
  EXPECT_EQ(c0.at("result").as_string(), "EQUAL");
  EXPECT_EQ(c0.at("create_revision").as_string(), "0");
  const auto& c1 = v["compare"].as_array()[1].as_object();
  EXPECT_EQ(c1.at("target").as_string(), "VALUE");
  EXPECT_EQ(c1.at("result").as_string(), "NOT_EQUAL");
  EXPECT_EQ(c1.at("value").as_string(), "eA==");
  const auto& put = v["success"].as_array()[0].as_object().at("request_put").as_object();
  EXPECT_EQ(put.at("value").as_string(), "bWU=");
  EXPECT_EQ(put.at("lease").as_string(), "42");
  EXPECT_TRUE(v["failure"].as_array()[0].as_object().contains("request_range"));
  EXPECT_TRUE(v["failure"].as_array()[1].as_object().contains("request_delete_range"));
}

TEST(EtcdEncode, RangeOmitsDefaults) {
  auto v = json::parse(encode_range(RangeRequest::single("foo"))).as_object();
  EXPECT_EQ(v.size(), 1u);
  auto p = json::parse(encode_range(RangeRequest::prefix("a/"))).as_object();
  EXPECT_EQ(p.at("range_end").as_string(), base64_encode("a0"));
  auto g = json::parse(encode_lease_grant(15, 0)).as_object();
  EXPECT_EQ(g.at("TTL").as_string(), "15");
  EXPECT_FALSE(g.contains("ID"));
}

// Answers captured from etcd 3.4.23's gateway.
constexpr const char* kRange =
    R"({"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"2","raft_term":"2"},"kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1","value":"YmFy"}],"count":"1"})";
constexpr const char* kEmptyRange =
    R"({"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"2","raft_term":"2"}})";
constexpr const char* kTxnFailed =
    R"({"header":{"cluster_id":"1","member_id":"1","revision":"2","raft_term":"2"},"responses":[{"response_range":{"header":{"revision":"2"},"kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1","value":"YmFy","lease":"4111120170774909457"}],"count":"1"}}]})";
constexpr const char* kTxnPut =
    R"({"header":{"cluster_id":"1","member_id":"1","revision":"4","raft_term":"2"},"succeeded":true,"responses":[{"response_put":{"header":{"revision":"4"}}}]})";

TEST(EtcdDecode, RangeWithAndWithoutKeys) {
  auto r = decode_range(kRange);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->header.revision, 2);
  EXPECT_EQ(r->header.cluster_id, 15118495548433857066ull);
  ASSERT_EQ(r->kvs.size(), 1u);
  EXPECT_EQ(r->kvs[0].key, "foo");
  EXPECT_EQ(r->kvs[0].value, "bar");
  EXPECT_EQ(r->kvs[0].create_revision, 2);
  EXPECT_EQ(r->kvs[0].version, 1);
  EXPECT_EQ(r->kvs[0].lease, 0);
  EXPECT_EQ(r->count, 1);
  auto e = decode_range(kEmptyRange);
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->kvs.empty());
  EXPECT_EQ(e->count, 0);  // omitted default
}

TEST(EtcdDecode, TxnFailedBranchAndSucceededPut) {
  auto f = decode_txn(kTxnFailed);
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->succeeded);  // "succeeded" is omitted when false
  ASSERT_EQ(f->responses.size(), 1u);
  const auto& rr = std::get<RangeResponse>(f->responses[0]);
  EXPECT_EQ(rr.kvs.at(0).lease, 4111120170774909457);
  auto s = decode_txn(kTxnPut);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->succeeded);
  EXPECT_EQ(s->header.revision, 4);
  EXPECT_TRUE(std::holds_alternative<PutResponse>(s->responses.at(0)));
}

TEST(EtcdDecode, KeepAliveOfLiveAndOfGoneLease) {
  auto live = decode_lease_keep_alive(
      R"({"result":{"header":{"revision":"3"},"ID":"4111120170774909457","TTL":"5"}})"
      "\n");
  ASSERT_TRUE(live.ok());
  EXPECT_EQ(live->id, 4111120170774909457);
  EXPECT_EQ(live->ttl, 5);
  // etcd answers a keep-alive of an unknown lease with no TTL at all.
  auto gone = decode_lease_keep_alive(R"({"result":{"header":{"revision":"2"},"ID":"12345"}})");
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->ttl, 0);
  auto err = decode_lease_keep_alive(
      R"({"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader"}})");
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.error().kind, EtcdError::Kind::kUnavailable);
}

TEST(EtcdDecode, LeaseGrantTimeToLiveAuthenticate) {
  auto g =
      decode_lease_grant(R"({"header":{"revision":"1"},"ID":"4111120170774909446","TTL":"5"})");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->ttl, 5);
  auto t = decode_lease_time_to_live(R"({"header":{"revision":"2"},"ID":"12345","TTL":"-1"})");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->ttl, -1);
  auto a = decode_authenticate(R"({"header":{"revision":"5"},"token":"LFSbdpHvPWDziPWI.22"})");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->token, "LFSbdpHvPWDziPWI.22");
}

TEST(EtcdDecode, MalformedAnswersAreProtocolErrors) {
  EXPECT_EQ(decode_range("not json").error().kind, EtcdError::Kind::kProtocol);
  EXPECT_EQ(decode_range("[]").error().kind, EtcdError::Kind::kProtocol);
  EXPECT_EQ(decode_range(R"({"kvs":[{"key":"!!"}]})").error().kind, EtcdError::Kind::kProtocol);
  EXPECT_EQ(decode_range(R"({"count":"x"})").error().kind, EtcdError::Kind::kProtocol);
  EXPECT_EQ(decode_txn(R"({"responses":[{"response_what":{}}]})").error().kind,
            EtcdError::Kind::kProtocol);
  EXPECT_EQ(decode_lease_grant(R"({"TTL":"5"})").error().kind, EtcdError::Kind::kProtocol);
  EXPECT_EQ(decode_lease_keep_alive("{}").error().kind, EtcdError::Kind::kProtocol);
}

TEST(EtcdDecode, GatewayErrorsMapToKinds) {
  // The gateway appends an HTTP trailer to chunked error bodies; only the JSON counts.
  auto lease = decode_error(
      404,
      R"({"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5})"
      "Grpc-Trailer-Content-Type: application/grpc\r\n");
  EXPECT_EQ(lease.kind, EtcdError::Kind::kLeaseNotFound);
  EXPECT_EQ(lease.grpc_code, 5);
  EXPECT_EQ(decode_error(401, R"({"error":"etcdserver: invalid auth token","code":16})").kind,
            EtcdError::Kind::kUnauthenticated);
  EXPECT_EQ(
      decode_error(
          400,
          R"({"error":"etcdserver: authentication failed, invalid user ID or password","code":3})")
          .kind,
      EtcdError::Kind::kUnauthenticated);
  EXPECT_EQ(decode_error(400, R"({"error":"unknown value","code":3})").kind,
            EtcdError::Kind::kInvalidArgument);
  EXPECT_EQ(decode_error(503, R"({"error":"etcdserver: no leader","code":14})").kind,
            EtcdError::Kind::kUnavailable);
  EXPECT_EQ(decode_error(503, "<html>").kind, EtcdError::Kind::kUnavailable);
  EXPECT_EQ(decode_error(500, R"({"error":"etcdserver: request timed out","code":2})").kind,
            EtcdError::Kind::kUnavailable);
  EXPECT_TRUE(decode_error(504, "").transient());
  EXPECT_FALSE(decode_error(403, "").transient());
}

}  // namespace
}  // namespace autoplacer::etcd
