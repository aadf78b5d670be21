"""The README's Spark recipe, runnable: the listings as an RDD of JSON lines piped through the
`relist` binary on every executor, the exported index shipped with `SparkContext.addFile`.

    relist index export index.tar.gz
    python examples/spark_pipe.py --archive index.tar.gz --catalog fixtures/catalog.jsonl --out hits

Spark puts shipped files in each executor's working directory on a cluster (YARN, Kubernetes),
where the command finds `index.tar.gz`; in local mode the executors work in the driver's
directory, so run this from the directory that holds the archive (the tests do). Each task
imports the archive once per working directory, into a directory of its own that it then
renames, so that two tasks starting together on one executor never unpack into the same place.
PySpark runs the command with only the environment it is given: PATH is passed on, so `relist`
must be on it (or give --relist). Tested with PySpark 4.3.0 (from PyPI) in local mode on
OpenJDK 17.
"""

import argparse
import os
import shutil

from pyspark.sql import SparkSession

# The README's command: import once (atomically), then sweep stdin to stdout.
COMMAND = (
    "sh -c 'test -f idx/manifest.json || { relist --index idx.$$ index import index.tar.gz >&2 "
    "&& { mv -T idx.$$ idx 2>/dev/null || rm -rf idx.$$; }; }; "
    "relist --index idx sweep - --out - --quiet'"
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archive", required=True, help="relist index export's file")
    ap.add_argument("--catalog", required=True, help="listings, JSON Lines")
    ap.add_argument("--out", required=True, help="directory of the result lines")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--relist", help="the relist binary (default: `relist` on PATH)")
    args = ap.parse_args()

    if os.path.basename(args.archive) != "index.tar.gz":
        ap.error("the command looks for index.tar.gz: name the archive so")
    env = {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")}
    if args.relist:
        env["PATH"] = os.path.dirname(os.path.abspath(args.relist)) + os.pathsep + env["PATH"]
    elif not shutil.which("relist"):
        ap.error("no `relist` on PATH; give --relist")

    spark = (SparkSession.builder.master(args.master).appName("relist-pipe")
             .config("spark.ui.enabled", "false").getOrCreate())
    sc = spark.sparkContext
    sc.addFile(os.path.abspath(args.archive))          # the recipe's "hdfs:///relist/index.tar.gz"
    hits = sc.textFile(os.path.abspath(args.catalog)).pipe(COMMAND, env=env, checkCode=True)
    hits.saveAsTextFile(os.path.abspath(args.out))
    spark.stop()


if __name__ == "__main__":
    main()
