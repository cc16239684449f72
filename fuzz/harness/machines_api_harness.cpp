// Harness for the Machines API answer parsers (fly/models.h) and error mapping (fly/errors.h).
#include <algorithm>
#include <array>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <string>

#include "fly/errors.h"
#include "fly/models.h"
#include "harness.h"

namespace autoplacer::fuzz {
namespace {

bool all_finite(const boost::json::value& v) {
  if (v.is_double()) return std::isfinite(v.get_double());
  if (const auto* a = v.if_array()) {
    return std::all_of(a->begin(), a->end(), [](const auto& x) { return all_finite(x); });
  }
  if (const auto* o = v.if_object()) {
    return std::all_of(o->begin(), o->end(), [](const auto& kv) { return all_finite(kv.value()); });
  }
  return true;
}

// Whatever a machine parsed into must survive machine_to_json -> machine_from_json: the fakes and
// test servers serve machines that way, so a field that does not round-trip would be a silent
// difference between tests and production.
void check_machine(const fly::Machine& m) {
  AP_FUZZ_CHECK(!m.id.empty());
  const boost::json::value j = fly::machine_to_json(m);
  auto back = fly::machine_from_json(j);
  AP_FUZZ_CHECK(back.ok());
  AP_FUZZ_CHECK(back->id == m.id && back->state == m.state && back->region == m.region);
  AP_FUZZ_CHECK(back->metadata == m.metadata);
  AP_FUZZ_CHECK(back->image_ref.has_value() == m.image_ref.has_value());
  AP_FUZZ_CHECK(back->events.size() == m.events.size());
  AP_FUZZ_CHECK(back->lease.has_value() == m.lease.has_value());
  // And through text, as a real server would send it. Bodies with a number too large for a
  // double ("1e999", read as infinity) are refused by the body parsers; a value built in memory
  // may still hold one, and `Infinity` is not JSON, so such values skip the text round trip.
  if (all_finite(j)) {
    auto reparsed = fly::machine_from_body(boost::json::serialize(j));
    AP_FUZZ_CHECK(reparsed.ok());
  }

  (void)m.process_group();
  if (m.image_ref) (void)fly::ImageRef::from_image(m.image_ref->to_image());

  fly::CloneOptions o;
  o.region = "fra";
  o.metadata = {{std::string(fly::kMetaPolicy), "p"}, {std::string(fly::kMetaOpId), "op"}};
  auto req = fly::make_clone_request(m, o);
  if (req) {
    // A clone pins an image, never carries volumes over, and always carries our marks.
    const auto* image = req->config.if_contains("image");
    AP_FUZZ_CHECK(image != nullptr && image->is_string() && !image->get_string().empty());
    AP_FUZZ_CHECK(!req->config.contains("mounts"));
    const auto* md = req->config.if_contains("metadata");
    AP_FUZZ_CHECK(md != nullptr && md->is_object());
    const auto* mark = md->get_object().if_contains(fly::kMetaPolicy);
    AP_FUZZ_CHECK(mark != nullptr && mark->is_string() && mark->get_string() == "p");
    AP_FUZZ_CHECK(!md->get_object().contains(fly::kMetaBlueGreenTag));
    (void)boost::json::serialize(fly::to_json(*req));
  } else {
    AP_FUZZ_CHECK(!req.error().empty());
  }
}

void check_error_mapping(std::string_view data) {
  // Byte 0: the status (one the Machines API or a proxy sends). First line: Retry-After and
  // fly-request-id. Rest: the body.
  static constexpr std::array<unsigned, 16> kStatuses{400, 401, 403, 404, 408, 409, 412, 422,
                                                      429, 500, 502, 503, 504, 200, 301, 418};
  unsigned status = 500;
  if (!data.empty()) {
    status = kStatuses[static_cast<unsigned char>(data.front()) % kStatuses.size()];
    data.remove_prefix(1);
  }
  const auto nl = data.find('\n');
  const std::string_view head =
      nl == std::string_view::npos ? std::string_view{} : data.substr(0, nl);
  const std::string_view body = nl == std::string_view::npos ? data : data.substr(nl + 1);

  if (auto ra = fly::parse_retry_after(head)) {
    AP_FUZZ_CHECK(ra->count() >= 0 && ra->count() <= 3'600'000);
  }

  net::Response res;
  res.result(status);
  // Header values cannot hold CR/LF/NUL; Beast would refuse them on the wire, so skip those.
  if (head.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos) {
    res.set(net::http::field::retry_after, head);
    res.set("fly-request-id", head);
  }
  res.body() = std::string(body);
  const fly::FlyError e = fly::from_response(res);
  AP_FUZZ_CHECK(e.http_status == static_cast<int>(status));
  AP_FUZZ_CHECK(!fly::describe(e).empty());
  AP_FUZZ_CHECK(e.message.size() <= std::max<std::size_t>(200, body.size()) ||
                e.message == std::string(res.reason()));
  if (e.retry_after) AP_FUZZ_CHECK(e.retry_after->count() <= 3'600'000);
  (void)e.retryable_read();
}

}  // namespace

void machines_api(std::string_view data) {
  if (auto list = fly::machines_from_json(data)) {
    for (const auto& m : *list) check_machine(m);
  } else {
    AP_FUZZ_CHECK(!list.error().empty());
  }
  if (auto m = fly::machine_from_body(data)) {
    check_machine(*m);
  } else {
    AP_FUZZ_CHECK(!m.error().empty());
  }
  if (auto l = fly::lease_from_body(data)) AP_FUZZ_CHECK(!l->nonce.empty());
  (void)fly::wait_from_body(data);
  (void)fly::metadata_from_body(data);
  if (auto regions = fly::regions_from_body(data)) {
    for (const auto& r : *regions) {
      AP_FUZZ_CHECK(!r.code.empty());
      AP_FUZZ_CHECK(r.latitude >= -90 && r.latitude <= 90);
      AP_FUZZ_CHECK(r.longitude >= -180 && r.longitude <= 180);
    }
    // The controller merges the platform's list into the built-in catalog.
    RegionCatalog catalog = RegionCatalog::builtin();
    catalog.merge_platform_regions(*regions);
    for (const auto& r : *regions) {
      (void)catalog.nearest_hostable(r.code);
      (void)catalog.rtt_ms(r.code, "fra");
    }
  }
  check_error_mapping(data);
}

}  // namespace autoplacer::fuzz
