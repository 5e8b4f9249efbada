"""Spark reads the tables scripts/spark-check/make-tables.ts wrote and compares what it sees with
what lakelet saw (expected.json): every version's row count and key sum, the latest version's
non-NULL count per column and aggregates over nested fields, and the change data feed of the
column-mapped table. Then Spark deletes by deletion vector in one table and writes what it now
reads into spark-after.json, for lakelet to read back (verify-spark-write.ts).

    python read_with_spark.py <dir>      # exit 1 when Spark and lakelet disagree
"""
import json
import sys

from delta import configure_spark_with_delta_pip
from pyspark.sql import SparkSession


def session() -> SparkSession:
    builder = (
        SparkSession.builder.master("local[2]")
        .appName("lakelet-spark-check")
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        # Loopback only: the driver binds nothing else.
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
    )
    spark = configure_spark_with_delta_pip(builder).getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def main(root: str) -> int:
    spark = session()
    expected = json.load(open(f"{root}/expected.json"))
    problems = []
    checked = 0
    for name, want in expected.items():
        path = f"{root}/{name}"
        for v in want["versions"]:
            df = spark.read.format("delta").option("versionAsOf", v["version"]).load(path)
            got = df.selectExpr("count(*) AS n", "coalesce(sum(id), 0) AS s").collect()[0]
            checked += 1
            if (got.n, int(got.s)) != (v["n"], v["sum"]):
                problems.append(f"{name} v{v['version']}: Spark {got.n} rows, key sum {got.s}; lakelet {v['n']}, {v['sum']}")
        df = spark.read.format("delta").load(path)
        exprs = [f"count(`{c}`) AS `c{i}`" for i, c in enumerate(want["latest"])] + [f"CAST({e} AS BIGINT) AS `x{i}`" for i, e in enumerate(want["nested"])]
        row = df.selectExpr(*exprs).collect()[0]
        for i, (c, n) in enumerate(want["latest"].items()):
            if row[f"c{i}"] != n:
                problems.append(f"{name}: column {c} has {row[f'c{i}']} non-NULL values in Spark, {n} in lakelet")
        for i, (e, n) in enumerate(want["nested"].items()):
            if row[f"x{i}"] != n:
                problems.append(f"{name}: {e} is {row[f'x{i}']} in Spark, {n} in lakelet")
    # The change data feed of the mapped table: a DELETE of every 4th row (750), then a MERGE that
    # updates 75 rows and inserts 125 (make-tables.ts).
    feed = {r["_change_type"]: r["count"] for r in spark.read.format("delta").option("readChangeFeed", "true").option("startingVersion", 1).load(f"{root}/mapped").groupBy("_change_type").count().collect()}
    if feed != {"delete": 750, "update_preimage": 75, "update_postimage": 75, "insert": 125}:
        problems.append(f"mapped: Spark's change data feed is {feed}")
    # Spark writes on top of lakelet's DVs; lakelet reads the result back.
    spark.sql(f"DELETE FROM delta.`{root}/ops` WHERE id % 11 = 0")
    after = spark.read.format("delta").load(f"{root}/ops").selectExpr("count(*) AS n", "sum(id) AS s").collect()[0]
    json.dump({"ops": {"n": after.n, "sum": int(after.s)}}, open(f"{root}/spark-after.json", "w"))
    for p in problems:
        print(f"MISMATCH {p}")
    print(f"Spark read {checked} versions of {len(expected)} lakelet tables: {len(problems)} mismatch(es)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
