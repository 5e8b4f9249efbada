"""delta-rs as a test peer: a small CLI over the Python `deltalake` package that prints JSON.

Run it with the venv that scripts/setup-peers.sh builds:

    .venv/bin/python test/peers/deltars_peer.py read <table_dir> [--version N]
    .venv/bin/python test/peers/deltars_peer.py read <table_dir>... (a list, one entry per table)
    .venv/bin/python test/peers/deltars_peer.py read <table_dir> --versions 3,latest,10 (a list)
    .venv/bin/python test/peers/deltars_peer.py write <table_dir> --data rows.json
                                                [--mode append|overwrite] [--partition-by a,b]
    .venv/bin/python test/peers/deltars_peer.py checkpoint <table_dir>
    .venv/bin/python test/peers/deltars_peer.py history <table_dir>
    .venv/bin/python test/peers/deltars_peer.py merge <table_dir> --data rows.json --on k1,k2
    .venv/bin/python test/peers/deltars_peer.py optimize <table_dir>
    .venv/bin/python test/peers/deltars_peer.py count-parquet <dir>
    .venv/bin/python test/peers/deltars_peer.py write-parquet <file> --data rows.json
                                                [--timestamps int96|ms]

Values come out JSON-safe and deterministic (see to_json_value); `read` sorts rows by their
canonical JSON so two readers can be compared without caring about file order. Input data for
`write` and `merge` is {"schema": [{"name", "type", "nullable"?}], "rows": [{...} | [...]]} with the
types listed in ARROW_TYPES plus decimal(p,s), struct<name:type,...>, list<type> and map<key,value>
(a struct value is a JSON object, a list an array, a map an array of [key, value] pairs).
`write-parquet` writes such data as one plain Parquet file with the physical types other engines
use (Spark's INT96 timestamps, millisecond timestamps), to be wrapped in a Delta table by a test.

Any failure: a one-line message on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import decimal
import json
import math
import os
import re
import sys
from typing import Any, NoReturn

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable, write_deltalake

MAX_SAFE_INT = 2**53
UTC = dt.timezone.utc


class PeerError(Exception):
    """A mistake in the peer's input, reported without a traceback."""


# --------------------------------------------------------------------------------------------
# Arrow values -> JSON
# --------------------------------------------------------------------------------------------


def _fmt_time_of_day(t: dt.datetime | dt.time) -> str:
    return f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}.{t.microsecond:06d}"


def _fmt_date(d: dt.date) -> str:
    # Not strftime: %Y is not zero-padded for years < 1000 on every platform.
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"


