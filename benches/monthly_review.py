#!/usr/bin/env python3
"""The monthly review at scale, beside DuckDB.

For each scale (order lines): generates the contract's tables as Parquet with
`sextant sample` (cached), runs `sextant run monthly_review` end to end in a release build
(wall time per phase, peak RSS), then runs the same SQL in DuckDB on the same files
(`sextant sql` prints it: the steps, the checks and the KPI queries, parameters bound),
and prints the ratio sextant (SQL to PDF) / DuckDB (SQL alone). Step row counts of the
two engines are compared, so that both did the same work.

Two more measurements follow: the review at 50M order lines under `engine.memory_limit:
2GB` (it must complete by spilling, with its peak RSS near the limit), and the review on
the 10M data as CSV, run twice: the first run parses each CSV and writes its Parquet copy
(`engine.csv_cache`), the second reads the copies.

    python3 benches/monthly_review.py                  # all of it, writes BENCHMARKS.md (~10 min)
    python3 benches/monthly_review.py --scales 1M --limited none --csv none --no-write
    python3 benches/monthly_review.py --smoke          # CI: 20k lines, debug build, no file written

Data is cached in ~/.cache/sextant-bench (SEXTANT_BENCH_CACHE), the release build in
~/.cache/sextant-release (SEXTANT_BENCH_TARGET). DuckDB is installed with pip if missing.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("SEXTANT_BENCH_CACHE", Path.home() / ".cache" / "sextant-bench"))
TARGET = Path(os.environ.get("SEXTANT_BENCH_TARGET", Path.home() / ".cache" / "sextant-release"))
PERIOD = "2026-10"
MONTHS = 24
# The sample's density: 10,574 order lines for 300 customers over 24 months.
LINES_PER_CUSTOMER = 10_574 / 300
SCALES = {"20k": 20_000, "1M": 1_000_000, "10M": 10_000_000, "50M": 50_000_000}
PHASES = [
    ("reading inputs", ["registering sources", "reading inputs", "writing Parquet copies"]),
    ("checks", ["checking sources", "checking results"]),
    ("SQL steps", ["running steps"]),
    ("KPI evaluation", ["evaluating KPIs"]),
    ("rendering HTML and PDF", ["rendering reports"]),
    ("writing outputs", ["writing exports", "publishing"]),
]


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def build(debug):
    if debug:
        target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
        cmd, binary = ["cargo", "build"], target / "debug" / "sextant"
        env = dict(os.environ)
    else:
        cmd, binary = ["cargo", "build", "--release"], TARGET / "release" / "sextant"
        env = dict(os.environ, CARGO_TARGET_DIR=str(TARGET))
    log(" ".join(cmd))
    subprocess.run(cmd, cwd=REPO, env=env, check=True)
    return binary


def ensure_data(binary, scale, fmt="parquet"):
    lines = SCALES[scale]
    folder = CACHE / (f"orders-{scale}" if fmt == "parquet" else f"orders-{scale}-{fmt}")
    done = folder / ".complete"
    if done.exists():
        return folder, json.loads(done.read_text())
    customers = max(50, round(lines / LINES_PER_CUSTOMER))
    log(f"generating {scale} order lines ({customers} customers, {MONTHS} months) in {folder}")
    shutil.rmtree(folder, ignore_errors=True)
    out = subprocess.run(
        [binary, "sample", "--out", folder, "--customers", str(customers), "--months", str(MONTHS),
         "--end", PERIOD, "--format", fmt],
        cwd=REPO, check=True, capture_output=True, text=True,
    ).stdout
    rows = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+) rows", out, re.M)}
    done.write_text(json.dumps(rows))
    return folder, rows


def run_sextant(binary, data, workdir, memory_limit, spill_dir, csv_cache=None):
    """One run of the monthly review: (timings, wall seconds, peak RSS bytes, run.json)."""
    ws = Path(workdir) / "ws"
    (ws / "config").mkdir(parents=True, exist_ok=True)
    (ws / "pipelines").mkdir(exist_ok=True)
    for item in ["monthly_review.yaml", "common"]:
        link = ws / "pipelines" / item
        if not link.exists():
            link.symlink_to(REPO / "pipelines" / item)
    if not (ws / "report-templates").exists():
        (ws / "report-templates").symlink_to(REPO / "report-templates")
    config = f"data_root: {data}\noutput_root: {ws / 'out'}\ntimezone: Asia/Shanghai\nlocale: en\nengine:\n"
    config += f"  csv_cache: {csv_cache or 'off'}\n"
    if memory_limit:
        config += f"  memory_limit: {memory_limit}\n  spill_dir: {spill_dir}\n"
    (ws / "config" / "sextant.yaml").write_text(config)
    shutil.rmtree(ws / "out", ignore_errors=True)
    timings = Path(workdir) / "timings.json"
    errors = Path(workdir) / "stderr.txt"
    started = time.perf_counter()
    with open(errors, "w") as err:
        proc = subprocess.Popen(
            [binary, "run", "monthly_review", "--period", PERIOD, "--timings", timings],
            cwd=ws, stdout=subprocess.DEVNULL, stderr=err,
            env=dict(os.environ, SEXTANT_NOW="2026-11-05T08:00:00Z"),
        )
        # wait4: this child's own peak RSS (kilobytes on Linux), not that of the build.
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"sextant failed:\n{errors.read_text()}")
    manifest = json.loads((ws / "out" / "monthly_review" / PERIOD / "run.json").read_text())
    return json.loads(timings.read_text()), wall, usage.ru_maxrss * 1024, manifest


def timed_run(binary, data, memory_limit, spill_dir):
    with tempfile.TemporaryDirectory(prefix="sextant-bench-") as tmp:
        return run_sextant(binary, data, tmp, memory_limit, spill_dir)


def phase_seconds(timings):
    out = {name: 0.0 for name, _ in PHASES}
    for row in timings["phases"]:
        phase = row["phase"].split(" ", 1)[1]
        for name, prefixes in PHASES:
            if any(phase.startswith(p) for p in prefixes):
                out[name] += row["seconds"]
    return out


def ensure_duckdb():
    try:
        import duckdb  # noqa: F401
    except ImportError:
        log("pip install duckdb")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "duckdb"],
                       check=True)
    import duckdb
    return duckdb


def bind(sql, params):
    names = sorted(params, key=len, reverse=True)
    for name in names:
        sql = re.sub(r"\$" + re.escape(name) + r"\b", params[name], sql)
    return sql


def run_duckdb(binary, data, threads):
    """The monthly review's SQL in DuckDB; returns (seconds, step row counts)."""
    duckdb = ensure_duckdb()
    script = json.loads(subprocess.run(
        [binary, "sql", "monthly_review", "--period", PERIOD, "--data-root", data],
        cwd=REPO, check=True, capture_output=True, text=True,
    ).stdout)
    params = dict(script["params"])
    fys = script["fiscal_year_start"]
    months = {"month": 1, "quarter": 3, "year": 12}[script["grain"]]
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    started = time.perf_counter()
    # sextant's period functions (src/engine/udf.rs) as macros.
    con.execute(f"CREATE MACRO period_index(d) AS "
                f"CAST(floor((year(d) * 12 + month(d) - 1 - {fys - 1}) / {months}) AS BIGINT)")
    if script["grain"] == "month":
        con.execute("CREATE MACRO period_label(i) AS printf('%04d-%02d', CAST(floor(i / 12) AS BIGINT), i % 12 + 1)")
    else:
        raise SystemExit("the DuckDB side supports month-grain pipelines only")
    con.execute("CREATE MACRO period_of(d) AS period_label(period_index(d))")
    # DataFusion functions the pipelines use that DuckDB spells differently.
    con.execute("CREATE MACRO to_date(s) AS CAST(s AS DATE)")
    con.execute("CREATE MACRO regexp_like(s, p) AS regexp_matches(s, p)")
    for name, url, fmt in script["sources"]:
        path = url.removeprefix("file://")
        reader = {"parquet": "read_parquet", "csv": "read_csv_auto", "json": "read_json_auto"}[fmt]
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM {reader}('{path}')")
    rows = ", ".join(f"({p['pi']}, '{p['period']}', DATE '{p['period_start']}', DATE '{p['period_end']}', "
                     f"DATE '{p['as_of']}')" for p in script["periods"])
    con.execute(f"CREATE TABLE periods (pi BIGINT, period VARCHAR, period_start DATE, period_end DATE, "
                f"as_of DATE)")
    con.execute(f"INSERT INTO periods VALUES {rows}")
    # Steps are materialised, as sextant does; one may read a later one, so retry in order.
    pending = list(script["steps"])
    counts = {}
    while pending:
        progress = False
        for step in list(pending):
            try:
                con.execute(f"CREATE TEMP TABLE {step['name']} AS {bind(step['sql'], params)}")
            except duckdb.CatalogException:
                continue
            counts[step["name"]] = con.execute(f"SELECT COUNT(*) FROM {step['name']}").fetchone()[0]
            pending.remove(step)
            progress = True
        if not progress:
            step = pending[0]
            con.execute(f"CREATE TEMP TABLE {step['name']} AS {bind(step['sql'], params)}")  # raises the error
    for check in script["checks"]:
        con.execute(f"SELECT COUNT(*) FROM ({bind(check['sql'], params)})").fetchall()
    for kpi in script["kpis"]:
        con.execute(bind(kpi["sql"], params)).fetchall()
    return time.perf_counter() - started, counts


