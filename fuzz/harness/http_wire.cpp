#include "http_wire.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "harness.h"
#include "net/http_server.h"

namespace autoplacer::fuzz {
namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

int connect_loopback(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) fuzz_fail(__FILE__, __LINE__, "socket() failed");
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  // Close with a reset: tens of thousands of connections a minute would otherwise fill the
  // ephemeral ports with TIME_WAIT sockets and connect() would fail.
  linger lg{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  // Spread the client side over 127.1.0.0/16: the server closes first on many inputs and keeps
  // each connection in TIME_WAIT for a minute, and one source address has only ~28k ports.
  static std::uint32_t next_source = 0;
  const std::uint32_t n = next_source++ % (250 * 250);
  sockaddr_in src{};
  src.sin_family = AF_INET;
  src.sin_addr.s_addr = htonl((127u << 24) | (1u << 16) | ((n / 250) << 8) | (n % 250 + 1));
  const int one = 1;
  ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
    // Not every loopback routes the whole 127/8; fall back to the kernel's choice.
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  if (rc != 0 && errno == EINTR) {
    // libFuzzer's timer signal interrupted us; the connect goes on: wait for it to finish.
    pollfd pfd{fd, POLLOUT, 0};
    while ((rc = ::poll(&pfd, 1, 5000)) < 0 && errno == EINTR) {
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (rc == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
      rc = 0;
    } else {
      errno = rc == 1 ? err : ETIMEDOUT;
      rc = -1;
    }
  }
  if (rc != 0) {
    std::fprintf(stderr, "connect: %s\n", std::strerror(errno));
    ::close(fd);
    fuzz_fail(__FILE__, __LINE__, "connect() to the server failed");
  }
  return fd;
}

// The methods of the requests in `input`, in order, as the server's parser splits them (same
// limits). An answer to HEAD has no body even when it says Content-Length, so a client can only
// frame the answers knowing which requests were HEAD.
std::vector<http::verb> request_methods(std::string_view input) {
  const net::HttpServer::Options limits;
  std::vector<http::verb> out;
  while (!input.empty() && out.size() < 64) {
    http::request_parser<http::string_body> p;
    p.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
    p.body_limit(limits.max_body_bytes);
    p.eager(true);
    boost::system::error_code ec;
    while (!p.is_done()) {
      const std::size_t n = p.put(asio::buffer(input.data(), input.size()), ec);
      input.remove_prefix(n);
      if (ec == http::error::need_more || (!ec && n == 0)) {
        ec = {};
        if (n > 0 && !input.empty()) continue;
        p.put_eof(ec);
        if (!ec && !p.is_done()) ec = http::error::partial_message;
      }
      if (ec) break;
    }
    if (!p.is_header_done()) break;
    // A request whose body failed gets the server's 400 (with a body, then the connection
    // closes, so nothing follows it to mis-frame): only complete requests count as HEAD.
    out.push_back(ec ? http::verb::unknown : p.get().method());
    if (ec || !p.get().keep_alive()) break;
  }
  return out;
}

}  // namespace

std::string exchange_over_loopback(std::uint16_t port, std::string_view input) {
  const int fd = connect_loopback(port);
  std::size_t sent = 0;
  while (sent < input.size()) {
    const ssize_t n = ::send(fd, input.data() + sent, input.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the server closed early (431, 413, 400): fine
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string answer;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      answer.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      ::close(fd);
      fuzz_fail(__FILE__, __LINE__, "server kept a half-closed connection open for 5 s");
    }
    break;  // EOF or reset
  }
  ::close(fd);
  return answer;
}

void check_http_answers(std::string_view input, const std::string& answers) {
  const std::vector<http::verb> methods = request_methods(input);
  std::string_view rest = answers;
  for (std::size_t i = 0; !rest.empty(); ++i) {
    if (rest.rfind("HTTP/1.1 ", 0) != 0 && rest.rfind("HTTP/1.0 ", 0) != 0) {
      std::fprintf(stderr, "answer %zu starts with: %.60s\n", i, std::string(rest).c_str());
      fuzz_fail(__FILE__, __LINE__, "server sent something that is not an HTTP answer");
    }
    http::response_parser<http::string_body> p;
    p.eager(true);
    if (i < methods.size() && methods[i] == http::verb::head) p.skip(true);
    boost::system::error_code ec;
    while (!p.is_done() && !rest.empty()) {
      const std::size_t n = p.put(asio::buffer(rest.data(), rest.size()), ec);
      rest.remove_prefix(n);
      if (ec || n == 0) break;
    }
    if (ec == http::error::need_more || (!ec && !p.is_done())) return;  // cut short at the close
    if (ec) {
      std::fprintf(stderr, "answer %zu does not parse (%s): %.200s\n", i, ec.message().c_str(),
                   std::string(rest).c_str());
      fuzz_fail(__FILE__, __LINE__, "server sent an answer that does not parse");
    }
  }
}

}  // namespace autoplacer::fuzz
