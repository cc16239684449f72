#!/usr/bin/env python3
"""Checks the deployment artifacts against the metrics the controller exports.

  check_observability.py dashboard   deploy/grafana/autoplacer.json: parses, is what
                                     generate_dashboard.py writes, every panel has a datasource and
                                     targets, ids/uids unique, every metric and label it queries is
                                     exported, and every query parses (promtool check rules)
  check_observability.py alerts      deploy/prometheus/alerts.yml: every alert has severity,
                                     summary, description and a runbook_url whose anchor exists in
                                     docs/runbook.md with its four parts; every metric and label is
                                     exported; every alert has a firing case in alerts_test.yml
  check_observability.py fly-toml    deploy/fly.toml: port 8080, metrics scraped, /healthz check,
                                     never auto-stopped, no secret in [env]

The exported metrics are listed in tests/deploy/metric_names.txt.
"""
import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
METRICS_FILE = ROOT / "tests/deploy/metric_names.txt"
DASHBOARD = ROOT / "deploy/grafana/autoplacer.json"
GENERATOR = ROOT / "deploy/grafana/generate_dashboard.py"
ALERTS = ROOT / "deploy/prometheus/alerts.yml"
ALERTS_TEST = ROOT / "deploy/prometheus/alerts_test.yml"
RUNBOOK = ROOT / "docs/runbook.md"
FLY_TOML = ROOT / "deploy/fly.toml"

PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
                "or", "unless", "offset", "inf", "nan", "Inf", "NaN", "atan2"}
SCRAPE_LABELS = {"job", "instance"}
SECRET_RE = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY|CREDENTIAL", re.I)

failures = []


def fail(where, what):
    failures.append(f"{where}: {what}")


def load_metrics():
    """name -> set of label names, with histogram names expanded to _bucket/_sum/_count."""
    metrics = {}
    for line in METRICS_FILE.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, kind, labels = line.split()
        label_set = set() if labels == "-" else set(labels.split(","))
        label_set |= SCRAPE_LABELS
        if kind == "histogram":
            metrics[name + "_bucket"] = label_set | {"le"}
            metrics[name + "_sum"] = label_set
            metrics[name + "_count"] = label_set
        else:
            metrics[name] = label_set
    return metrics


METRICS = load_metrics()


def strip_strings(expr):
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)


def metric_names(expr):
    """The metric names a PromQL expression selects (functions, keywords, labels left out)."""
    s = strip_strings(expr)
    s = re.sub(r"\{[^}]*\}", " ", s)
    s = re.sub(r"\[[^\]]*\]", " ", s)
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    names = set()
    for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", s):
        before = s[m.start() - 1] if m.start() else " "
        if before.isdigit() or before in ".$":
            continue  # a duration unit, an exponent or a Grafana variable
        if s[m.end():].lstrip().startswith("("):
            continue  # a function
        if m.group(0) in PROMQL_WORDS:
            continue
        names.add(m.group(0))
    return names