def machine():
    cores = os.cpu_count()
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), cpu)
    except OSError:
        pass
    return cores, mem, cpu


def gib(b):
    return f"{b / 2**30:.2f} GiB"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", default="1M,10M", help="beside DuckDB; comma-separated: " + ", ".join(SCALES))
    ap.add_argument("--limited", default="50M", help="the scale run under --memory-limit, or `none`")
    ap.add_argument("--memory-limit", default="2GB", help="engine.memory_limit of that run")
    ap.add_argument("--csv", default="10M", help="the scale run twice from CSV files, or `none`")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each engine beside DuckDB; the median counts")
    ap.add_argument("--smoke", action="store_true", help="20k lines with the debug build; checks, writes nothing")
    ap.add_argument("--no-write", action="store_true", help="print the tables, do not write BENCHMARKS.md")
    ap.add_argument("--binary", help="use this sextant binary instead of building one")
    args = ap.parse_args()
    scales = ["20k"] if args.smoke else [s for s in args.scales.split(",") if s and s != "none"]
    if args.smoke:
        args.repeat = 1
    limited = "20k" if args.smoke else (None if args.limited == "none" else args.limited)
    csv = "20k" if args.smoke else (None if args.csv == "none" else args.csv)
    binary = Path(args.binary) if args.binary else build(debug=args.smoke)
    cores, mem, cpu = machine()
    spill = CACHE / "spill"
    results = []
    for scale in scales:
        data, rows = ensure_data(binary, scale)
        # The median of `--repeat` runs of each engine: single runs here vary by a third.
        runs = []
        for i in range(args.repeat):
            log(f"{scale}: sextant run monthly_review ({rows.get('orders')} order lines), run {i + 1}")
            runs.append(timed_run(binary, data, None, spill))
        timings, wall, rss, manifest = sorted(runs, key=lambda r: r[1])[len(runs) // 2]
        rss = max(r[2] for r in runs)
        log(f"{scale}: sextant {wall:.2f} s (median), peak RSS {gib(rss)}; DuckDB on the same SQL")
        ducks = []
        for i in range(args.repeat):
            ducks.append(run_duckdb(binary, data, cores))
            log(f"{scale}: DuckDB run {i + 1}: {ducks[-1][0]:.2f} s")
        duck, counts = sorted(ducks, key=lambda d: d[0])[len(ducks) // 2]
        ours = {s["name"]: s["rows"] for s in manifest["steps"]}
        differ = {k: (ours.get(k), v) for k, v in counts.items() if ours.get(k) != v}
        if differ:
            raise SystemExit(f"sextant and DuckDB disagree on step row counts: {differ}")
        results.append((scale, rows.get("orders"), phase_seconds(timings), wall, rss, duck))
        log(f"{scale}: DuckDB {duck:.2f} s; ratio {wall / duck:.2f}")
    bounded = None
    if limited:
        data, rows = ensure_data(binary, limited)
        log(f"{limited}: sextant run monthly_review under engine.memory_limit {args.memory_limit}")
        timings, wall, rss, _ = timed_run(binary, data, args.memory_limit, spill)
        bounded = (limited, rows.get("orders"), phase_seconds(timings), wall, rss, args.memory_limit)
        log(f"{limited}: sextant {wall:.2f} s, peak RSS {gib(rss)}")
    from_csv = []
    if csv:
        data, rows = ensure_data(binary, csv, "csv")
        with tempfile.TemporaryDirectory(prefix="sextant-bench-csv-") as tmp:
            for label in ["first run: parses, writes the copies", "second run: reads the copies"]:
                log(f"{csv} as CSV, {label}")
                timings, wall, rss, _ = run_sextant(binary, data, tmp, None, spill, Path(tmp) / "csv-cache")
                from_csv.append((label, rows.get("orders"), phase_seconds(timings), wall, rss))
                log(f"{csv} as CSV: {wall:.2f} s")
    table = render(results, bounded, from_csv, cores, mem, cpu, "Debug" if args.smoke else "Release", args.repeat)
    print(table)
    if not (args.smoke or args.no_write):
        (REPO / "BENCHMARKS.md").write_text(table)
        log("wrote BENCHMARKS.md")


def phase_cells(phases):
    return [f"{phases[name]:.2f} s" for name, _ in PHASES]


def render(results, bounded, from_csv, cores, mem, cpu, build="Release", repeat=1):
    today = datetime.date.today().isoformat()
    head = " | ".join(name for name, _ in PHASES)
    lines = [
        "# Benchmarks",
        "",
        f"Produced by `python3 benches/monthly_review.py` on {today}: {cores} cores, {gib(mem)} of memory"
        + (f" ({cpu})" if cpu else "") + f". {build} build; data from `sextant sample`, "
        f"{MONTHS} months ending {PERIOD}; the monthly review of {PERIOD}, SQL to PDF.",
    ]
    if results:
        lines += [
            "",
            "## Beside DuckDB",
            "",
            "DuckDB runs the same SQL (the steps, materialised, the checks and the KPI queries, from "
            "`sextant sql`) on the same Parquet files, with as many threads as cores. It renders nothing, "
            "so the ratio compares sextant's whole review with DuckDB's SQL alone. Each engine runs "
            f"{repeat} times; the table shows the median run (peak RSS: the highest).",
            "",
            f"| order lines | {head} | sextant total | peak RSS | DuckDB SQL | ratio |",
            "|---:|" + "---:|" * (len(PHASES) + 4),
        ]
        for scale, orders, phases, wall, rss, duck in results:
            cells = [f"{orders:,}"] + phase_cells(phases) + [f"{wall:.2f} s", gib(rss), f"{duck:.2f} s", f"{wall / duck:.2f}"]
            lines.append("| " + " | ".join(cells) + " |")
        if len(results) > 1:
            (s1, o1, _, w1, _, _), (s2, o2, _, w2, _, _) = results[0], results[-1]
            lines += ["", f"Growth: {o2 / o1:.1f}× the order lines cost {w2 / w1:.1f}× the time ({s1} → {s2})."]
    if bounded:
        scale, orders, phases, wall, rss, limit = bounded
        lines += [
            "",
            f"## Within `engine.memory_limit: {limit}`",
            "",
            f"Parquet, {orders:,} order lines; the spill folder and step results over the budget go to disk.",
            "",
            f"| order lines | {head} | sextant total | peak RSS | limit |",
            "|---:|" + "---:|" * (len(PHASES) + 3),
            "| " + " | ".join([f"{orders:,}"] + phase_cells(phases) + [f"{wall:.2f} s", gib(rss), limit]) + " |",
        ]
    if from_csv:
        lines += [
            "",
            "## From CSV (`engine.csv_cache`)",
            "",
            "The same data as CSV files, with a fresh copy folder: the first run checks and parses every "
            "CSV and writes its Parquet copy, the second finds the copies by checksum and reads them.",
            "",
            f"| run | order lines | {head} | sextant total | peak RSS |",
            "|---|---:|" + "---:|" * (len(PHASES) + 2),
        ]
        for label, orders, phases, wall, rss in from_csv:
            lines.append("| " + " | ".join([label, f"{orders:,}"] + phase_cells(phases) + [f"{wall:.2f} s", gib(rss)]) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
