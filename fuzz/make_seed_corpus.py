#!/usr/bin/env python3
"""Writes the hand-made seed inputs of fuzz/corpus/<target>/seed-*.

The committed corpus is these seeds plus inputs libFuzzer found that add coverage (minimised with
scripts/fuzz.sh --merge). Re-running this script rewrites only the seed-* files.
Usage: fuzz/make_seed_corpus.py [corpus dir]   (default: fuzz/corpus next to this script)
"""
import json
import os
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# ---- prometheus_response: byte 0 picks the HTTP status (0:200 1:400 2:422 3:503 4:502 5:204 6:301 7:0)
def prom(name, status_index, body):
    write("prometheus_response", name, bytes([status_index]) + body.encode())


prom("vector", 0, json.dumps({"status": "success", "data": {"resultType": "vector", "result": [
    {"metric": {"region": "fra"}, "value": [1700000000.123, "12.5"]},
    {"metric": {"region": "sin"}, "value": [1700000000, "NaN"]},
    {"metric": {"region": "gru"}, "value": [1700000000, "+Inf"]}]}}))
prom("vector-empty", 0, '{"status":"success","data":{"resultType":"vector","result":[]}}')
prom("matrix", 0, json.dumps({"status": "success", "data": {"resultType": "matrix", "result": [
    {"metric": {"region": "iad", "app": "a"}, "values": [[1700000000, "1"], [1700000060, "2e3"],
                                                          [1700000120, "-Inf"]]}]},
    "warnings": ["partial response"]}))
prom("scalar", 0, '{"status":"success","data":{"resultType":"scalar","result":[1700000000.5,"3"]}}')
prom("string", 0, '{"status":"success","data":{"resultType":"string","result":[1700000000,"x"]}}')
prom("api-error", 1, '{"status":"error","errorType":"bad_data","error":"parse error at char 4"}')
prom("api-error-503", 3, '{"status":"error","errorType":"unavailable","error":"overloaded"}')
prom("proxy-page", 4, "<html><body>502 Bad Gateway</body></html>")
prom("empty-200", 0, "")
prom("quoted-time", 0, '{"status":"success","data":{"resultType":"vector","result":'
                       '[{"metric":{},"value":["1700000000.001","0.25"]}]}}')

# ---- machines_api: every Machines API parser reads the same input; the error mapping reads
# byte 0 (status) and the first line.
machine = {
    "id": "148ed193b95948", "name": "red-sun-1234", "state": "started", "region": "fra",
    "instance_id": "01HZ8", "version": "01HZ8V", "private_ip": "fdaa:0:1::2",
    "host_status": "ok", "created_at": "2024-05-01T10:00:00Z", "updated_at": "2024-05-01T10:01:00Z",
    "image_ref": {"registry": "registry.fly.io", "repository": "demo-app",
                  "tag": "deployment-01HZ", "digest": "sha256:abc"},
    "config": {"image": "registry.fly.io/demo-app:deployment-01HZ",
               "guest": {"cpu_kind": "shared", "cpus": 1, "memory_mb": 256},
               "mounts": [{"volume": "vol_1", "path": "/data"}],
               "metadata": {"fly_process_group": "app", "autoplacer_policy": "web",
                            "fly_bluegreen_deployment_tag": "x", "n": 3}},
    "events": [{"id": "e1", "type": "launch", "status": "created", "source": "user",
                "timestamp": 1714557600000}],
    "lease": {"owner": "deploy-bot@fly.io", "description": "deploy", "expires_at": 1714557700,
              "version": "v1"},
}
write("machines_api", "machine", json.dumps(machine))
write("machines_api", "machine-list", json.dumps([machine, {"id": "2", "state": "stopped",
                                                           "region": "sin", "config": {}}]))
write("machines_api", "machine-list-empty", "[]")
write("machines_api", "machine-missing-region", '[{"id":"1","state":"started"}]')
write("machines_api", "machine-wrong-type", '{"id":"1","state":"started","region":"fra","cordoned":"yes"}')
write("machines_api", "lease", '{"nonce":"abc","owner":"me","expires_at":1714557700,"version":"v"}')
write("machines_api", "lease-wrapped", '{"status":"success","data":{"nonce":"n","expires_at":1.7e9}}')
write("machines_api", "wait", '{"ok":true,"state":"started","version":"v","event_id":"e"}')
write("machines_api", "metadata", '{"fly_process_group":"app","autoplacer_op_id":"op-1"}')
write("machines_api", "regions", json.dumps({"regions": [
    {"code": "fra", "name": "Frankfurt", "latitude": 50.03, "longitude": 8.57},
    {"code": "xyz", "name": "New", "latitude": -33.9, "longitude": 151.2, "deprecated": False},
    {"code": "old", "latitude": 0, "longitude": 0, "deprecated": True}]}))
# Byte 0 indexes: 0:400 1:401 2:403 3:404 4:408 5:409 6:412 7:422 8:429 9:500 10:502 11:503 ...
write("machines_api", "error-capacity", bytes([7]) + b"12\n" +
      b'{"error":"no capacity","status":"insufficient_capacity"}')
write("machines_api", "error-429", bytes([8]) + b" 3 \n" + b'{"error":"rate limited"}')
write("machines_api", "error-409", bytes([5]) + b"\n" + b'{"error":"lease held","status":"unknown"}')
write("machines_api", "error-502-html", bytes([10]) + b"Thu, 01 Jan 2026 00:00:00 GMT\n<html>bad gateway</html>")

# ---- etcd_codec
write("etcd_codec", "range", json.dumps({"header": {"cluster_id": "1", "member_id": "2",
                                                    "revision": "17", "raft_term": "3"},
                                         "kvs": [{"key": "YXV0b3BsYWNlci9h", "value": "e30=",
                                                  "create_revision": "5", "mod_revision": "17",
                                                  "version": "2", "lease": "694d7a"}],
                                         "more": True, "count": "1"}))
