"""The forest section of docs/benchmarks.md, from criterion's estimates and scikit-learn's timings.

    write_doc.py collect CRITERION_DIR SKLEARN_JSON   # prints one round as a JSON line
    write_doc.py write ROOT CRITERION_DIR ROUNDS_JSONL FIT_JSON

`collect` runs after each round of scripts/bench-forest.sh; `write` rewrites the section between
<!-- forest:begin --> and <!-- forest:end --> with the median of the per-round ratios.
"""
import json
import pathlib
import platform
import re
import statistics
import sys

KERNELS = ("scalar", "avx2", "avx512")
SCORE_ROWS = 20_000
# Trees padded to a multiple of the vector's lanes, and the levels a vector walk gathers: the
# forest's depth (8 for ψ = 256) minus the levels it loads and blends (three for AVX2, four for
# AVX-512), plus the leaf.
TREES = 100
DEPTH = 8
LANES = {"avx2": 8, "avx512": 16}
BLENDED = {"avx2": 3, "avx512": 4}
GATHERED_LEVELS = {k: DEPTH - b + 1 for k, b in BLENDED.items()}


def estimate(crit, *parts):
    """(seconds per iteration, elements per iteration or None) of one criterion benchmark."""
    base = crit.joinpath(*parts) / "new"
    if not base.exists():
        return None
    seconds = json.loads((base / "estimates.json").read_text())["mean"]["point_estimate"] / 1e9
    bench = json.loads((base / "benchmark.json").read_text())
    elements = (bench.get("throughput") or {}).get("Elements")
    return seconds, elements


def collect(crit, sklearn_json):
    crit = pathlib.Path(crit)
    sk = json.loads(pathlib.Path(sklearn_json).read_text())
    out = {"sklearn": sk, "score": {}, "one_row": {}, "gather_bound": {}}
    for d in (5, 20):
        for name in [f"forest-{k}" for k in KERNELS] + ["eif"]:
            e = estimate(crit, "score", name, f"d{d}")
            if e:
                out["score"][f"{name}/d{d}"] = SCORE_ROWS / e[0]
    for k in KERNELS:
        e = estimate(crit, "one_row", f"forest-{k}", "d5")
        if e:
            out["one_row"][k] = e[0]
        e = estimate(crit, "gather_bound", "nodes", k)
        if e:
            out["gather_bound"][k] = e[1] / e[0]
    print(json.dumps(out))


def median(xs):
    return statistics.median(xs) if xs else None


