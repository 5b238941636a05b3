#!/usr/bin/env python3
"""Prints the Markdown table of one bench/run.sh run from the JSON files in its results directory."""
import json
import os
import sys

d = sys.argv[1]


def load(name):
    p = os.path.join(d, name)
    if not os.path.exists(p):
        return None
    with open(p) as f:
        return json.load(f)


def fmt(x, unit=""):
    if x is None:
        return "–"
    if isinstance(x, float):
        x = f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"
    else:
        x = f"{x:,}"
    return f"{x}{unit}"


def pct(a, b):
    return f"{100.0 * a / b:.1f} %" if a is not None and b else "–"


def verdict(ok):
    return "met" if ok else "**missed**"


rows = []
hello = {c: load(f"hello-c{c}.json") for c in (1, 64)}
check = {c: load(f"check-c{c}.json") for c in (1, 64)}
for c in (1, 64):
    h, k = hello[c], check[c]
    if not (h and k):
        continue
    ratio_ok = k["requests_per_s"] >= 0.4 * h["requests_per_s"]
    rows.append((f"HTTP access checks/s, {c} conn", fmt(k["requests_per_s"], "/s"),
                 f"hello-world {fmt(h['requests_per_s'], '/s')}", pct(k["requests_per_s"], h["requests_per_s"]),
                 "≥ 40 %", verdict(ratio_ok)))
    rows.append((f"HTTP access check p50 / p99, {c} conn",
                 f"{fmt(k['latency']['p50_ms'])} / {fmt(k['latency']['p99_ms'])} ms",
                 f"hello-world {fmt(h['latency']['p50_ms'])} / {fmt(h['latency']['p99_ms'])} ms",
                 f"{k['latency']['p99_ms'] / max(h['latency']['p99_ms'], 0.001):.1f}× (p99)",
                 "p99 < 2 ms", verdict(k["latency"]["p99_ms"] < 2.0)))
a, f = load("activate.json"), load("sqlite-fsync.json")
if a and f:
    rows.append(("durable selfActivate/s, 64 conn", fmt(a["activations_per_s"], "/s"),
                 f"SQLite commit+fsync loop {fmt(f['commits_per_s'], '/s')}",
                 pct(a["activations_per_s"], f["commits_per_s"]), "≥ 2,000/s",
                 verdict(a["activations_per_s"] >= 2000)))
    rows.append(("selfActivate p50 / p99, 64 conn",
                 f"{fmt(a['latency']['p50_ms'])} / {fmt(a['latency']['p99_ms'])} ms",
                 f"one commit+fsync p50 / p99 {fmt(f['latency']['p50_ms'])} / {fmt(f['latency']['p99_ms'])} ms",
                 f"{a['latency']['p99_ms'] / max(f['latency']['p99_ms'], 0.001):.1f}× (p99)", "p99 < 25 ms",
                 verdict(a["latency"]["p99_ms"] < 25.0)))
s, seed = load("scale.json"), load("seed-scale.json") or load("seed-small.json")
if s:
    size = f"{seed['users']:,} users, {seed['eligibilities'] + seed['assignments']:,} instances" if seed else "?"
    db = f"{s['database_bytes'] / 2**20:,.0f} MiB database, {s['active_assignments']:,} live assignments"
    rows.append((f"cold start ({size})", fmt(s["cold_start_s"], " s"), db, "–", "< 5 s",
                 verdict(s["cold_start_s"] < 5)))
    peak = max(s["memory_after_start"]["hwm_mib"], s["memory_after_lists"]["hwm_mib"])
    rows.append(("RSS after start / after lists (peak)",
                 f"{fmt(s['memory_after_start']['rss_mib'])} / {fmt(s['memory_after_lists']['rss_mib'])} MiB "
                 f"({fmt(peak)} MiB)", db, "–", "< 2 GB", verdict(peak < 2000)))
    rows.append(("filtered list page p50 / p99 (`principalId eq`, `$top=100`)",
                 f"{fmt(s['list_latency']['p50_ms'])} / {fmt(s['list_latency']['p99_ms'])} ms",
                 f"{s['list_requests']} requests, 1 conn", "–", "p99 < 5 ms",
                 verdict(s["list_latency"]["p99_ms"] < 5)))
    if "check_latency" in s:
        rows.append(("HTTP access check p50 / p99 on this store, 1 conn",
                     f"{fmt(s['check_latency']['p50_ms'])} / {fmt(s['check_latency']['p99_ms'])} ms",
                     f"{s['check_requests']} requests, the same principals", "–", "–", ""))
