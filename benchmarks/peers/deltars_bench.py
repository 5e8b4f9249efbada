"""delta-rs (the Python `deltalake` package) as a benchmark peer.

One measured operation per process, described by a JSON task file; the result goes to a JSON file:

    .venv/bin/python benchmarks/peers/deltars_bench.py <task.json> <result.json>
    .venv/bin/python benchmarks/peers/deltars_bench.py --versions

Operations (the same task shapes the lakelet and DuckDB children take):

    load       write_deltalake of Parquet files into a new table (streamed record batches)
    append     prep only: append each Parquet file as its own commit (not measured by the harness)
    merge      DeltaTable.merge of one Parquet file: kinds upsert, upsert-delete, upsert-if-newer
    optimize   DeltaTable.optimize.compact
    snapshot   open the table (latest, or a version: time travel) and list its files
    pipeline   landed CSV files in batches: append to a stage table, move to the archive, dedup by
               key, MERGE into the target -- what lakelet's pipeline does, written by hand

The timer covers the operation only (imports, reading the task and counting rows/files afterwards
are outside it). Peak RSS is
ru_maxrss of this process (KiB on Linux), so it includes the interpreter and pyarrow.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import deltalake
from deltalake import DeltaTable, write_deltalake


def rss_now() -> int:
    """Resident set size now, in bytes (from /proc/self/statm)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def peak_rss() -> int:
    """Peak resident set size of this process, in bytes (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def cpu_ms() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return (r.ru_utime + r.ru_stime) * 1000.0


def stream(paths: list[str]) -> pa.RecordBatchReader:
    dataset = ds.dataset(paths, format="parquet")
    return pa.RecordBatchReader.from_batches(dataset.schema, dataset.to_batches())


def merge_builder(dt: DeltaTable, source: pa.Table, key: str, kind: str, columns: list[str]):
    values = {c: f"s.{c}" for c in columns}
    m = dt.merge(source, predicate=f"t.{key} = s.{key}", source_alias="s", target_alias="t")
    if kind == "upsert":
        return m.when_matched_update(updates=values).when_not_matched_insert(updates=values)
    if kind == "upsert-delete":
        return (
            m.when_matched_delete(predicate="s.op = 'D'")
            .when_matched_update(updates=values)
            .when_not_matched_insert(updates=values, predicate="s.op <> 'D'")
        )
    if kind == "upsert-if-newer":
        return m.when_matched_update(updates=values, predicate="s.last_modified > t.last_modified").when_not_matched_insert(updates=values)
    raise ValueError(f"unknown merge kind {kind}")


def op_load(task: dict[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if task.get("targetFileSize"):
        kwargs["target_file_size"] = int(task["targetFileSize"])
    write_deltalake(task["table"], stream(task["sources"]), mode="error", **kwargs)

    def after() -> dict[str, Any]:
        dt = DeltaTable(task["table"])
        rows = sum(f.metadata.num_rows for f in ds.dataset(task["sources"], format="parquet").get_fragments())
        return {"rows": rows, "files": len(dt.file_uris()), "version": dt.version()}

    return {"__after": after}


def op_append(task: dict[str, Any]) -> dict[str, Any]:
    # An empty create commit first, as lakelet's template has (see prepare.ts, targetTemplate).
    DeltaTable.create(task["table"], schema=pq.read_schema(task["sources"][0]))
    for path in task["sources"]:
        write_deltalake(task["table"], pq.read_table(path), mode="append")
    dt = DeltaTable(task["table"])
    return {"files": len(dt.file_uris()), "version": dt.version()}


def op_merge(task: dict[str, Any]) -> dict[str, Any]:
    dt = DeltaTable(task["table"])
    source = pq.read_table(task["source"])
    metrics = merge_builder(dt, source, task["key"], task["kind"], task["columns"]).execute()
    return {"rows": source.num_rows, "metrics": metrics}


def op_optimize(task: dict[str, Any]) -> dict[str, Any]:
    dt = DeltaTable(task["table"])
    metrics = dt.optimize.compact(target_size=int(task["targetSize"]))
    return {"metrics": metrics}


def op_snapshot(task: dict[str, Any]) -> dict[str, Any]:
    version = task.get("version")
    dt = DeltaTable(task["table"], version=version) if version is not None else DeltaTable(task["table"])
    files = dt.file_uris()
    return {"files": len(files), "version": dt.version()}


def dedup_latest(table: pa.Table, key: str, order_by: str) -> pa.Table:
    """One row per key: the one with the greatest order_by."""
    if table.num_rows <= 1:
        return table
    table = table.sort_by([(key, "ascending"), (order_by, "descending")])
    keys = table.column(key).combine_chunks()
    n = len(keys)
    changed = pc.not_equal(keys.slice(1), keys.slice(0, n - 1))
    mask = pa.concat_arrays([pa.array([True]), changed.fill_null(True)])
    return table.filter(mask)


def arrival_order(landing: str, suffix: str) -> list[str]:
    names = [n for n in os.listdir(landing) if n.endswith(suffix) and not n.startswith(".")]
    return sorted(names, key=lambda n: (os.stat(os.path.join(landing, n)).st_mtime_ns, n))


def op_pipeline(task: dict[str, Any]) -> dict[str, Any]:
    landing, stage, target, archive = task["landing"], task["stage"], task["target"], task["archive"]
    key, order_by, max_files = task["key"], task["orderBy"], int(task["maxFiles"])
    column_types = {c["name"]: arrow_type(c["arrow"]) for c in task["columns"]}
    business = [c["name"] for c in task["columns"]]
    files = arrival_order(landing, ".csv")
    rows = inserted = updated = 0
    batches = 0
    batch_ms: list[float] = []
    for start in range(0, len(files), max_files):
        b0 = time.perf_counter()
        batch = files[start : start + max_files]
        batches += 1
        parts = []
        for name in batch:
            t = pacsv.read_csv(os.path.join(landing, name), convert_options=pacsv.ConvertOptions(column_types=column_types))
            t = t.append_column("_batch", pa.array([batches] * t.num_rows, pa.int64()))
            t = t.append_column("_source_file", pa.array([name] * t.num_rows, pa.string()))
            parts.append(t)
        staged = pa.concat_tables(parts)
        rows += staged.num_rows
        write_deltalake(stage, staged, mode="append")
        folder = os.path.join(archive, f"batch-{batches:06d}")
        os.makedirs(folder, exist_ok=True)
        for name in batch:
            os.rename(os.path.join(landing, name), os.path.join(folder, name))
        source = dedup_latest(staged.select(business), key, order_by)
        if not os.path.isdir(os.path.join(target, "_delta_log")):
            write_deltalake(target, source, mode="error")
            inserted += source.num_rows
            batch_ms.append((time.perf_counter() - b0) * 1000)
            continue
        dt = DeltaTable(target)
        values = {c: f"s.{c}" for c in business}
        m = (
            dt.merge(source, predicate=f"t.{key} = s.{key}", source_alias="s", target_alias="t")
            .when_matched_update(updates=values, predicate=f"s.{order_by} >= t.{order_by}")
            .when_not_matched_insert(updates=values)
            .execute()
        )
        inserted += int(m.get("num_target_rows_inserted", 0))
        updated += int(m.get("num_target_rows_updated", 0))
        batch_ms.append((time.perf_counter() - b0) * 1000)
    metrics: dict[str, Any] = {"inserted": inserted, "updated": updated}
    if task.get("latency"):
        metrics["batchMs"] = batch_ms
    return {"rows": rows, "batches": batches, "metrics": metrics}


def arrow_type(name: str) -> pa.DataType:
    if name == "timestamp":
        return pa.timestamp("us", tz="UTC")
    if name.startswith("decimal"):
        p, s = name[len("decimal(") : -1].split(",")
        return pa.decimal128(int(p), int(s))
    return {"string": pa.string(), "int64": pa.int64(), "int32": pa.int32(), "float64": pa.float64()}[name]


OPS = {"load": op_load, "append": op_append, "merge": op_merge, "optimize": op_optimize, "snapshot": op_snapshot, "pipeline": op_pipeline}


def main() -> None:
    if sys.argv[1:] == ["--versions"]:
        print(json.dumps({"deltalake": deltalake.__version__, "pyarrow": pa.__version__, "python": sys.version.split()[0]}))
        return
    if len(sys.argv) != 3:
        sys.stderr.write("usage: deltars_bench.py <task.json> <result.json> | --versions\n")
        sys.exit(2)
    with open(sys.argv[1], encoding="utf-8") as f:
        task = json.load(f)
    op = OPS.get(task["op"])
    if op is None:
        sys.stderr.write(f"deltars_bench: unknown op {task['op']}\n")
        sys.exit(2)
    rss_start = rss_now()
    cpu_start = cpu_ms()
    started = time.perf_counter()
    out = op(task)
    wall_ms = (time.perf_counter() - started) * 1000.0
    cpu_used = cpu_ms() - cpu_start
    after = out.pop("__after", None)
    if after is not None:
        out.update(after())  # bookkeeping (row and file counts), outside the timer
    result = {
        "ok": True,
        "wallMs": wall_ms,
        "cpuMs": cpu_used,
        "peakRssBytes": peak_rss(),
        "rssAtStartBytes": rss_start,
        **out,
    }
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(result, f, default=str)


if __name__ == "__main__":
    main()