def write(root, crit, rounds_jsonl, fit_json):
    root, crit = pathlib.Path(root), pathlib.Path(crit)
    rounds = [json.loads(line) for line in pathlib.Path(rounds_jsonl).read_text().splitlines() if line]
    fit_sk = json.loads(pathlib.Path(fit_json).read_text())["fit_10000x5_seconds"]
    fit_ours = estimate(crit, "fit", "forest", "10000x5")[0]
    fit_eif = estimate(crit, "fit", "eif", "10000x5")[0]
    par = {t: estimate(crit, "parallel", "forest", f"{t}t") for t in (1, 2)}
    cpuinfo = pathlib.Path("/proc/cpuinfo").read_text()
    cpu = next((l.split(":", 1)[1].strip() for l in cpuinfo.splitlines() if l.startswith("model name")), "unknown CPU")
    flags = set(cpuinfo.split())
    kernels = [k for k in KERNELS if all(f"forest-{k}/d5" in r["score"] for r in rounds)]
    missing = [k for k in KERNELS if k not in kernels]
    version = rounds[0]["sklearn"]["sklearn_version"]

    def ratio(r, name, d):
        return r["score"][f"{name}/d{d}"] / r["sklearn"][f"score_d{d}_rows_per_s"]

    lines = [
        "## Forest: scoring and fitting, one core",
        "",
        f"`scripts/bench-forest.sh` (criterion bench `forest/benches/scoring.rs` + scikit-learn {version} "
        f"`score_samples`/`fit`), all pinned to one core (`taskset -c 0`, one thread), on {cpu}, "
        f"{platform.machine()} (AVX2: {'yes' if 'avx2' in flags else 'no'}, AVX-512F: "
        f"{'yes' if 'avx512f' in flags else 'no'}). 100 trees, ψ = 256, trained on 10,000 N(0, 1) rows, "
        f"scoring 20,000 rows per call. EIF = the `extended-isolation-forest` crate 0.2 (extension level 0). "
        f"{len(rounds)} rounds, each running every kernel and then scikit-learn; ratios are the median of the "
        "per-round ratios, because the shared machine's speed drifts by ±25 % over minutes.",
        "",
        "Every kernel is measured on this one CPU by building the model for it (`Model::use_kernel`); in "
        "production the fastest the CPU supports runs (`forest::Kernel::selected`, logged by the server at "
        "start-up; `FOREST_KERNEL=avx2` caps it). All give the same scores bit for bit "
        "(`forest/src/layout/tests.rs`).",
        "",
    ]
    if missing:
        lines += [f"Not measured on this CPU (it cannot run them): {', '.join(missing)}.", ""]
    lines += [
        "| batch scoring (rows/s, median round) | d = 5 | × scikit-learn | d = 20 | × scikit-learn | per-round ratios (d = 5; d = 20) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name in [f"forest-{k}" for k in kernels] + ["eif"]:
        cells = []
        for d in (5, 20):
            cells.append(f"{median([r['score'][f'{name}/d{d}'] for r in rounds]):,.0f}")
            cells.append(f"{median([ratio(r, name, d) for r in rounds]):.1f}×")
        per = "; ".join(", ".join(f"{ratio(r, name, d):.1f}" for r in rounds) for d in (5, 20))
        label = f"forest, {name.split('-')[1]} kernel" if name.startswith("forest") else "EIF"
        lines.append(f"| {label} | {' | '.join(cells)} | {per} |")
    sk5 = median([r["sklearn"]["score_d5_rows_per_s"] for r in rounds])
    sk20 = median([r["sklearn"]["score_d20_rows_per_s"] for r in rounds])
    lines.append(f"| scikit-learn | {sk5:,.0f} | 1× | {sk20:,.0f} | 1× | |")
    lines += ["", "| one-row score, d = 5 (median round) | time |", "|---|---:|"]
    for k in kernels:
        lines.append(f"| forest, {k} kernel | {median([r['one_row'][k] for r in rounds]) * 1e6:.2f} µs |")
    lines.append(f"| scikit-learn | {median([r['sklearn']['one_row_seconds'] for r in rounds]) * 1e3:.2f} ms |")

    # Distance to the gather bound of the interleaved layout.
    vec = [k for k in kernels if k in LANES and all(k in r["gather_bound"] for r in rounds)]
    if vec:
        lines += [
            "",
            "How close the vector kernels are to what this CPU can gather: a walk fetches, per row and per "
            f"group of lanes, {GATHERED_LEVELS['avx2']} nodes by gather with AVX2 and "
            f"{GATHERED_LEVELS['avx512']} with AVX-512 (depth {DEPTH} minus the three or four levels it "
            "loads and blends, plus the leaf), for the 100 trees padded to whole groups. The bound is the "
            "rate of the walk's node gather instructions (AVX2: one of eight 32-bit codes; AVX-512: one of "
            "sixteen 32-bit codes) on an L1-resident table with nothing else to do (`gather_bound` in the "
            "bench). Both walks also gather their leaves as 64-bit values and, before the walk, "
            "thresholds for the codes of the row's values, which this bound leaves out.",
            "",
            "| kernel | gathered nodes/s (d = 5) | gathered nodes/s (d = 20) | CPU's gather rate | share of the bound (d = 5; d = 20) |",
            "|---|---:|---:|---:|---:|",
        ]
        for k in vec:
            per_row = -(-TREES // LANES[k]) * LANES[k] * GATHERED_LEVELS[k]
            n5 = median([r["score"][f"forest-{k}/d5"] for r in rounds]) * per_row
            n20 = median([r["score"][f"forest-{k}/d20"] for r in rounds]) * per_row
            bound = median([r["gather_bound"][k] for r in rounds])
            lines.append(
                f"| {k} | {n5 / 1e9:.2f} G | {n20 / 1e9:.2f} G | {bound / 1e9:.2f} G | "
                f"{n5 / bound:.0%}; {n20 / bound:.0%} |"
            )
    lines += [
        "",
        "| other | forest | scikit-learn | EIF |",
        "|---|---|---|---|",
        f"| fit 10,000 × 5 | {fit_ours * 1e3:.2f} ms (rayon, 1 core) | {fit_sk * 1e3:.1f} ms | {fit_eif * 1e3:.2f} ms |",
    ]
    if all(par.values()):
        r1, r2 = (par[t][1] / par[t][0] for t in (1, 2))
        lines += [
            "",
            "A million rows, d = 5, `Model::score_batch_parallel` with the fastest kernel, on rayon pools of "
            f"one and two threads (`taskset -c 0,1`): {r1:,.0f} rows/s on one thread, {r2:,.0f} rows/s on two "
            f"({r2 / r1:.2f}×). The machine has two cores shared with everything else it runs.",
        ]
    lines += ["", "Targets (one core; the AVX2 kernel is the one AVX2-only CPUs run):", "",
              "| target | measured (median round) | met |", "|---|---:|:---:|"]
    for k, want in (("avx2", 10), ("avx512", 25)):
        if k not in kernels:
            lines.append(f"| batch ≥ {want}× scikit-learn, {k} kernel | not measured on this CPU | – |")
            continue
        for d in (5, 20):
            got = median([ratio(r, f"forest-{k}", d) for r in rounds])
            lines.append(f"| batch ≥ {want}× scikit-learn, {k} kernel, d = {d} | {got:.1f}× | {'yes' if got >= want else '**no**'} |")
    for k in kernels:
        got = median([r["one_row"][k] for r in rounds]) * 1e6
        lines.append(f"| one-row score < 2 µs, {k} kernel | {got:.2f} µs | {'yes' if got < 2 else '**no**'} |")
    lines += [
        "",
        "The AVX2 figures come from this CPU with the AVX2 kernel forced; an AVX2-only CPU (AMD EPYC before Zen 4) gathers more slowly, and none was reachable to measure it, so its ratio is not known from this machine. Both vector walks code each node as its threshold's rank among its feature's thresholds and each row value as the count of thresholds below it (`layout/ranks.rs`): one gather of sixteen (AVX-512) or eight (AVX2) 32-bit codes per step, an integer comparison, and no permutes to split nodes. A block's values are coded before the walk, sixteen or eight rows of one feature at a time: a bucket lookup (a monotone map of the value onto as many buckets as the feature has thresholds) and a search of at most a few steps within the bucket, or a binary search over all the feature's thresholds where they crowd into a few buckets; an earlier attempt with one scalar search per value cost more than it saved.",
        "",
        "Other CPUs: the layout is portable. The perfect trees, their interleaving (`layout/interleaved.rs`) "
        "and the kernel choice (`forest::Kernel`) carry no x86 assumption; a NEON walk for Graviton would be "
        "one more file beside `layout/avx2.rs`, walking four trees per 128-bit vector with the same "
        "equivalence test. It is not written: no aarch64 standard library is reachable offline to build "
        "or test it, so Graviton runs the scalar walk.",
    ]
    doc = root / "docs" / "benchmarks.md"
    text = doc.read_text()
    section = "<!-- forest:begin -->\n" + "\n".join(lines) + "\n<!-- forest:end -->"
    new, n = re.subn(r"<!-- forest:begin -->.*?<!-- forest:end -->", lambda _: section, text, flags=re.S)
    if n != 1:
        sys.exit("docs/benchmarks.md has no forest:begin/forest:end markers")
    doc.write_text(new)
    print(section)


if __name__ == "__main__":
    if sys.argv[1] == "collect":
        collect(*sys.argv[2:4])
    elif sys.argv[1] == "write":
        write(*sys.argv[2:6])
    else:
        sys.exit(__doc__)
