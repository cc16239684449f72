#include <gtest/gtest.h>

#include "net/url.h"

namespace autoplacer::net {
namespace {

TEST(BaseUrl, HttpsDefaultPort) {
  auto u = parse_base_url("https://api.machines.dev");
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "api.machines.dev");
  EXPECT_EQ(u->port, "443");
  EXPECT_EQ(u->path_prefix, "");
  EXPECT_EQ(u->host_header(), "api.machines.dev");
}

TEST(BaseUrl, HttpExplicitPortAndPrefix) {
  auto u = parse_base_url("http://127.0.0.1:4280/prometheus/my-org/");
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, "4280");
  EXPECT_EQ(u->path_prefix, "/prometheus/my-org");
  EXPECT_EQ(u->host_header(), "127.0.0.1:4280");
}

TEST(BaseUrl, Ipv6Literal) {
  auto u = parse_base_url("http://[::1]:8080");
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->host_header(), "[::1]:8080");
}

TEST(BaseUrl, Rejects) {
  for (const char* bad : {"", "api.machines.dev", "ftp://x", "http://", "http://u:p@host",
                          "http://host/?q=1", "http://host:0", "http://host#frag"}) {
    auto u = parse_base_url(bad);
    EXPECT_FALSE(u.ok()) << bad;
    if (!u.ok()) {
      EXPECT_EQ(u.error().kind, HttpError::Kind::kProtocol);
    }
  }
}

TEST(Encoding, PathSegmentAndQuery) {
  EXPECT_EQ(encode_path_segment("abc-123_x.y~"), "abc-123_x.y~");
  EXPECT_EQ(encode_path_segment("a/b c?"), "a%2Fb%20c%3F");
  EXPECT_EQ(encode_query({}), "");
  EXPECT_EQ(encode_query({{"state", "started,stopped"}, {"metadata.k", "v&w"}}),
            "state=started%2Cstopped&metadata.k=v%26w");
}

}  // namespace
}  // namespace autoplacer::net