def to_json_value(v: Any) -> Any:
    """One Python value (from pyarrow's to_pylist) as a JSON-safe, deterministic value."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return str(v) if abs(v) > MAX_SAFE_INT else v
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return v
    if isinstance(v, decimal.Decimal):
        # Fixed-point, scale kept ("1.20" for decimal(p,2)), never exponent notation.
        return format(v, "f")
    if isinstance(v, dt.datetime):  # before date: datetime is a subclass of date
        if v.tzinfo is not None:
            v = v.astimezone(UTC)
            return f"{_fmt_date(v)}T{_fmt_time_of_day(v)}Z"
        return f"{_fmt_date(v)}T{_fmt_time_of_day(v)}"
    if isinstance(v, dt.date):
        return _fmt_date(v)
    if isinstance(v, dt.time):
        return _fmt_time_of_day(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(v)).decode("ascii")
    if isinstance(v, dict):
        return {str(k): to_json_value(x) for k, x in v.items()}
    if isinstance(v, tuple) and len(v) == 2:
        # pyarrow gives map entries as (key, value) tuples
        return [to_json_value(v[0]), to_json_value(v[1])]
    if isinstance(v, (list, tuple)):
        return [to_json_value(x) for x in v]
    if isinstance(v, dt.timedelta):
        return str(v)
    raise PeerError(f"no JSON form for a value of Python type {type(v).__name__}: {v!r}")


def _microsecond_type(t: pa.DataType) -> pa.DataType:
    """The same type with every nanosecond timestamp turned into microseconds (recursively).

    Python datetimes hold microseconds; pyarrow refuses to_pylist on ns values with sub-us parts.
    Delta stores microseconds anyway; only foreign parquet (INT96 from Spark) reaches here as ns.
    """
    if pa.types.is_timestamp(t) and t.unit == "ns":
        return pa.timestamp("us", tz=t.tz)
    if pa.types.is_large_list(t):
        return pa.large_list(t.value_field.with_type(_microsecond_type(t.value_type)))
    if pa.types.is_list(t):
        return pa.list_(t.value_field.with_type(_microsecond_type(t.value_type)))
    if pa.types.is_map(t):
        return pa.map_(
            t.key_field.with_type(_microsecond_type(t.key_type)),
            t.item_field.with_type(_microsecond_type(t.item_type)),
        )
    if pa.types.is_struct(t):
        return pa.struct([t.field(i).with_type(_microsecond_type(t.field(i).type)) for i in range(t.num_fields)])
    return t


def table_to_rows(table: pa.Table) -> list[dict[str, Any]]:
    target = pa.schema([f.with_type(_microsecond_type(f.type)) for f in table.schema])
    if target != table.schema:
        table = table.cast(target, safe=False)
    rows = [{k: to_json_value(v) for k, v in row.items()} for row in table.to_pylist()]
    rows.sort(key=canonical_json)
    return rows


def canonical_json(v: Any) -> str:
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def jsonable(v: Any) -> Any:
    """Metrics, history entries: mostly JSON already; anything else goes through to_json_value."""
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    return to_json_value(v)


# --------------------------------------------------------------------------------------------
# JSON input -> Arrow
# --------------------------------------------------------------------------------------------

ARROW_TYPES: dict[str, pa.DataType] = {
    "int64": pa.int64(),
    "int32": pa.int32(),
    "int16": pa.int16(),
    "int8": pa.int8(),
    "float64": pa.float64(),
    "float32": pa.float32(),
    "bool": pa.bool_(),
    "string": pa.string(),
    "binary": pa.binary(),
    "date": pa.date32(),
    "timestamp_us_utc": pa.timestamp("us", tz="UTC"),
    "timestamp_ntz": pa.timestamp("us"),
}
DECIMAL_RE = re.compile(r"^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$")
FLOAT_WORDS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _split_top_level(s: str) -> list[str]:
    """'a:int32,b:map<string,int8>' -> ['a:int32', 'b:map<string,int8>'] (commas inside <> and () kept)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(s):
        if ch in "<(":
            depth += 1
        elif ch in ">)":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(s[start:i].strip())
            start = i + 1
    parts.append(s[start:].strip())
    return parts


def _nested_arrow_type(name: str) -> pa.DataType | None:
    """struct<a:t,...>, list<t>, map<k,v>; None when `name` is not one of those."""
    m = re.match(r"^(struct|list|map)<(.*)>$", name.strip())
    if not m:
        return None
    kind, inner = m.group(1), m.group(2)
    if kind == "list":
        return pa.list_(arrow_type(inner))
    parts = _split_top_level(inner)
    if kind == "map":
        if len(parts) != 2:
            raise PeerError(f"map type {name!r} needs a key and a value type")
        return pa.map_(arrow_type(parts[0]), arrow_type(parts[1]))
    fields = []
    for part in parts:
        fname, sep, ftype = part.partition(":")
        if not sep:
            raise PeerError(f"struct field {part!r} in {name!r} needs name:type")
        fields.append(pa.field(fname.strip(), arrow_type(ftype.strip())))
    return pa.struct(fields)


def arrow_type(name: str) -> pa.DataType:
    if name in ARROW_TYPES:
        return ARROW_TYPES[name]
    nested = _nested_arrow_type(name)
    if nested is not None:
        return nested
    m = DECIMAL_RE.match(name)
    if m:
        return pa.decimal128(int(m.group(1)), int(m.group(2)))
    known = ", ".join([*ARROW_TYPES, "decimal(p,s)", "struct<a:t,...>", "list<t>", "map<k,v>"])
    raise PeerError(f"unknown column type {name!r}; known: {known}")


def _parse_datetime(v: Any, aware: bool, col: str) -> dt.datetime:
    if isinstance(v, int) and not isinstance(v, bool):  # microseconds since the epoch
        d = dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(microseconds=v)
        return d if aware else d.replace(tzinfo=None)
    if not isinstance(v, str):
        raise PeerError(f"column {col}: expected an ISO-8601 string or epoch microseconds, got {v!r}")
    d = dt.datetime.fromisoformat(v)
    if aware:
        if d.tzinfo is None:
            raise PeerError(f"column {col}: timestamp_us_utc needs a zone (e.g. a trailing Z): {v!r}")
        return d.astimezone(UTC)
    if d.tzinfo is not None:
        raise PeerError(f"column {col}: timestamp_ntz takes no zone: {v!r}")
    return d


