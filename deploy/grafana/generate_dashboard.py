#!/usr/bin/env python3
"""Writes deploy/grafana/autoplacer.json, the fly-autoplacer Grafana dashboard (Grafana 10+).

The dashboard is generated rather than edited by hand so that its 30-odd panels stay consistent
(one datasource variable, the same filters everywhere) and the region map takes its coordinates
from the controller's own region catalog (src/policy/regions.cpp), never a second copy.

Usage: generate_dashboard.py            rewrite autoplacer.json
       generate_dashboard.py --check    exit 1 if autoplacer.json differs from what it would write
"""
import json
import pathlib
import re
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OUT = HERE / "autoplacer.json"

DS = {"type": "prometheus", "uid": "${datasource}"}
POLICY = 'policy=~"$policy"'
REGION = 'region=~"$region"'
PR = POLICY + "," + REGION
RI = "$__rate_interval"


def regions():
    """(code, lat, lon) of every region in the controller's catalog, hostable or edge-only."""
    text = (ROOT / "src/policy/regions.cpp").read_text()
    found = re.findall(r'\{"([a-z]{3})",\s*"[^"]*",\s*(-?[0-9.]+),\s*(-?[0-9.]+),', text)
    if len(found) < 18:
        sys.exit("generate_dashboard.py: could not read the region catalog from regions.cpp")
    return [(code, float(lat), float(lon)) for code, lat, lon in found]


def coordinate_query(index):
    """A constant vector: one series per region with the latitude (index 1) or longitude (2)."""
    return " or ".join(
        f'label_replace(vector({r[index]}), "region", "{r[0]}", "", "")' for r in regions())


class Layout:
    """Hands out panel ids and grid positions, row by row, 24 units wide."""

    def __init__(self):
        self.next_id = 1
        self.x = 0
        self.y = 0
        self.row_height = 0

    def id(self):
        self.next_id += 1
        return self.next_id - 1

    def place(self, w, h):
        if self.x + w > 24:
            self.x, self.y, self.row_height = 0, self.y + self.row_height, 0
        pos = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.x += w
        self.row_height = max(self.row_height, h)
        return pos

    def new_row(self):
        if self.x:
            self.x, self.y, self.row_height = 0, self.y + self.row_height, 0


L = Layout()


def target(expr, legend="", ref="A", instant=False, fmt="time_series"):
    t = {"datasource": DS, "expr": expr, "refId": ref, "legendFormat": legend or "__auto",
         "range": not instant, "instant": instant, "format": fmt, "editorMode": "code"}
    return t


def row(title):
    L.new_row()
    return {"type": "row", "id": L.id(), "title": title, "collapsed": False, "panels": [],
            "gridPos": L.place(24, 1)}


def panel(kind, title, description, targets, w, h, unit="short", **extra):
    p = {"type": kind, "id": L.id(), "title": title, "description": description,
         "datasource": DS, "targets": targets, "gridPos": L.place(w, h),
         "fieldConfig": {"defaults": {"unit": unit}, "overrides": []}, "options": {}}
    p.update(extra)
    return p


def timeseries(title, description, targets, w=12, h=8, unit="short", stack=False, bars=False,
               overrides=None):
    p = panel("timeseries", title, description, targets, w, h, unit)
    custom = {"drawStyle": "bars" if bars else "line", "lineWidth": 1,
              "fillOpacity": 60 if bars else 10, "showPoints": "never", "spanNulls": False}
    if stack:
        custom["stacking"] = {"mode": "normal", "group": "A"}
    p["fieldConfig"]["defaults"]["custom"] = custom
    p["fieldConfig"]["overrides"] = overrides or []
    p["options"] = {"legend": {"displayMode": "table", "placement": "right", "calcs": ["lastNotNull", "max"],
                               "showLegend": True},
                    "tooltip": {"mode": "multi", "sort": "desc"}}
    return p