write("etcd_codec", "range-empty", '{"header":{"revision":"3"}}')
write("etcd_codec", "put-prev", '{"header":{"revision":"4"},"prev_kv":{"key":"YQ==","value":"Yg=="}}')
write("etcd_codec", "delete", '{"header":{"revision":"5"},"deleted":"1","prev_kvs":[{"key":"YQ=="}]}')
write("etcd_codec", "txn", json.dumps({"header": {"revision": "9"}, "succeeded": True, "responses": [
    {"response_put": {"header": {"revision": "9"}}},
    {"response_range": {"header": {}, "kvs": [{"key": "YQ==", "value": "MQ=="}], "count": "1"}},
    {"response_delete_range": {"deleted": "2"}}]}))
write("etcd_codec", "lease-grant", '{"header":{"revision":"2"},"ID":"7587862072000001","TTL":"15"}')
write("etcd_codec", "keepalive", '{"result":{"header":{},"ID":"7587862072000001","TTL":"15"}}')
write("etcd_codec", "keepalive-error", '{"error":{"grpc_code":5,"http_code":404,"message":"etcdserver: requested lease not found","http_status":"Not Found"}}')
write("etcd_codec", "ttl", '{"header":{},"ID":"1","TTL":"-1","grantedTTL":"15"}')
write("etcd_codec", "auth", '{"header":{},"token":"abc.def"}')
write("etcd_codec", "grpc-error", '{"error":"etcdserver: mvcc: required revision has been compacted","code":11,"message":"etcdserver: mvcc: required revision has been compacted"}')
write("etcd_codec", "base64", "YXV0b3BsYWNlcg")

# ---- scenario_csv
write("scenario_csv", "two-regions", "timestamp,region,rps\n1700000000,iad,10\n1700000000,waw,0\n"
                                      "1700000060,iad,10\n1700000060,waw,5\n")
write("scenario_csv", "crlf-spaces", "timestamp,region,rps\r\n\r\n 1700000000 , fra , 1.5e2\r\n"
                                      "1700000300,sin,0\r\n")
write("scenario_csv", "bad-rps", "timestamp,region,rps\n1700000000,fra,abc\n")
write("scenario_csv", "backwards", "timestamp,region,rps\n20,fra,1\n10,fra,1\n")
write("scenario_csv", "uneven", "timestamp,region,rps\n0,fra,1\n60,fra,1\n90,fra,1\n")

# ---- duration
for name, text in {"compound": "1h30m", "ms": "250ms", "zero": "0", "days": "7d", "bad-unit": "5y",
                   "negative": "-1s", "huge": "99999999999999999999d", "fraction": "1.5h"}.items():
    write("duration", name, text)

# ---- http_request / http_server: raw client bytes
http = {
    "get-health": "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    "get-machines-query": "GET /v1/apps/demo-app/machines?region=fra&region=sin&state=started,stopped&summary HTTP/1.1\r\nHost: x\r\n\r\n",
    "get-machine-pct": "GET /v1/apps/demo%2Dapp/machines/abc%20d?x=%41 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "post-create": "POST /v1/apps/a/machines HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 33\r\n\r\n{\"region\":\"fra\",\"config\":{\"x\":1}}",
    "post-lease-chunked": "POST /v1/apps/a/machines/m1/lease HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n{\"ttl\"\r\n4\r\n:30}\r\n0\r\n\r\n",
    "pipelined": "GET /status HTTP/1.1\r\nHost: x\r\n\r\nDELETE /v1/apps/a/machines/m1/lease HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.0\r\n\r\n",
    "method-not-allowed": "PUT /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    "head": "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\n\r\n",
    "not-found": "GET /nope/../x//y HTTP/1.1\r\n\r\n",
    "events-literal": "GET /v1/apps/a/machines/events HTTP/1.1\r\n\r\n",
    "throw": "POST /flysim/throw HTTP/1.1\r\nContent-Length: 0\r\n\r\nPOST /flysim/throw?kind=int HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    "bad-target": "GET http://x/healthz HTTP/1.1\r\n\r\nGET * HTTP/1.1\r\n\r\n",
    "malformed": "GET /healthz HTTP/9.9\r\n\r\n",
    "bad-content-length": "POST /v1/apps/a/machines HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
    "body-too-large": "POST /v1/apps/a/machines HTTP/1.1\r\nContent-Length: 2000000\r\n\r\nxx",
    "partial": "GET /healthz HTTP/1.1\r\nHost: x\r\n",
}
for name, text in http.items():
    write("http_request", name, text)
    write("http_server", name, text)
# ---- policy_yaml: the policies the project ships and its loader test fixtures (good and bad)
HERE = os.path.dirname(os.path.abspath(__file__))
for folder in ("deploy/policies", "tests/fixtures/policies/good", "tests/fixtures/policies/bad"):
    base = os.path.join(HERE, "..", folder)
    for name in sorted(os.listdir(base)):
        if name.endswith((".yaml", ".yml")):
            with open(os.path.join(base, name), "rb") as f:
                write("policy_yaml", folder.split("/")[-1] + "-" + name, f.read())

# ---- decision: bytes the harness reads as choices (byte_reader.h); a fixed generator keeps the
# seeds the same on every run.
import random
rng = random.Random(20261130)
for i in range(12):
    size = rng.choice([16, 64, 256, 1024])
    write("decision", "random-%02d" % i, bytes(rng.randrange(256) for _ in range(size)))
write("decision", "zeros", bytes(512))
write("decision", "ones", bytes([0xFF]) * 512)
print("seeds written under", ROOT)