def from_json_value(v: Any, t: pa.DataType, col: str) -> Any:
    if v is None:
        return None
    try:
        if pa.types.is_integer(t):
            if isinstance(v, bool) or not isinstance(v, (int, str)):
                raise PeerError(f"column {col}: expected an integer (number or string), got {v!r}")
            return int(v)
        if pa.types.is_floating(t):
            if isinstance(v, str):
                if v not in FLOAT_WORDS:
                    raise PeerError(f"column {col}: a float string must be NaN, Infinity or -Infinity, got {v!r}")
                return FLOAT_WORDS[v]
            return float(v)
        if pa.types.is_boolean(t):
            if not isinstance(v, bool):
                raise PeerError(f"column {col}: expected true/false, got {v!r}")
            return v
        if pa.types.is_string(t):
            if not isinstance(v, str):
                raise PeerError(f"column {col}: expected a string, got {v!r}")
            return v
        if pa.types.is_binary(t):
            return base64.b64decode(v, validate=True)
        if pa.types.is_date32(t):
            return dt.date.fromisoformat(v)
        if pa.types.is_timestamp(t):
            return _parse_datetime(v, t.tz is not None, col)
        if pa.types.is_decimal(t):
            return decimal.Decimal(str(v))
        if pa.types.is_struct(t):
            if not isinstance(v, dict) or set(v) - {t.field(i).name for i in range(t.num_fields)}:
                raise PeerError(f"column {col}: expected an object with fields of {t}, got {v!r}")
            return {f.name: from_json_value(v.get(f.name), f.type, f"{col}.{f.name}") for f in t}
        if pa.types.is_map(t):
            if not isinstance(v, list) or not all(isinstance(kv, list) and len(kv) == 2 for kv in v):
                raise PeerError(f"column {col}: a map value is an array of [key, value] pairs, got {v!r}")
            return [(from_json_value(k, t.key_type, f"{col}.key"), from_json_value(x, t.item_type, f"{col}.value")) for k, x in v]
        if pa.types.is_list(t):
            if not isinstance(v, list):
                raise PeerError(f"column {col}: expected an array, got {v!r}")
            return [from_json_value(x, t.value_type, f"{col}.element") for x in v]
    except (ValueError, TypeError, decimal.InvalidOperation) as e:
        raise PeerError(f"column {col}: cannot read {v!r} as {t}: {e}") from e
    raise PeerError(f"column {col}: unsupported type {t}")


def load_data(path: str) -> pa.Table:
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as e:
        raise PeerError(f"cannot read --data {path}: {e.strerror}") from e
    except json.JSONDecodeError as e:
        raise PeerError(f"--data {path} is not JSON: {e}") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("schema"), list) or not isinstance(doc.get("rows"), list):
        raise PeerError(f'--data {path} must be {{"schema": [{{"name", "type"}}...], "rows": [...]}}')
    fields = []
    for spec in doc["schema"]:
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not isinstance(spec.get("type"), str):
            raise PeerError(f"--data {path}: every schema entry needs a string name and type, got {spec!r}")
        fields.append(pa.field(spec["name"], arrow_type(spec["type"]), nullable=bool(spec.get("nullable", True))))
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise PeerError(f"--data {path}: duplicate column names in {names}")
    columns: list[list[Any]] = [[] for _ in fields]
    for i, row in enumerate(doc["rows"]):
        if isinstance(row, list):
            if len(row) != len(fields):
                raise PeerError(f"--data {path}: row {i} has {len(row)} values for {len(fields)} columns")
            values = row
        elif isinstance(row, dict):
            extra = set(row) - set(names)
            if extra:
                raise PeerError(f"--data {path}: row {i} has columns not in the schema: {sorted(extra)}")
            values = [row.get(n) for n in names]
        else:
            raise PeerError(f"--data {path}: row {i} must be an object or an array, got {row!r}")
        for c, (f, v) in enumerate(zip(fields, values)):
            columns[c].append(from_json_value(v, f.type, f.name))
    schema = pa.schema(fields)
    arrays = [pa.array(col, type=f.type) for col, f in zip(columns, fields)]
    return pa.Table.from_arrays(arrays, schema=schema)