for kind, what in (("history", "accessHistory, 30-day window"), ("check-at", "accessCheck?at= (past instant)")):
    for c in (1, 64):
        h, k = hello[c], load(f"{kind}-c{c}.json")
        if not (h and k):
            continue
        rows.append((f"HTTP {what}/s, {c} conn", fmt(k["requests_per_s"], "/s"),
                     f"hello-world {fmt(h['requests_per_s'], '/s')}", pct(k["requests_per_s"], h["requests_per_s"]),
                     "–", ""))
        rows.append((f"HTTP {what} p50 / p99, {c} conn",
                     f"{fmt(k['latency']['p50_ms'])} / {fmt(k['latency']['p99_ms'])} ms",
                     f"hello-world {fmt(h['latency']['p50_ms'])} / {fmt(h['latency']['p99_ms'])} ms",
                     f"{k['latency']['p99_ms'] / max(h['latency']['p99_ms'], 0.001):.1f}× (p99)", "–", ""))

if rows:
    print("| figure | measured | anchor / ceiling (same run) | ratio | target | |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")

# --growth: one scale step per size (growth-N.json beside seed-growth-N.json).
growth = sorted((dict(load(f), users=int(f[len("growth-"):-len(".json")]))
                 for f in os.listdir(d) if f.startswith("growth-") and f.endswith(".json")),
                key=lambda g: g["active_assignments"])
if growth:
    print("\n| users | live assignments | cold start | RSS after start (peak) | list p50 / p99 | check p50 / p99 |")
    print("|---|---|---|---|---|---|")
    for g in growth:
        print(f"| {g['users']:,} | {g['active_assignments']:,} | {fmt(g['cold_start_s'], ' s')} | "
              f"{fmt(g['memory_after_start']['rss_mib'])} MiB ({fmt(g['memory_after_start']['hwm_mib'])} MiB) | "
              f"{fmt(g['list_latency']['p50_ms'])} / {fmt(g['list_latency']['p99_ms'])} ms | "
              f"{fmt(g['check_latency']['p50_ms'])} / {fmt(g['check_latency']['p99_ms'])} ms |")
    lo, hi = growth[0], growth[-1]
    grants = hi["active_assignments"] - lo["active_assignments"]
    if len(growth) > 1 and grants > 0:
        # The marginal memory per live assignment between the smallest and the largest store: the
        # process's fixed part (catalogs, runtime, SQLite's cache) cancels out. It still includes the
        # memberships that grow with the store, so it is an upper bound on the index alone.
        per_m = (hi["memory_after_start"]["rss_mib"] - lo["memory_after_start"]["rss_mib"]) / grants * 1e6
        print(f"\nmarginal RSS per million live assignments (index, memberships and caches that grow with the "
              f"store; {lo['active_assignments']:,} → {hi['active_assignments']:,}): {per_m:,.0f} MiB")
        for g in growth[1:]:
            k = g["active_assignments"] / lo["active_assignments"]
            print(f"{g['active_assignments']:,} vs {lo['active_assignments']:,} live assignments ({k:.2f}×): "
                  f"cold start {g['cold_start_s'] / max(lo['cold_start_s'], 1e-3):.2f}×, "
                  f"RSS {g['memory_after_start']['rss_mib'] / max(lo['memory_after_start']['rss_mib'], 1e-3):.2f}×, "
                  f"check p99 {g['check_latency']['p99_ms'] / max(lo['check_latency']['p99_ms'], 1e-3):.2f}×")

seeds = [x for x in (load("seed-small.json"), load("seed-scale.json")) if x]
for x in seeds:
    print(f"\nseed of {x['users']:,} users / {x['eligibilities']:,} eligibilities / {x['assignments']:,} assignments: "
          f"{x['total_s']:.1f} s ({x['database_bytes'] / 2**20:,.0f} MiB)")
inproc = load("inprocess.json")
if inproc is not None:
    print(f"\nin-process access checks (part A, `access-check`, size {inproc.get('size')}): "
          f"OpenPIM {fmt(inproc.get('openpim_checks_per_s'), '/s')}, casbin-rs {fmt(inproc.get('casbin_checks_per_s'), '/s')}, "
          f"cedar-policy {fmt(inproc.get('cedar_checks_per_s'), '/s')} (one thread)")
    k = check[1]
    if k and inproc.get("openpim_checks_per_s"):
        print(f"HTTP at 1 connection does {pct(k['requests_per_s'], inproc['openpim_checks_per_s'])} "
              "of the in-process check rate: the rest is HTTP, token verification and the caller lookup")

az = load("azure-inprocess.json")
if az is not None:
    print(f"\nin-process Azure RBAC checks (`azure-check`, size {az['size']}: {az['assignments']:,} assignments, "
          f"{az['scopes']:,} scopes, {az['users']:,} users, {az['groups']:,} groups; one thread): "
          f"OpenPIM {fmt(az['openpim_checks_per_s'], '/s')}, casbin-rs {fmt(az['casbin_checks_per_s'], '/s')} "
          f"({az['ratio_casbin']:,.0f}× slower, {az['casbin_checks_timed']} checks timed), "
          f"cedar-policy {fmt(az['cedar_checks_per_s'], '/s')} ({az['ratio_cedar']:,.0f}× slower, "
          f"{az['cedar_checks_timed']} checks timed); the engines agreed on {az['agreement_sample']:,} sample and "
          f"{az['agreement_timed']:,} timed queries first")
