"""Turns the benchmark's measurements into the http section of docs/benchmarks.md.

    report.py RESULTS_JSONL BENCHMARKS_MD CONTEXT_JSON

RESULTS_JSONL holds one object per cell and round ({"round", "server", "body", "rows", "requests",
"duration_us", "p50_us", "p99_us", "non2xx", "socket_errors"}), one per server ({"server",
"rss_kb"}), one per start-up ({"accept_ms", "ready_ms"}) and one per round ({"round",
"steal_pct"}). Only quiet rounds count (steal at most MAX_STEAL %) when there are enough of them
(WANTED); otherwise every round counts, and the report says so. A cell's figures are its medians
over the counted rounds; a ratio is the median of the per-round ratios, each taken between cells
measured a minute apart at most. Only the text between <!-- http:begin --> and <!-- http:end -->
is replaced.
"""
import json
import re
import statistics
import sys

results_path, doc_path, context_path = sys.argv[1:4]
runs, rss, starts, steal = [], {}, [], {}
for line in open(results_path):
    entry = json.loads(line)
    if "steal_pct" in entry:
        steal[entry["round"]] = entry["steal_pct"]
    elif "rss_kb" in entry:
        rss[entry["server"]] = entry["rss_kb"]
    elif "accept_ms" in entry:
        starts.append(entry)
    else:
        runs.append(entry)
context = json.load(open(context_path))

quiet = sorted(r for r, pct in steal.items() if pct <= context["max_steal"])
counted = quiet if len(quiet) >= context["wanted"] else sorted(steal)
runs = [c for c in runs if c["round"] in counted]

OURS = "isoserve"
# The same server with the AVX2 walk forced (FOREST_KERNEL=avx2), when the CPU has AVX2.
OURS_AVX2 = "isoserve avx2"
PYTHON = ["gunicorn 1 worker", "gunicorn 2 workers"]


def rate(cell):
    return cell["requests"] / (cell["duration_us"] / 1e6)


def rounds_of(server, body, rows):
    return [c for c in runs if (c["server"], c["body"], c["rows"]) == (server, body, rows)]


def find(server, body, rows):
    """The cell's medians over its rounds, in the shape of one run."""
    rs = rounds_of(server, body, rows)
    if not rs:
        return None
    rate_med = statistics.median(rate(c) for c in rs)
    return {
        "requests": rate_med,
        "duration_us": 1e6,
        "p50_us": statistics.median(c["p50_us"] for c in rs),
        "p99_us": statistics.median(c["p99_us"] for c in rs),
        "non2xx": sum(c["non2xx"] for c in rs),
        "socket_errors": sum(c["socket_errors"] for c in rs),
    }


def round_ratios(body, python, rows, ours=OURS):
    """Ours ÷ theirs in each round where both were measured."""
    theirs = {c["round"]: rate(c) for c in rounds_of(python, "json", rows)}
    return [rate(c) / theirs[c["round"]] for c in rounds_of(ours, body, rows)
            if theirs.get(c["round"], 0) > 0]


def ms(us):
    return f"{us / 1000:.2f}" if us < 10_000 else f"{us / 1000:.0f}"


sizes = sorted({c["rows"] for c in runs})
out = []
out.append("## HTTP: isoserve vs the Flask + gunicorn + scikit-learn container\n")
rounds_text = ", ".join(f"round {r}: {pct:.1f} %" for r, pct in sorted(steal.items()))
if counted == quiet:
    rounds_note = (f"The figures are from the {len(counted)} rounds during which the hypervisor took at "
                   f"most {context['max_steal']} % of the CPU time (steal per round: {rounds_text}).")
else:
    rounds_note = (f"The machine never had {context['wanted']} quiet rounds (steal at most "
                   f"{context['max_steal']} %), so every round counts (steal per round: {rounds_text}).")
out.append(f"Command: `scripts/bench-http.sh` (run {context['date']}). {context['setup']} {rounds_note}\n")
out.append("| server | body | rows/request | req/s | rows/s | p50 ms | p99 ms | errors |")
out.append("|---|---|---:|---:|---:|---:|---:|---:|")
for rows in sizes:
    for server, body in [(OURS, "csv"), (OURS, "json"), (OURS_AVX2, "csv"), (OURS_AVX2, "json")] + [(p, "json") for p in PYTHON]:
        cell = find(server, body, rows)
        if cell is None:
            continue
        errors = cell["non2xx"] + cell["socket_errors"]
        out.append(
            f"| {server} | {body.upper()} | {rows} | {rate(cell):,.0f} | {rate(cell) * rows:,.0f} "
            f"| {ms(cell['p50_us'])} | {ms(cell['p99_us'])} | {errors} |"
        )

out.append("\nThroughput ratios (isoserve ÷ Python container, the median of the per-round ratios; rows/s "
           "and req/s ratios are equal):\n")
out.append("| rows/request | JSON ÷ 1 worker | JSON ÷ 2 workers | CSV ÷ 1 worker | CSV ÷ 2 workers |")
out.append("|---:|---:|---:|---:|---:|")
ratios = {}
for rows in sizes:
    row = [str(rows)]
    for body in ["json", "csv"]:
        for python in PYTHON:
            per_round = round_ratios(body, python, rows)
            if per_round:
                ratio = statistics.median(per_round)
                ratios[(body, python, rows)] = ratio
                row.append(f"{ratio:,.0f}×")
            else:
                row.append("–")
    out.append("| " + " | ".join(row) + " |")