def split_list(s: str | None) -> list[str]:
    return [p.strip() for p in s.split(",") if p.strip()] if s else []


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


def open_table(table_dir: str, version: int | None = None) -> DeltaTable:
    if not os.path.isdir(os.path.join(table_dir, "_delta_log")):
        raise PeerError(f"{table_dir} is not a Delta table (no _delta_log directory)")
    return DeltaTable(os.path.abspath(table_dir), version=version)


def read_arrow(t: DeltaTable) -> pa.Table:
    """The table's rows. deltalake's pyarrow reader refuses the deletionVectors reader feature, and
    on a column-mapped table it returns NULL for every column; its DataFusion scan (QueryBuilder)
    applies deletion vectors and resolves physical names, so such tables are read through it."""
    features = t.protocol().reader_features or []
    mapped = t.metadata().configuration.get("delta.columnMapping.mode", "none") in ("name", "id")
    if "deletionVectors" not in features and not mapped:
        return t.to_pyarrow_table()
    from deltalake import QueryBuilder

    return pa.table(QueryBuilder().register("t", t).execute("SELECT * FROM t").read_all())


def read_one(table_dir: str, version: int | None) -> Any:
    t = open_table(table_dir, version)
    return {
        "version": t.version(),
        "schema": json.loads(t.schema().to_json()),
        "partitionColumns": list(t.metadata().partition_columns),
        "rows": table_to_rows(read_arrow(t)),
    }


def cmd_read(a: argparse.Namespace) -> Any:
    # Several tables in one process (a list, in order): a test checking dozens of tables pays
    # Python's and deltalake's start-up once instead of once per table.
    if a.versions is not None:
        # Several versions of one table, likewise: a list, in the order given.
        if len(a.table_dir) > 1 or a.version is not None:
            raise PeerError("--versions reads one table, without --version")
        return [read_one(a.table_dir[0], v) for v in parse_versions(a.versions)]
    if len(a.table_dir) > 1:
        return [read_one(d, a.version) for d in a.table_dir]
    return read_one(a.table_dir[0], a.version)


def parse_versions(s: str) -> list[int | None]:
    """`3,latest,10` -> [3, None, 10]: version numbers, or `latest` for the newest."""
    out: list[int | None] = []
    for v in split_list(s):
        if v == "latest":
            out.append(None)
        elif re.fullmatch(r"\d+", v):
            out.append(int(v))
        else:
            raise PeerError(f"--versions: {v!r} is neither a version number nor 'latest'")
    if not out:
        raise PeerError("--versions: no version given")
    return out


def cmd_write(a: argparse.Namespace) -> Any:
    data = load_data(a.data)
    os.makedirs(a.table_dir, exist_ok=True)
    write_deltalake(
        os.path.abspath(a.table_dir),
        data,
        mode=a.mode,
        partition_by=split_list(a.partition_by) or None,
    )
    return {"version": open_table(a.table_dir).version(), "numRows": data.num_rows}


def cmd_checkpoint(a: argparse.Namespace) -> Any:
    t = open_table(a.table_dir)
    t.create_checkpoint()
    return {"version": t.version()}


def cmd_history(a: argparse.Namespace) -> Any:
    return jsonable(open_table(a.table_dir).history())


def cmd_merge(a: argparse.Namespace) -> Any:
    keys = split_list(a.on)
    if not keys:
        raise PeerError("--on needs at least one key column")
    t = open_table(a.table_dir)
    source = load_data(a.data)
    missing = [k for k in keys if k not in source.column_names]
    if missing:
        raise PeerError(f"--on columns {missing} are not in the --data schema {source.column_names}")
    predicate = " AND ".join(f'target."{k}" = source."{k}"' for k in keys)
    metrics = (
        t.merge(source, predicate, source_alias="source", target_alias="target")
        .when_matched_update_all()
        .when_not_matched_insert_all()
        .execute()
    )
    return jsonable(metrics)


def cmd_optimize(a: argparse.Namespace) -> Any:
    return jsonable(open_table(a.table_dir).optimize.compact())


