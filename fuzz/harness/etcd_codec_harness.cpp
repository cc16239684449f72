// Harness for the etcd grpc-gateway codec (controller/etcd_codec.h).
#include <array>
#include <string>

#include "controller/etcd_codec.h"
#include "harness.h"

namespace autoplacer::fuzz {

void etcd_codec(std::string_view data) {
  using etcd::EtcdError;
  // Every decoder: a value or a kProtocol error, never an exception or a crash.
  auto protocol_or_ok = [](const auto& r) {
    if (!r) AP_FUZZ_CHECK(!r.error().message.empty());
  };
  protocol_or_ok(etcd::decode_range(data));
  protocol_or_ok(etcd::decode_put(data));
  protocol_or_ok(etcd::decode_delete_range(data));
  protocol_or_ok(etcd::decode_txn(data));
  protocol_or_ok(etcd::decode_lease_grant(data));
  protocol_or_ok(etcd::decode_lease_time_to_live(data));
  protocol_or_ok(etcd::decode_lease_revoke(data));
  protocol_or_ok(etcd::decode_authenticate(data));
  // Keep-alive may report an error inside a 200, so it can fail with other kinds too.
  (void)etcd::decode_lease_keep_alive(data);

  static constexpr std::array<unsigned, 7> kStatuses{400, 401, 403, 404, 429, 500, 503};
  for (unsigned status : kStatuses) {
    const EtcdError e = etcd::decode_error(status, data);
    AP_FUZZ_CHECK(std::string(etcd::to_string(e.kind)) != "unknown");
  }

  // base64: what we encode, we decode back unchanged (keys and values are arbitrary bytes).
  const std::string encoded = etcd::base64_encode(data);
  const auto decoded = etcd::base64_decode(encoded);
  AP_FUZZ_CHECK(decoded.has_value() && *decoded == data);
  // Whatever the decoder accepts re-encodes to something it decodes the same way.
  if (auto bytes = etcd::base64_decode(data)) {
    const auto again = etcd::base64_decode(etcd::base64_encode(*bytes));
    AP_FUZZ_CHECK(again.has_value() && *again == *bytes);
  }
  // A prefix's range end is greater than every key with that prefix.
  const std::string_view prefix = data.substr(0, 16);
  const std::string end = etcd::prefix_range_end(prefix);
  if (!end.empty() && end != std::string(1, '\0')) {
    AP_FUZZ_CHECK(std::string(prefix) + "\xff\xff" < end);
  }
}

}  // namespace autoplacer::fuzz
