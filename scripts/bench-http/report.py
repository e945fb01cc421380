"""Turns the benchmark's measurements into the http section of docs/benchmarks.md.

    report.py RESULTS_JSONL BENCHMARKS_MD CONTEXT_JSON

RESULTS_JSONL holds one object per cell ({"server", "body", "rows", "requests", "duration_us",
"p50_us", "p99_us", "non2xx", "socket_errors"}) and one per server ({"server", "rss_kb"}).
Only the text between <!-- http:begin --> and <!-- http:end --> is replaced.
"""
import json
import re
import sys

results_path, doc_path, context_path = sys.argv[1:4]
cells, rss, startup = [], {}, None
for line in open(results_path):
    entry = json.loads(line)
    if "rss_kb" in entry:
        rss[entry["server"]] = entry["rss_kb"]
    elif "accept_ms" in entry:
        startup = entry
    else:
        cells.append(entry)
context = json.load(open(context_path))

OURS = "isoserve"
PYTHON = ["gunicorn 1 worker", "gunicorn 2 workers"]


def rate(cell):
    return cell["requests"] / (cell["duration_us"] / 1e6)


def find(server, body, rows):
    for cell in cells:
        if (cell["server"], cell["body"], cell["rows"]) == (server, body, rows):
            return cell
    return None


def ms(us):
    return f"{us / 1000:.2f}" if us < 10_000 else f"{us / 1000:.0f}"


sizes = sorted({c["rows"] for c in cells})
out = []
out.append("## HTTP: isoserve vs the Flask + gunicorn + scikit-learn container\n")
out.append(f"Command: `scripts/bench-http.sh` (run {context['date']}). {context['setup']}\n")
out.append("| server | body | rows/request | req/s | rows/s | p50 ms | p99 ms | errors |")
out.append("|---|---|---:|---:|---:|---:|---:|---:|")
for rows in sizes:
    for server, body in [(OURS, "csv"), (OURS, "json")] + [(p, "json") for p in PYTHON]:
        cell = find(server, body, rows)
        if cell is None:
            continue
        errors = cell["non2xx"] + cell["socket_errors"]
        out.append(
            f"| {server} | {body.upper()} | {rows} | {rate(cell):,.0f} | {rate(cell) * rows:,.0f} "
            f"| {ms(cell['p50_us'])} | {ms(cell['p99_us'])} | {errors} |"
        )

out.append("\nThroughput ratios (isoserve ÷ Python container; rows/s and req/s ratios are equal):\n")
out.append("| rows/request | JSON ÷ 1 worker | JSON ÷ 2 workers | CSV ÷ 1 worker | CSV ÷ 2 workers |")
out.append("|---:|---:|---:|---:|---:|")
ratios = {}
for rows in sizes:
    row = [str(rows)]
    for body in ["json", "csv"]:
        for python in PYTHON:
            ours, theirs = find(OURS, body, rows), find(python, "json", rows)
            if ours and theirs and rate(theirs) > 0:
                ratio = rate(ours) / rate(theirs)
                ratios[(body, python, rows)] = ratio
                row.append(f"{ratio:,.0f}×")
            else:
                row.append("–")
    out.append("| " + " | ".join(row) + " |")

out.append("\nPeak resident memory (VmHWM, after every cell; gunicorn: master + workers):\n")
out.append("| server | peak RSS MB |")
out.append("|---|---:|")
for server in [OURS] + PYTHON:
    if server in rss:
        out.append(f"| {server} | {rss[server] / 1024:.1f} |")

if startup:
    out.append(
        f"\nStart-up: isoserve accepted its first connection {startup['accept_ms']} ms after exec and "
        f"answered `/ping` 200 after {startup['ready_ms']} ms (wall clock from the script, which polls; "
        "the model loads in the background)."
    )

checks = []
best_python = PYTHON[-1]
for body in ["json", "csv"]:
    r = min(ratios.get((body, p, 1000), 0) for p in PYTHON)
    checks.append((f"≥ 20× the Python container's rows/s at 1000 rows ({body.upper()}, vs its best)", r >= 20, f"{r:,.0f}×"))
for body in ["json", "csv"]:
    r = min(ratios.get((body, p, 1), 0) for p in PYTHON)
    checks.append((f"≥ 100× its req/s at 1 row ({body.upper()}, vs its best)", r >= 100, f"{r:,.0f}×"))
for body in ["json", "csv"]:
    cell = find(OURS, body, 1)
    p99 = cell["p99_us"] if cell else float("inf")
    checks.append((f"p99 < 1 ms at 1 row, {context['connections']} connections ({body.upper()})", p99 < 1000, f"{p99 / 1000:.3f} ms"))
if startup:
    checks.append(("connections accepted within 250 ms of start", startup["accept_ms"] < 250, f"{startup['accept_ms']} ms"))
ours_rss = rss.get(OURS, float("inf")) / 1024
checks.append(("peak RSS < 50 MB", ours_rss < 50, f"{ours_rss:.1f} MB"))
errors = sum(c["non2xx"] + c["socket_errors"] for c in cells)
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
