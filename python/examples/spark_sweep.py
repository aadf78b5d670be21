"""A catalog DataFrame swept by relist in Spark: `mapInArrow` over the Python package, the index
directory shipped to every executor with `SparkContext.addFile`.

    python examples/spark_sweep.py --index index --catalog fixtures/catalog.jsonl --out hits
    python examples/spark_sweep.py ... --master spark://host:7077      # or spark-submit it

Each task opens the index (the copy Spark shipped) once for its partition, and sweeps each Arrow
batch Spark hands it with `Index.sweep_arrow`: the batch's columns are read where they lie,
the listings decided review or block come back as rows. `--out` gets one text file per
partition holding the JSON lines `relist sweep` writes for the same listings (sorted, the two
are equal line for line: python/tests/test_spark.py holds them to it).
Tested with PySpark 4.3.0 (from PyPI) in local mode on OpenJDK 17.
"""

import argparse
import os

from pyspark import SparkFiles
from pyspark.sql import SparkSession

import relist

# The columns of Index.sweep_arrow's table, as Spark types.
RESULTS = ("listing_id string, decision string, score float, banned_id string, "
           "result string, error string")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", required=True, help="index directory (relist ingest made it)")
    ap.add_argument("--catalog", required=True, help="listings: JSON Lines (or --format)")
    ap.add_argument("--format", default="json", choices=["json", "parquet", "csv"])
    ap.add_argument("--out", required=True, help="directory of the result lines")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--all", action="store_true", help="every listing's result, as sweep --all")
    args = ap.parse_args()

    spark = (SparkSession.builder.master(args.master).appName("relist-sweep")
             .config("spark.ui.enabled", "false").getOrCreate())
    sc = spark.sparkContext
    index_dir = os.path.abspath(args.index)
    sc.addFile(index_dir, recursive=True)
    name = os.path.basename(os.path.normpath(index_dir))

    reader = spark.read.option("header", "true") if args.format == "csv" else spark.read
    catalog = reader.format(args.format).load(args.catalog)
    sweep_all = args.all

    def sweep(batches):
        # Once per partition: opening reads the index's term rules, not its records.
        index = relist.Index(SparkFiles.get(name))
        for batch in batches:
            yield from index.sweep_arrow(batch, all=sweep_all).to_batches()

    hits = catalog.mapInArrow(sweep, RESULTS)
    hits.select("result").write.mode("overwrite").text(args.out)
    spark.stop()


if __name__ == "__main__":
    main()