def cmd_count_parquet(a: argparse.Namespace) -> Any:
    if not os.path.isdir(a.dir):
        raise PeerError(f"{a.dir} is not a directory")
    files = []
    for root, dirs, names in os.walk(a.dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith(("_", ".")))
        files += [os.path.join(root, n) for n in sorted(names) if n.endswith(".parquet") and not n.startswith(("_", "."))]
    return {"files": len(files), "rows": sum(pq.ParquetFile(f).metadata.num_rows for f in files)}


def cmd_write_parquet(a: argparse.Namespace) -> Any:
    data = load_data(a.data)
    options: dict[str, Any] = {}
    if a.timestamps == "int96":
        options["use_deprecated_int96_timestamps"] = True
    elif a.timestamps == "ms":
        options["coerce_timestamps"] = "ms"  # refuses sub-millisecond values rather than truncating
    os.makedirs(os.path.dirname(os.path.abspath(a.file)), exist_ok=True)
    pq.write_table(data, a.file, **options)
    # The leaf columns as stored, so a test can check that the file carries the physical types it wants.
    leaves = [
        {"path": c.path, "physicalType": c.physical_type, "logicalType": str(c.logical_type)}
        for c in pq.ParquetFile(a.file).schema
    ]
    return {"numRows": data.num_rows, "size": os.path.getsize(a.file), "columns": leaves}


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # usage errors exit 1 like every other failure
        self.print_usage(sys.stderr)
        print(f"deltars_peer: {message}", file=sys.stderr)
        sys.exit(1)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="deltars_peer", description="delta-rs (Python deltalake) as a JSON CLI")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    r = sub.add_parser("read", help="rows, schema and version of a table (a list of them for several)")
    r.add_argument("table_dir", nargs="+")
    r.add_argument("--version", type=int, default=None)
    r.add_argument("--versions", default=None, help="one table at several versions (N or latest, comma-separated): a list")
    r.set_defaults(run=cmd_read)

    w = sub.add_parser("write", help="write_deltalake from a JSON data file")
    w.add_argument("table_dir")
    w.add_argument("--data", required=True)
    w.add_argument("--mode", choices=["append", "overwrite", "error", "ignore"], default="append")
    w.add_argument("--partition-by", default=None)
    w.set_defaults(run=cmd_write)

    c = sub.add_parser("checkpoint", help="DeltaTable.create_checkpoint()")
    c.add_argument("table_dir")
    c.set_defaults(run=cmd_checkpoint)

    h = sub.add_parser("history", help="DeltaTable.history()")
    h.add_argument("table_dir")
    h.set_defaults(run=cmd_history)

    m = sub.add_parser("merge", help="upsert: update all when matched, insert all when not")
    m.add_argument("table_dir")
    m.add_argument("--data", required=True)
    m.add_argument("--on", required=True)
    m.set_defaults(run=cmd_merge)

    o = sub.add_parser("optimize", help="optimize.compact()")
    o.add_argument("table_dir")
    o.set_defaults(run=cmd_optimize)

    n = sub.add_parser("count-parquet", help="rows in the parquet files under a directory")
    n.add_argument("dir")
    n.set_defaults(run=cmd_count_parquet)

    pw = sub.add_parser("write-parquet", help="one plain Parquet file, optionally with INT96 or millisecond timestamps")
    pw.add_argument("file")
    pw.add_argument("--data", required=True)
    pw.add_argument("--timestamps", choices=["us", "int96", "ms"], default="us")
    pw.set_defaults(run=cmd_write_parquet)
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        out = args.run(args)
    except PeerError as e:
        print(f"deltars_peer {args.command}: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # deltalake / pyarrow errors: keep their message, drop the traceback
        print(f"deltars_peer {args.command}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    # UTF-8 whatever the locale says: the reader (test/support/peers.ts) decodes UTF-8.
    sys.stdout.buffer.write(json.dumps(out, ensure_ascii=False, allow_nan=False).encode("utf-8") + b"\n")
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    # Not sys.exit: interpreter shutdown races pyarrow's C++ thread pool against delta-rs' Rust
    # runtime and aborts ("terminate called without an active exception", exit 134) about one run
    # in three after a successful to_pyarrow_table() (delta-rs#2184, arrow#34314). The output is
    # complete and flushed by now, so leave without running finalizers.
    os._exit(code)