avx2_ratios = []
for rows in sizes:
    for body in ["json", "csv"]:
        # Against the Python container's best, as for the main server: the smaller median ratio.
        medians = [statistics.median(rs) for p in PYTHON if (rs := round_ratios(body, p, rows, OURS_AVX2))]
        if medians:
            ratios[(body, "avx2", rows)] = min(medians)
            avx2_ratios.append(f"{rows} row{'s' if rows != 1 else ''} {body.upper()} {min(medians):,.0f}×")
if avx2_ratios:
    out.append("\nWith the AVX2 walk forced (`FOREST_KERNEL=avx2`, what an AVX2-only CPU runs; no such CPU "
               "was reachable), against the Python container's best: " + ", ".join(avx2_ratios) + ".")

out.append("\nPeak resident memory (VmHWM, after every cell; gunicorn: master + workers):\n")
out.append("| server | peak RSS MB |")
out.append("|---|---:|")
for server in [OURS] + PYTHON:
    if server in rss:
        out.append(f"| {server} | {rss[server] / 1024:.1f} |")

per_round_1000 = []
for body in ["json", "csv"]:
    for python in PYTHON:
        rs = round_ratios(body, python, 1000)
        if rs:
            per_round_1000.append(f"{body.upper()} ÷ {python}: " + ", ".join(f"{r:.1f}×" for r in rs))
if per_round_1000:
    out.append("\nPer-round ratios at 1000 rows: " + "; ".join(per_round_1000) + ".")
p99_rounds = []
for body in ["json", "csv"]:
    rs = sorted(rounds_of(OURS, body, 1), key=lambda c: c["round"])
    if rs:
        p99_rounds.append(f"{body.upper()}: " + ", ".join(
            f"{c['p99_us'] / 1000:.2f} ms (round {c['round']}, steal {steal.get(c['round'], 0):.1f} %)" for c in rs))
if p99_rounds:
    out.append("\nPer-round p99 at 1 row, with the CPU time the hypervisor took in that round: "
               + "; ".join(p99_rounds) + ".")

startup = None
if starts:
    accept = sorted(s["accept_ms"] for s in starts)
    ready = sorted(s["ready_ms"] for s in starts)
    startup = {"accept_ms": statistics.median(accept), "ready_ms": statistics.median(ready)}
    out.append(
        f"\nStart-up, {len(starts)} fresh starts: isoserve accepted its first connection after "
        f"{startup['accept_ms']:.0f} ms (median; {accept[0]}–{accept[-1]} ms) and answered `/ping` 200 "
        f"after {startup['ready_ms']:.0f} ms (median; {ready[0]}–{ready[-1]} ms). Wall clock from the "
        "script, which polls; the model loads in the background."
    )

checks = []
for body in ["json", "csv"]:
    r = min(ratios.get((body, p, 1000), 0) for p in PYTHON)
    checks.append((f"≥ 30× the Python container's rows/s at 1000 rows ({body.upper()}, vs its best)", r >= 30, f"{r:,.0f}×"))
for body in ["json", "csv"]:
    if (body, "avx2", 1000) in ratios:
        r = ratios[(body, "avx2", 1000)]
        checks.append((f"≥ 30× the Python container's rows/s at 1000 rows ({body.upper()}, vs its best; AVX2 walk forced)", r >= 30, f"{r:,.0f}×"))
for body in ["json", "csv"]:
    r = min(ratios.get((body, p, 1), 0) for p in PYTHON)
    checks.append((f"≥ 100× its req/s at 1 row ({body.upper()}, vs its best)", r >= 100, f"{r:,.0f}×"))
for body in ["json", "csv"]:
    cell = find(OURS, body, 1)
    p99 = cell["p99_us"] if cell else float("inf")
    checks.append((f"p99 < 1 ms at 1 row, {context['connections']} connections ({body.upper()}, median round)", p99 < 1000, f"{p99 / 1000:.3f} ms"))
    cell = find(OURS_AVX2, body, 1)
    if cell:
        checks.append((f"p99 < 1 ms at 1 row, {context['connections']} connections ({body.upper()}, median round; AVX2 walk forced)", cell["p99_us"] < 1000, f"{cell['p99_us'] / 1000:.3f} ms"))
for body in ["json", "csv"]:
    quiet_p99 = [c["p99_us"] for c in rounds_of(OURS, body, 1) if c["round"] in quiet]
    if quiet_p99 and counted != quiet:
        worst = max(quiet_p99)
        checks.append((f"p99 < 1 ms at 1 row, {context['connections']} connections ({body.upper()}, worst of the "
                       f"{len(quiet_p99)} round{'s' if len(quiet_p99) != 1 else ''} with steal ≤ {context['max_steal']:g} %)", worst < 1000,
                       f"{worst / 1000:.3f} ms"))
if startup:
    checks.append(("connections accepted within 250 ms of start (median start)", startup["accept_ms"] < 250, f"{startup['accept_ms']:.0f} ms"))
ours_rss = rss.get(OURS, float("inf")) / 1024
checks.append(("peak RSS < 50 MB", ours_rss < 50, f"{ours_rss:.1f} MB"))
errors = sum(c["non2xx"] + c["socket_errors"] for c in runs)
checks.append(("no errors in any cell", errors == 0, str(errors)))

out.append("\nTargets:\n")
out.append("| target | measured | met |")
out.append("|---|---:|:---:|")
for name, ok, value in checks:
    out.append(f"| {name} | {value} | {'yes' if ok else '**no**'} |")
out.append("")

doc = open(doc_path).read()
section = "<!-- http:begin -->\n" + "\n".join(out) + "\n<!-- http:end -->"
doc, n = re.subn(r"<!-- http:begin -->.*?<!-- http:end -->", lambda _: section, doc, flags=re.S)
if n != 1:
    sys.exit(f"{doc_path}: expected one http:begin/end section, found {n}")
open(doc_path, "w").write(doc)
print("\n".join(out))