def selectors(expr):
    """(metric, [label names]) of every `metric{matchers}` in the expression."""
    out = []
    for m in re.finditer(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}", expr):
        out.append((m.group(1), re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", m.group(2))))
    return out


def grouping_labels(expr):
    return [l.strip() for g in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", strip_strings(expr))
            for l in g.split(",") if l.strip()]


def check_expr(where, expr, extra_labels=()):
    """Every metric exported; every label matched or grouped by exists on some metric used."""
    names = metric_names(expr)
    for name in sorted(names):
        if name not in METRICS:
            fail(where, f"unknown metric {name!r} in: {expr}")
    for metric, labels in selectors(expr):
        if metric not in METRICS:
            continue
        for label in labels:
            if label not in METRICS[metric]:
                fail(where, f"{metric} has no label {label!r}")
    known = set(extra_labels).union(*(METRICS.get(n, set()) for n in names)) if names else set(extra_labels)
    for label in grouping_labels(expr):
        if names and label not in known:
            fail(where, f"groups by {label!r}, which none of {sorted(names)} has")


def promtool():
    tool = shutil.which("promtool")
    if not tool:
        sys.exit("promtool not found (Debian package prometheus; scripts/setup.sh installs it)")
    return tool


def promtool_check_exprs(exprs):
    """Parses each expression with promtool by wrapping it in a recording rule."""
    lines = ["groups:", "  - name: dashboard", "    rules:"]
    for i, (where, expr) in enumerate(exprs):
        lines.append(f"      - record: dashboard:query_{i}")
        lines.append(f"        expr: {json.dumps(expr)}")
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        f.write("\n".join(lines) + "\n")
        path = f.name
    try:
        r = subprocess.run([promtool(), "check", "rules", path], capture_output=True, text=True)
        if r.returncode != 0:
            fail("dashboard", "promtool check rules rejects a query:\n" + r.stdout + r.stderr)
    finally:
        pathlib.Path(path).unlink()


GRAFANA_VARS = {"$__rate_interval": "1m", "$__range": "1h", "$__interval": "30s",
                "$policy": ".*", "$region": ".*", "$job": ".*"}


def grafana_to_promql(expr):
    for var, value in sorted(GRAFANA_VARS.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace(var, value)
    if "$" in expr:
        fail("dashboard", f"unknown Grafana variable in: {expr}")
    return expr


def check_dashboard():
    r = subprocess.run([sys.executable, str(GENERATOR), "--check"], capture_output=True, text=True)
    if r.returncode != 0:
        fail("dashboard", r.stdout + r.stderr)
    d = json.loads(DASHBOARD.read_text())
    if d.get("schemaVersion", 0) < 38:
        fail("dashboard", f"schemaVersion {d.get('schemaVersion')} is older than Grafana 10 (38)")
    if not d.get("uid") or not d.get("title"):
        fail("dashboard", "no uid or title")
    variables = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
    if len(variables) != len(d["templating"]["list"]):
        fail("dashboard", "duplicate template variable names")
    ds_vars = [n for n, v in variables.items() if v["type"] == "datasource" and v.get("query") == "prometheus"]
    if len(ds_vars) != 1:
        fail("dashboard", "needs exactly one datasource variable of type prometheus")
    ds_ref = {"type": "prometheus", "uid": "${%s}" % ds_vars[0]} if ds_vars else None

    exprs = []
    for name in ("policy", "region"):
        if name not in variables:
            fail("dashboard", f"no {name!r} variable")
    for name, v in variables.items():
        if v["type"] != "query":
            continue
        if v.get("datasource") != ds_ref:
            fail(f"variable {name}", "does not use the datasource variable")
        q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
        m = re.fullmatch(r"label_values\((.*),\s*([a-zA-Z_]+)\)", q)
        if not m:
            fail(f"variable {name}", f"expected label_values(selector, label): {q}")
            continue
        check_expr(f"variable {name}", m.group(1))
        for metric in metric_names(m.group(1)):
            if metric in METRICS and m.group(2) not in METRICS[metric]:
                fail(f"variable {name}", f"{metric} has no label {m.group(2)!r}")
        exprs.append((f"variable {name}", grafana_to_promql(m.group(1))))

    for a in d["annotations"]["list"]:
        if a.get("builtIn"):
            continue
        if a.get("datasource") != ds_ref:
            fail(f"annotation {a['name']}", "does not use the datasource variable")
        check_expr(f"annotation {a['name']}", a["expr"])
        exprs.append((f"annotation {a['name']}", grafana_to_promql(a["expr"])))

    ids = set()
    cells = set()
    kinds = set()
    for p in d["panels"]:
        where = f"panel {p.get('id')} {p.get('title')!r}"
        if p.get("id") in ids:
            fail(where, "duplicate panel id")
        ids.add(p.get("id"))
        g = p["gridPos"]
        if g["x"] + g["w"] > 24:
            fail(where, "wider than the 24-column grid")
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                if (x, y) in cells:
                    fail(where, "overlaps another panel")
                    break
                cells.add((x, y))
        if p["type"] == "row":
            continue
        kinds.add(p["type"])
        if p.get("datasource") != ds_ref:
            fail(where, f"datasource is {p.get('datasource')}, not the datasource variable")
        targets = p.get("targets") or []
        if not targets:
            fail(where, "no targets")
        refs = [t.get("refId") for t in targets]
        if len(set(refs)) != len(refs) or None in refs:
            fail(where, "targets need unique refIds")
        for t in targets:
            if t.get("datasource") != ds_ref:
                fail(where, f"target {t.get('refId')} does not use the datasource variable")
            if not t.get("expr"):
                fail(where, f"target {t.get('refId')} has no expr")
                continue
            check_expr(f"{where} {t['refId']}", t["expr"])
            exprs.append((where, grafana_to_promql(t["expr"])))
    uids = [p["uid"] for p in d["panels"] if "uid" in p] + [d["uid"]]
    if len(uids) != len(set(uids)):
        fail("dashboard", "duplicate uids")
    for needed in ("timeseries", "table", "stat", "geomap"):
        if needed not in kinds:
            fail("dashboard", f"no {needed} panel")
    used = set().union(*(metric_names(e) for _, e in exprs))
    for name in METRICS:
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if name not in used and not any(u.startswith(base) for u in used):
            fail("dashboard", f"exported metric {name} is shown nowhere")
    promtool_check_exprs(exprs)
    return f"{len(ids)} panels, {len(exprs)} queries"


def runbook_sections():
    """Anchor (GitHub style) -> section text, for every '## ' heading of docs/runbook.md."""
    text = RUNBOOK.read_text()
    sections = {}
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    for heading, body in zip(parts[1::2], parts[2::2]):
        anchor = re.sub(r"[^a-z0-9 _-]", "", heading.strip().lower()).replace(" ", "-")
        sections[anchor] = body
    return sections


def check_alerts():
    import yaml  # Debian python3-yaml; scripts/setup.sh installs it

    rules = yaml.safe_load(ALERTS.read_text())
    tests = yaml.safe_load(ALERTS_TEST.read_text())
    sections = runbook_sections()
    fired = set()
    for case in tests["tests"]:
        for s in case.get("input_series", []):
            series = s["series"]
            name = series.split("{")[0]
            if name not in METRICS:
                fail(f"alerts_test {case.get('name')}", f"unknown metric {name}")
            for _, labels in selectors(series):
                for label in labels:
                    if name in METRICS and label not in METRICS[name]:
                        fail(f"alerts_test {case.get('name')}", f"{name} has no label {label!r}")
        for t in case.get("alert_rule_test", []):
            if t.get("exp_alerts"):
                fired.add(t["alertname"])
    names = []
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "alert" not in rule:
                continue
            name = rule["alert"]
            names.append(name)
            where = f"alert {name}"
            check_expr(where, rule["expr"])
            if rule.get("labels", {}).get("severity") not in ("critical", "warning", "info"):
                fail(where, "needs labels.severity critical|warning|info")
            ann = rule.get("annotations", {})
            for key in ("summary", "description", "runbook_url"):
                if not ann.get(key):
                    fail(where, f"no annotations.{key}")
            anchor = name.lower()
            if ann.get("runbook_url") != f"docs/runbook.md#{anchor}":
                fail(where, f"runbook_url should be docs/runbook.md#{anchor}")
            body = sections.get(anchor)
            if body is None:
                fail(where, f"docs/runbook.md has no section '## {name}'")
            else:
                for part in ("Meaning", "Likely causes", "What to check", "What to do"):
                    if f"**{part}" not in body:
                        fail(where, f"runbook section lacks **{part}**")
            if name not in fired:
                fail(where, "no case in alerts_test.yml where it fires")
    if len(names) != len(set(names)):
        fail("alerts", "duplicate alert names")
    for anchor in sections:
        if anchor.startswith("autoplacer") and anchor not in {n.lower() for n in names}:
            fail("runbook", f"section {anchor} matches no alert")
    return f"{len(names)} alerts, all with a runbook section and a firing test"


def check_fly_toml():
    import tomllib

    c = tomllib.loads(FLY_TOML.read_text())
    where = "deploy/fly.toml"
    for key in ("app", "primary_region"):
        if not c.get(key):
            fail(where, f"no {key}")
    svc = c.get("http_service", {})
    if svc.get("internal_port") != 8080:
        fail(where, "http_service.internal_port should be 8080 (the CMD's --listen)")
    if svc.get("auto_stop_machines") not in (False, "off"):
        fail(where, "auto_stop_machines must be off: the controller must keep running")
    if svc.get("auto_start_machines") is not True:
        fail(where, "auto_start_machines should be true")
    if svc.get("min_machines_running", 0) < 1:
        fail(where, "min_machines_running should be at least 1")
    checks = svc.get("checks", [])
    if not any(ch.get("path") == "/healthz" and ch.get("method", "GET").upper() == "GET" for ch in checks):
        fail(where, "needs an [[http_service.checks]] on GET /healthz")
    m = c.get("metrics", {})
    if isinstance(m, list):
        m = m[0] if m else {}
    if m.get("port") != 8080 or m.get("path") != "/metrics":
        fail(where, "[metrics] should be port 8080, path /metrics")
    env = c.get("env", {})
    for key in env:
        if SECRET_RE.search(key):
            fail(where, f"[env] {key} looks like a secret: use fly secrets set")
    if not str(env.get("FLY_API_URL", "")).startswith("http://_api.internal:4280"):
        fail(where, "[env] FLY_API_URL should be http://_api.internal:4280 inside Fly")
    vm = c.get("vm", [])
    if isinstance(vm, dict):
        vm = [vm]
    if not vm:
        fail(where, "no [[vm]] size")
    return "fly.toml ok"


if __name__ == "__main__":
    what = sys.argv[1:] or ["dashboard", "alerts", "fly-toml"]
    checks = {"dashboard": check_dashboard, "alerts": check_alerts, "fly-toml": check_fly_toml}
    for w in what:
        summary = checks[w]()
        print(f"{w}: {summary}")
    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    print(f"check_observability: {len(failures)} problem(s)")
    sys.exit(1 if failures else 0)