def dashed(regex):
    return {"matcher": {"id": "byRegexp", "options": regex},
            "properties": [{"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}}]}


def stat(title, description, expr, legend="", unit="short", steps=None, mappings=None, w=4,
         text_mode="auto"):
    p = panel("stat", title, description, [target(expr, legend, instant=True)], w, 4, unit)
    p["fieldConfig"]["defaults"]["thresholds"] = {
        "mode": "absolute", "steps": steps or [{"color": "green", "value": None}]}
    p["fieldConfig"]["defaults"]["mappings"] = mappings or []
    p["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                    "colorMode": "background", "graphMode": "none", "textMode": text_mode,
                    "justifyMode": "auto", "orientation": "auto"}
    return p


def bool_mapping(zero, one):
    return [{"type": "value", "options": {"0": {"text": zero, "color": "red", "index": 0},
                                          "1": {"text": one, "color": "green", "index": 1}}}]


RED_GREEN = [{"color": "red", "value": None}, {"color": "green", "value": 1}]


def quantiles(metric, by, selector, what):
    return [target(f"histogram_quantile({q}, sum by (le, {by}) (rate({metric}_bucket{{{selector}}}[{RI}])))",
                   f"p{int(q * 100)} {{{{{by}}}}}{what}", ref)
            for q, ref in ((0.5, "A"), (0.95, "B"), (0.99, "C"))]


def panels():
    ps = []
    ps.append(row("Overview"))
    ps.append(stat("Leader replicas", "Replicas that hold leadership now (sum of autoplacer_leader). "
                   "1 is right; 0 means nobody acts; more than 1 means two leaders (alert).",
                   "sum(autoplacer_leader)", "leaders",
                   steps=[{"color": "red", "value": None}, {"color": "green", "value": 1},
                          {"color": "red", "value": 2}]))
    ps.append(stat("Version", "Versions running (autoplacer_build_info), with their replica count.",
                   "count by (version) (autoplacer_build_info)", "{{version}}", text_mode="name"))
    ps.append(stat("Reconcile success", "Share of reconcile passes that succeeded over the range shown.",
                   f'sum(increase(autoplacer_reconcile_total{{{POLICY},result="success"}}[$__range]))'
                   f' / sum(increase(autoplacer_reconcile_total{{{POLICY},result!="skipped"}}[$__range]))',
                   "success", unit="percentunit",
                   steps=[{"color": "red", "value": None}, {"color": "orange", "value": 0.9},
                          {"color": "green", "value": 0.99}]))
    ps.append(stat("Since last success", "Seconds since each policy's last successful reconcile. "
                   "The default interval is 30 s; several intervals means it is stuck.",
                   f"time() - max by (policy) (autoplacer_last_successful_reconcile_timestamp_seconds{{{POLICY}}})",
                   "{{policy}}", unit="s",
                   steps=[{"color": "green", "value": None}, {"color": "orange", "value": 90},
                          {"color": "red", "value": 300}]))
    ps.append(stat("Policy valid", "0 when the policy file on disk fails validation (the controller "
                   "keeps the last valid one).",
                   f"min by (policy) (autoplacer_policy_valid{{{POLICY}}})", "{{policy}}",
                   steps=RED_GREEN, mappings=bool_mapping("invalid", "valid")))
    ps.append(stat("Metrics available", "0 when demand could not be read: placement is held, never "
                   "scaled down on missing data.",
                   f"min by (policy) (autoplacer_metrics_available{{{POLICY}}})", "{{policy}}",
                   steps=RED_GREEN, mappings=bool_mapping("unknown", "ok")))

    ps.append(row("Demand and placement"))
    geo = panel("geomap", "Demand by origin region", "Requests per second by the region where users "
                "enter Fly (fly_edge_* origin), now. Coordinates come from the controller's region catalog.",
                [target(f"sum by (region) (autoplacer_demand_rps{{{PR}}})", ref="A", instant=True, fmt="table"),
                 target(coordinate_query(1), ref="B", instant=True, fmt="table"),
                 target(coordinate_query(2), ref="C", instant=True, fmt="table")],
                12, 11, unit="reqps")
    geo["transformations"] = [
        {"id": "joinByField", "options": {"byField": "region", "mode": "inner"}},
        {"id": "organize", "options": {
            "excludeByName": {"Time": True, "Time 1": True, "Time 2": True, "Time 3": True},
            "renameByName": {"Value #A": "demand", "Value #B": "lat", "Value #C": "lon"}}}]
    geo["fieldConfig"]["defaults"]["color"] = {"mode": "continuous-GrYlRd"}
    geo["options"] = {
        "view": {"id": "zero", "lat": 20, "lon": 0, "zoom": 1.2, "allLayers": True},
        "controls": {"showZoom": True, "mouseWheelZoom": False, "showAttribution": True},
        "basemap": {"type": "default", "name": "Basemap", "config": {}},
        "layers": [{"type": "markers", "name": "Demand", "tooltip": True,
                    "location": {"mode": "coords", "latitude": "lat", "longitude": "lon"},
                    "config": {"showLegend": True, "style": {
                        "size": {"field": "demand", "min": 4, "max": 30, "fixed": 5},
                        "color": {"field": "demand"}, "opacity": 0.6,
                        "symbol": {"mode": "fixed", "fixed": "img/icons/marker/circle.svg"},
                        "text": {"mode": "field", "field": "region", "fixed": ""},
                        "textConfig": {"fontSize": 11, "offsetX": 0, "offsetY": -14,
                                       "textAlign": "center", "textBaseline": "middle"}}}}],
        "tooltip": {"mode": "details"}}
    ps.append(geo)

    table = panel("table", "Per region now", "Demand, forecast, desired and running machines per region.",
                  [target(f"sum by (region) (autoplacer_demand_rps{{{PR}}})", ref="A", instant=True, fmt="table"),
                   target(f"sum by (region) (autoplacer_forecast_rps{{{PR}}})", ref="B", instant=True, fmt="table"),
                   target(f"sum by (region) (autoplacer_desired_machines{{{PR}}})", ref="C", instant=True, fmt="table"),
                   target(f"sum by (region) (autoplacer_running_machines{{{PR}}})", ref="D", instant=True, fmt="table")],
                  12, 11)
    table["transformations"] = [
        {"id": "merge", "options": {}},
        {"id": "organize", "options": {
            "excludeByName": {"Time": True},
            "renameByName": {"Value #A": "demand (req/s)", "Value #B": "forecast (req/s)",
                             "Value #C": "desired", "Value #D": "running"}}}]
    table["options"] = {"showHeader": True, "sortBy": [{"displayName": "demand (req/s)", "desc": True}]}
    ps.append(table)

    ps.append(timeseries("Demand by origin region", "Observed req/s per origin region.",
                         [target(f"sum by (region) (autoplacer_demand_rps{{{PR}}})", "{{region}}")],
                         unit="reqps", stack=True))
    ps.append(timeseries("Forecast vs actual demand", "Solid: observed; dashed: the forecast the "
                         "decision uses (a boot time ahead).",
                         [target(f"sum by (region) (autoplacer_demand_rps{{{PR}}})", "{{region}} actual"),
                          target(f"sum by (region) (autoplacer_forecast_rps{{{PR}}})", "{{region}} forecast", "B")],
                         unit="reqps", overrides=[dashed(".* forecast$")]))
    ps.append(timeseries("Desired vs running machines", "Solid: running; dashed: desired. A gap that "
                         "lasts is the 'not converging' alert.",
                         [target(f"sum by (region) (autoplacer_running_machines{{{PR}}})", "{{region}} running"),
                          target(f"sum by (region) (autoplacer_desired_machines{{{PR}}})", "{{region}} desired", "B")],
                         overrides=[dashed(".* desired$")]))
    ps.append(timeseries("Scaling decisions", "Up and down decisions per region and reason "
                         "(holds left out).",
                         [target(f'sum by (region, direction, reason) (increase(autoplacer_decisions_total{{{PR},direction!="hold"}}[{RI}]))',
                                 "{{direction}} {{region}}: {{reason}}")],
                         bars=True, stack=True))
    reasons = panel("table", "Decision reasons over the range", "Every up/down decision in the range "
                    "shown, by region, direction and reason.",
                    [target(f'sum by (region, direction, reason) (increase(autoplacer_decisions_total{{{PR},direction!="hold"}}[$__range])) > 0',
                            ref="A", instant=True, fmt="table")], 12, 8)
    reasons["transformations"] = [{"id": "organize", "options": {
        "excludeByName": {"Time": True}, "renameByName": {"Value": "decisions"}}}]
    reasons["options"] = {"showHeader": True, "sortBy": [{"displayName": "decisions", "desc": True}]}
    ps.append(reasons)
    ps.append(timeseries("Actions by kind and result", "Machines API actions the executor applied.",
                         [target(f"sum by (action, result) (increase(autoplacer_actions_total{{{PR}}}[{RI}]))",
                                 "{{action}} {{result}}")], bars=True, stack=True))
    ps.append(timeseries("Time to serve", "Measured time from a create or start request to the "
                         "machine serving (median of the last samples per region); the forecast "
                         "horizon when forecast.horizon is auto.",
                         [target(f"max by (region) (autoplacer_time_to_serve_seconds{{{PR}}})", "{{region}}")],
                         unit="s"))

    ps.append(row("Reconcile"))
    ps.append(timeseries("Reconcile passes by result", "Passes per second per policy and result.",
                         [target(f"sum by (policy, result) (rate(autoplacer_reconcile_total{{{POLICY}}}[{RI}]))",
                                 "{{policy}} {{result}}")], w=8, unit="ops"))
    ps.append(timeseries("Reconcile errors by reason", "Failed passes per second by reason.",
                         [target(f"sum by (policy, reason) (rate(autoplacer_reconcile_errors_total{{{POLICY}}}[{RI}]))",
                                 "{{policy}} {{reason}}"),
                          target(f"sum(increase(autoplacer_policy_load_errors_total[{RI}]))",
                                 "policy load errors", "B")], w=8, unit="ops"))
    ps.append(timeseries("Reconcile duration", "Quantiles of one pass's duration.",
                         quantiles("autoplacer_reconcile_duration_seconds", "policy", POLICY, ""),
                         w=8, unit="s"))

    ps.append(row("Work queue"))
    ps.append(timeseries("Queue depth", "Items waiting (client-go workqueue_depth).",
                         [target("sum by (name) (workqueue_depth)", "{{name}}")], w=6))
    ps.append(timeseries("Adds and retries", "Items added and re-queued with backoff, per second.",
                         [target(f"sum by (name) (rate(workqueue_adds_total[{RI}]))", "{{name}} adds"),
                          target(f"sum by (name) (rate(workqueue_retries_total[{RI}]))", "{{name}} retries", "B")],
                         w=6, unit="ops"))
    ps.append(timeseries("Wait and work time (p95)", "How long items wait in the queue and how long "
                         "their processing takes.",
                         [target(f"histogram_quantile(0.95, sum by (le, name) (rate(workqueue_queue_duration_seconds_bucket[{RI}])))",
                                 "{{name}} waiting"),
                          target(f"histogram_quantile(0.95, sum by (le, name) (rate(workqueue_work_duration_seconds_bucket[{RI}])))",
                                 "{{name}} working", "B")], w=6, unit="s"))
    ps.append(timeseries("Stuck work", "Work in progress not yet done: total seconds and the longest "
                         "running item. Growing without bound means a stuck worker.",
                         [target("max by (name) (workqueue_unfinished_work_seconds)", "{{name}} unfinished"),
                          target("max by (name) (workqueue_longest_running_processor_seconds)",
                                 "{{name}} longest", "B")], w=6, unit="s"))

    ps.append(row("Machines API"))
    ps.append(timeseries("Requests by operation and status", "Machines API calls per second.",
                         [target(f"sum by (operation, status) (rate(autoplacer_machines_api_requests_total[{RI}]))",
                                 "{{operation}} {{status}}")], w=6, unit="reqps"))
    ps.append(timeseries("Rate limited (429)", "Calls Fly answered with 429, per second.",
                         [target(f'sum by (operation) (rate(autoplacer_machines_api_requests_total{{status="429"}}[{RI}]))',
                                 "{{operation}}")], w=6, unit="reqps"))
    ps.append(timeseries("Request latency (p95)", "95th percentile of Machines API call duration.",
                         [target(f"histogram_quantile(0.95, sum by (le, operation) (rate(autoplacer_machines_api_request_duration_seconds_bucket[{RI}])))",
                                 "{{operation}}")], w=6, unit="s"))
    ps.append(timeseries("Client-side rate limiter", "Waits imposed by the controller's own rate "
                         "limiter (Fly's documented limits): waits per second and seconds waited per second.",
                         [target(f"sum by (operation) (rate(autoplacer_rate_limiter_waits_total[{RI}]))",
                                 "{{operation}} waits/s"),
                          target(f"sum by (operation) (rate(autoplacer_rate_limiter_wait_seconds_total[{RI}]))",
                                 "{{operation}} s/s", "B")], w=6))

    ps.append(row("Replicas and leadership"))
    ps.append(timeseries("Leader by replica", "1 on the replica that leads.",
                         [target("max by (instance) (autoplacer_leader)", "{{instance}}")], w=8))
    ps.append(timeseries("Leader transitions", "Times a replica gained or lost leadership.",
                         [target(f"sum by (instance) (increase(autoplacer_leader_transitions_total[{RI}]))",
                                 "{{instance}}")], w=8, bars=True))
    ps.append(timeseries("Scrape up", "Whether Prometheus can scrape each controller replica.",
                         [target('up{job=~"$job"}', "{{instance}}")], w=8))
    return ps


def variable(name, label, query, multi=True):
    return {"name": name, "label": label, "type": "query", "datasource": DS,
            "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
            "definition": query, "refresh": 2, "includeAll": multi, "multi": multi,
            "allValue": ".*" if multi else None, "current": {}, "options": [], "sort": 1,
            "hide": 0, "regex": ""}


def annotation(name, expr, title, text, tags, color):
    return {"name": name, "datasource": DS, "enable": True, "iconColor": color, "expr": expr,
            "step": "60s", "titleFormat": title, "textFormat": text, "tagKeys": tags,
            "useValueForTime": False}


def dashboard():
    return {
        "__inputs": [],
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.0.0"},
            {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
            {"type": "panel", "id": "geomap", "name": "Geomap", "version": ""},
            {"type": "panel", "id": "stat", "name": "Stat", "version": ""},
            {"type": "panel", "id": "table", "name": "Table", "version": ""},
            {"type": "panel", "id": "timeseries", "name": "Time series", "version": ""}],
        "annotations": {"list": [
            {"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True,
             "hide": True, "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts",
             "type": "dashboard"},
            annotation("Scaling decisions",
                       f'sum by (policy, region, direction, reason) (increase(autoplacer_decisions_total{{{PR},direction!="hold"}}[1m])) > 0',
                       "{{direction}} {{region}}", "{{policy}}: {{reason}}", "policy,region,direction", "blue"),
            annotation("Failed actions",
                       f'sum by (policy, region, action) (increase(autoplacer_actions_total{{{PR},result!="success"}}[1m])) > 0',
                       "{{action}} {{region}} failed", "{{policy}}", "policy,region,action", "red"),
            annotation("Leader changes", "sum by (instance) (increase(autoplacer_leader_transitions_total[1m])) > 0",
                       "leadership changed", "{{instance}}", "instance", "orange")]},
        "description": "fly-autoplacer: demand by origin, placement, reconcile health, work queue, "
                       "Machines API and leadership. Generated by deploy/grafana/generate_dashboard.py.",
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [],
        "liveNow": False,
        "panels": panels(),
        "refresh": "30s",
        "schemaVersion": 38,
        "style": "dark",
        "tags": ["fly", "autoplacer"],
        "templating": {"list": [
            {"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
             "current": {}, "hide": 0, "includeAll": False, "multi": False, "options": [],
             "refresh": 1, "regex": ""},
            variable("policy", "Policy", "label_values(autoplacer_reconcile_total, policy)"),
            variable("region", "Region", 'label_values(autoplacer_desired_machines{policy=~"$policy"}, region)'),
            variable("job", "Scrape job", "label_values(autoplacer_build_info, job)")]},
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "title": "fly-autoplacer",
        "uid": "fly-autoplacer",
        "version": 1,
        "weekStart": ""}


def render():
    return json.dumps(dashboard(), indent=2) + "\n"


if __name__ == "__main__":
    text = render()
    if sys.argv[1:] == ["--check"]:
        if OUT.read_text() != text:
            sys.exit(f"{OUT.relative_to(ROOT)} is stale: run deploy/grafana/generate_dashboard.py")
        print(f"{OUT.relative_to(ROOT)} is up to date")
    else:
        OUT.write_text(text)
        print(f"wrote {OUT.relative_to(ROOT)}")
