#!/usr/bin/env python3
"""binlake's apply as a PySpark job (the seed's Glue job): staging change files -> Delta tables.

It applies binlake's staging files (docs/staging.md) to the lake's Delta tables with delta-spark,
with exactly the semantics of `binlake apply` (docs/lake.md, docs/spark.md):

- LOAD files (re)build a table in one commit (`txn` version = their `after_sequence`, 0 for a first
  load; `binlake.load` = their identity); they are read by Spark in parallel (the full-load job,
  `--full-load`). A newer load (a re-load after a purged binlog, docs/lake.md "Re-loads") is
  applied before any change file that follows it; the change files before it are then skipped.
- Change files apply in staging sequence order, each table's batch in one MERGE: rows in file
  order, the last change of a key decides (I/U: the after-image, D: gone), so key moves (D of the
  old key, I of the new one) end right. Tables without a primary key keep rows as a multiset: I/U
  add a row, D removes one identical row (the latest added, else an old one).
- The commit carries Delta's `txn {appId: "binlake:<schema>.<table>", version: <sequence of the
  batch's last file>}`, the record `binlake apply` writes and reads: a file whose sequence is at or
  below the table's txn version is skipped, so binlake and this job advance a table
  interchangeably and re-running either changes nothing.
- The MySQL -> Delta type mapping is binlake's (docs/lake.md "Types").

usage (spark-submit, python3 with the delta-spark package, or an AWS Glue job):
  binlake_apply.py --staging URI --lake URI [--files K1,K2,...] [--table SCHEMA.TABLE]
                   [--full-load] [--config binlake.toml] [CSV options] [FILE ...]

  --staging URI     the staging root (a folder, file://, s3://, s3a://, hdfs://...)
  --lake URI        the lake root; a table is <lake>/<schema>/<table>
  --files K,...     staging keys (<schema>/<table>/<csv>, as `binlake trigger` hands them over)
                    or full URIs; with none, every new file of every table (or of --table)
  --table S.T       only this table
  --full-load       (re)load the tables from their LOAD files, then apply their change files
  --config FILE     take [capture] staging, [lake] path and [capture.csv] from binlake's config
  --delimiter C --null-value S --header true|false --include-op-for-full-load true|false
  --timestamp-column NAME
                    the staging CSV dialect ([capture.csv]; defaults as binlake's)
  --shuffle-partitions N
                    spark.sql.shuffle.partitions for the merge (default: 2 x cores)

Glue passes its arguments as `--name value` pairs among its own (`--JOB_NAME`, `--TempDir`, ...):
unknown ones are ignored, so the job runs there unchanged. Exit code 0 on success, 1 on failure
with one line naming the file and the fix, 2 on bad arguments.
"""
import argparse
import json
import os
import re
import sys
import time

APP = "binlake"
LOAD_RE = re.compile(r"^LOAD[0-9A-F]{8}\.csv$")
CDC_RE = re.compile(r"^\d{8}-\d{9}-(\d{10})\.csv$")


class JobError(Exception):
    """A failure the job reports in one line and exits 1 for."""


def log(msg):
    print(f"binlake_apply: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Arguments


def parse_bool(s):
    v = str(s).strip().lower()
    if v in ("true", "1", "yes", "on"):
        return True
    if v in ("false", "0", "no", "off", ""):
        return False
    raise argparse.ArgumentTypeError(f"not a boolean: {s}")


def parse_args(argv):
    p = argparse.ArgumentParser(prog="binlake_apply.py", add_help=True,
                                description="binlake's apply as a PySpark job")
    p.add_argument("--staging")
    p.add_argument("--lake")
    p.add_argument("--files", default="")
    p.add_argument("--table", default="")
    p.add_argument("--full-load", "--full_load", dest="full_load", nargs="?", const="true",
                   default="false", type=parse_bool)
    p.add_argument("--config")
    p.add_argument("--delimiter")
    p.add_argument("--null-value", "--null_value", dest="null_value")
    p.add_argument("--header", type=parse_bool)
    p.add_argument("--include-op-for-full-load", "--include_op_for_full_load",
                   dest="include_op_for_full_load", type=parse_bool)
    p.add_argument("--timestamp-column", "--timestamp_column", dest="timestamp_column")
    p.add_argument("--shuffle-partitions", "--shuffle_partitions", dest="shuffle_partitions",
                   type=int, default=0)
    p.add_argument("--warm-up", dest="warm_up", action="store_true",
                   help="start Spark with Delta once (fetches the jars) and exit")
    p.add_argument("positional", nargs="*")
    args, unknown = p.parse_known_args(argv)
    # Glue's own arguments (--JOB_NAME x, --TempDir y, ...) and anything else: ignored.
    del unknown
    dialect = {"delimiter": ",", "null_value": "", "header": False,
               "include_op_for_full_load": False, "timestamp_column": ""}
    if args.config:
        import tomllib
        with open(args.config, "rb") as f:
            cfg = tomllib.load(f)
        cap = cfg.get("capture", {})
        args.staging = args.staging or cap.get("staging")
        args.lake = args.lake or cfg.get("lake", {}).get("path")
        for k in dialect:
            if k in cap.get("csv", {}):
                dialect[k] = cap["csv"][k]
        # Relative folders are relative to the working directory, as for binlake.
    for k in dialect:
        v = getattr(args, k)
        if v is not None:
            dialect[k] = v
    if args.warm_up:
        args.dialect = dialect
        return args
    if not args.staging or not args.lake:
        p.error("--staging and --lake (or --config) are required")
    if len(dialect["delimiter"]) != 1:
        p.error("--delimiter must be one character")
    args.dialect = dialect
    files = [f for f in args.files.split(",") if f] + list(args.positional)
    args.file_list = files
    return args


# ---------------------------------------------------------------------------------------------
# Storage: the Hadoop FileSystem Spark already has (local, s3a, Glue's s3, hdfs, ...)


def to_uri(path):
    if "://" in path or path.startswith("file:"):
        return path
    return "file://" + os.path.abspath(path)


def join(*parts):
    out = parts[0].rstrip("/")
    for p in parts[1:]:
        p = p.strip("/")
        if p:
            out += "/" + p
    return out


class Fs:
    def __init__(self, spark):
        self.spark = spark
        self.jvm = spark._jvm
        self.conf = spark._jsc.hadoopConfiguration()

    def _fs(self, uri):
        path = self.jvm.org.apache.hadoop.fs.Path(uri)
        return path.getFileSystem(self.conf), path

    def exists(self, uri):
        fs, path = self._fs(uri)
        return fs.exists(path)

    def list(self, uri):
        """Names directly under uri (files and folders); [] when it does not exist."""
        fs, path = self._fs(uri)
        if not fs.exists(path):
            return []
        return sorted(st.getPath().getName() for st in fs.listStatus(path))

    def read_text(self, uri):
        fs, path = self._fs(uri)
        stream = fs.open(path)
        try:
            return self.jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
        finally:
            stream.close()


# ---------------------------------------------------------------------------------------------
# Staging: tables, files, manifests, schemas


class StagedTable:
    def __init__(self, fs, staging, schema, table):
        self.fs = fs
        self.staging = staging
        self.schema = schema
        self.table = table
        self._schemas = {}

    @property
    def name(self):
        return f"{self.schema}.{self.table}"

    @property
    def app_id(self):
        return f"binlake:{self.schema}.{self.table}"

    def folder(self):
        return join(self.staging, self.schema, self.table)

    def csv_names(self):
        return [n for n in self.fs.list(self.folder()) if LOAD_RE.match(n) or CDC_RE.match(n)]

    def manifest(self, name):
        uri = join(self.staging, "_binlake/files", self.schema, self.table, name + ".json")
        try:
            return json.loads(self.fs.read_text(uri))
        except Exception as e:  # noqa: BLE001 - py4j raises its own types
            raise JobError(f"{uri}: cannot read the manifest of {name} ({first_line(e)}); "
                           "the staging store is incomplete or was changed by hand") from None

    def table_schema(self, version):
        if version not in self._schemas:
            uri = join(self.staging, "_binlake/schemas", self.schema, self.table,
                       f"{int(version):05d}.json")
            try:
                self._schemas[version] = json.loads(self.fs.read_text(uri))
            except Exception as e:  # noqa: BLE001
                raise JobError(f"{uri}: cannot read schema version {version} of {self.name} "
                               f"({first_line(e)})") from None
        return self._schemas[version]


def first_line(e):
    s = str(e).strip().splitlines()
    return s[0][:300] if s else type(e).__name__


def staged_tables(fs, staging, only=""):
    root = join(staging, "_binlake/schemas")
    out = []
    for schema in fs.list(root):
        for table in fs.list(join(root, schema)):
            if only and only != f"{schema}.{table}":
                continue
            out.append(StagedTable(fs, staging, schema, table))
    return out


def split_key(staging, key):
    """A handed-over file -> (schema, table, csv name)."""
    k = key
    if "://" in k or k.startswith("/"):
        root = staging.rstrip("/")
        for prefix in (root, to_uri(root)):
            if k.startswith(prefix + "/"):
                k = k[len(prefix) + 1:]
                break
        else:
            raise JobError(f"{key}: not under the staging root {staging}")
    parts = k.strip("/").split("/")
    if len(parts) != 3 or not (LOAD_RE.match(parts[2]) or CDC_RE.match(parts[2])):
        raise JobError(f"{key}: not a staging CSV (<schema>/<table>/LOAD*.csv or "
                       "<time>-<sequence>.csv, docs/staging.md)")
    return parts[0], parts[1], parts[2]


# ---------------------------------------------------------------------------------------------
# Types (docs/lake.md "Types"; src/lake/types.cc MapColumn)


def base_type(mysql_type):
    t = mysql_type.strip().lower()
    m = re.match(r"^([a-z]+)\s*(?:\(([^)]*)\))?", t)
    if not m:
        return t, []
    args = []
    if m.group(2) and m.group(1) not in ("enum", "set"):
        for a in m.group(2).split(","):
            a = a.strip()
            if a.isdigit():
                args.append(int(a))
    return m.group(1), args


TEXT_TYPES = {"time", "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum",
              "set", "json"}
BINARY_TYPES = {"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "geometry",
                "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon",
                "geometrycollection"}


def lake_type(col):
    """(Spark SQL type, kind) of a staging schema column."""
    base, args = base_type(col["mysql_type"])
    u = bool(col.get("unsigned")) or "unsigned" in col["mysql_type"].lower()
    if base in ("tinyint", "bool", "boolean"):
        return ("smallint" if u else "tinyint"), "int"
    if base == "smallint":
        return ("int" if u else "smallint"), "int"
    if base == "mediumint":
        return "int", "int"
    if base in ("int", "integer"):
        return ("bigint" if u else "int"), "int"
    if base == "bigint":
        return ("decimal(20,0)" if u else "bigint"), ("decimal" if u else "int")
    if base in ("decimal", "numeric"):
        p = args[0] if args else 10
        s = args[1] if len(args) > 1 else 0
        return (f"decimal({p},{s})", "decimal") if p <= 38 else ("string", "string")
    if base == "float":
        return "float", "float"
    if base in ("double", "real"):
        return "double", "float"
    if base == "date":
        return "date", "date"
    if base == "datetime":
        return "timestamp_ntz", "datetime"
    if base == "timestamp":
        return "timestamp", "datetime"
    if base == "year":
        return "smallint", "int"
    if base == "bit":
        n = args[0] if args else 1
        return ("bigint", "int") if n < 64 else ("decimal(20,0)", "decimal")
    if base in TEXT_TYPES:
        return "string", "string"
    if base in BINARY_TYPES:
        return "binary", "binary"
    raise JobError(f"column {col['name']} of type {col['mysql_type']} has no lake type yet "
                   "(docs/lake.md \"Types\")")


def convert(F, name, col):
    """The Spark column of a staging text column, converted as binlake converts it."""
    spark_type, kind = lake_type(col)
    c = F.col(name)
    if kind == "string":
        return c
    if kind == "binary":
        return F.unhex(c)
    if kind in ("date", "datetime"):
        # Zero and invalid dates are NULL in the lake (binlake: year >= 1, a real day).
        valid = ~(c.startswith("0000") | (F.substring(c, 6, 2) == "00") |
                  (F.substring(c, 9, 2) == "00"))
        return F.when(valid, F.expr(f"try_cast(`{name}` AS {spark_type})"))
    # Integers, decimals and floats: exact, and a value that does not fit fails the job.
    return c.cast(spark_type)


class TableShape:
    """The lake columns of one schema version: names, Spark types, key."""

    def __init__(self, ts):
        self.version = int(ts["version"])
        self.columns = ts["columns"]
        self.names = [c["name"] for c in self.columns]
        self.types = [lake_type(c)[0] for c in self.columns]
        pk = sorted((c["pk_position"], c["name"]) for c in self.columns
                    if c.get("pk_position", -1) >= 0)
        self.key = [n for _, n in pk]
        self.has_pk = bool(self.key)

    def ddl(self):
        return ", ".join(f"`{n}` {t}" for n, t in zip(self.names, self.types))

    def same_lake_columns(self, other):
        if len(other.columns) != len(self.columns):
            return False
        for a, b in zip(self.columns, other.columns):
            if (a["name"] != b["name"] or a.get("pk_position", -1) != b.get("pk_position", -1)
                    or a.get("binlog_type") != b.get("binlog_type")
                    or a.get("binlog_meta") != b.get("binlog_meta")
                    or bool(a.get("unsigned")) != bool(b.get("unsigned"))
                    or lake_type(a)[0] != lake_type(b)[0]):
                return False
        return True


# ---------------------------------------------------------------------------------------------
# Reading staging CSV


def read_csv(spark, F, uris, shape, dialect, has_op):
    """A DataFrame of the files' records: _op (if any), _file, _row, then the lake columns.

    The files are parsed here, one whole file per task (files are read in parallel; _row orders
    the records of one file). Spark's own CSV reader is not exact for binlake's files: it drops
    NUL characters inside quoted multi-line fields, and with a NULL token other than the empty
    field it cannot tell the token quoted (a string) from unquoted (NULL)."""
    from pyspark.sql import types as T
    fields = []
    if has_op:
        fields.append("_op")
    if dialect["timestamp_column"]:
        fields.append("_ts")
    text_names = [f"_c{i}" for i in range(len(shape.names))]
    fields += text_names
    ship_module(spark)
    rdd = spark.sparkContext.binaryFiles(",".join(uris), minPartitions=len(uris))
    token = dialect["null_value"]
    delim = dialect["delimiter"]
    header = dialect["header"]
    width = len(fields)

    def parse(item):
        path, data = item
        out = []
        try:
            for i, rec in enumerate(parse_records(data.decode("utf-8"), delim, token)):
                if i == 0 and header:
                    continue
                if len(rec) != width:
                    raise ValueError(f"record {i + 1} has {len(rec)} fields, expected {width}")
                out.append(tuple(rec) + (path, i))
        except (ValueError, UnicodeDecodeError) as e:
            raise ValueError(f"{path}: {e}; the file is not a staging CSV of this dialect "
                             "([capture.csv], docs/staging.md)") from None
        return out

    schema = T.StructType([T.StructField(n, T.StringType(), True) for n in fields] +
                          [T.StructField("_file", T.StringType()),
                           T.StructField("_row", T.LongType())])
    df = spark.createDataFrame(rdd.flatMap(parse), schema)
    cols = []
    if has_op:
        cols.append(F.col("_op"))
    cols += [F.col("_file"), F.col("_row")]
    for tn, n, c in zip(text_names, shape.names, shape.columns):
        cols.append(convert(F, tn, c).alias(n))
    return df.select(*cols)


_FIELD_RE = {}
_SHIPPED = []


def ship_module(spark):
    """The parser runs on the executors: as a script (spark-submit, Glue) the job's functions
    travel by value; imported as a module (tests, notebooks) the module file must travel too."""
    if __name__ != "__main__" and not _SHIPPED:
        spark.sparkContext.addPyFile(os.path.abspath(__file__))
        _SHIPPED.append(True)


def parse_records(text, delim, null_token):
    """RFC 4180 records of binlake's dialect (records end with \\n; a field is quoted with \"
    doubled inside): a quoted field is always a string, an unquoted one equal to the NULL token
    is None. Each field is one match of a compiled pattern (the scanning runs in C)."""
    pat = _FIELD_RE.get(delim)
    if pat is None:
        d = re.escape(delim)
        pat = re.compile(r'"((?:[^"]*"")*[^"]*)"(' + d + r'|\n|$)|([^' + d + r'"\n]*)(' + d +
                         r'|\n|$)', re.S)
        _FIELD_RE[delim] = pat
    match = pat.match
    n = len(text)
    pos = 0
    rec = []
    while pos < n:
        m = match(text, pos)
        if m is None:
            raise ValueError(f"bad quoting at character {pos}")
        q, qend, u, uend = m.groups()
        if q is not None:
            rec.append(q.replace('""', '"') if '"' in q else q)
            end = qend
        else:
            rec.append(None if u == null_token else u)
            end = uend
        pos = m.end()
        if end != delim:  # "\n" or the end of the text: the record is complete
            yield rec
            rec = []
        elif pos >= n:  # a delimiter at the very end: one more, empty field
            rec.append(None if null_token == "" else "")
            yield rec
            rec = []
    if rec:
        yield rec


# ---------------------------------------------------------------------------------------------
# The Delta side


class Lake:
    def __init__(self, spark, fs, root):
        self.spark = spark
        self.fs = fs
        self.root = root
        self.jvm = spark._jvm

    def path(self, t):
        return join(self.root, t.schema, t.table)

    def exists(self, t):
        return self.fs.exists(join(self.path(t), "_delta_log")) and any(
            n.endswith(".json") or n.endswith(".checkpoint.parquet") or n == "_last_checkpoint"
            for n in self.fs.list(join(self.path(t), "_delta_log")))

    def snapshot(self, t):
        DeltaLog = self.jvm.org.apache.spark.sql.delta.DeltaLog
        log_ = DeltaLog.forTable(self.spark._jsparkSession, self.path(t))
        none = self.jvm.scala.Option.empty()
        try:
            return log_.update(False, none, none)
        except Exception:  # noqa: BLE001 - older/newer signatures
            return log_.update()

    def state(self, t):
        """(txn version or -1, configuration dict) of the table's newest snapshot."""
        snap = self.snapshot(t)
        v = snap.transactions().get(t.app_id)
        txn = int(v.get()) if v.isDefined() else -1
        conf = {}
        it = snap.metadata().configuration().iterator()
        while it.hasNext():
            kv = it.next()
            conf[kv._1()] = kv._2()
        return txn, conf

    def set_txn(self, t, version):
        self.spark.conf.set("spark.databricks.delta.write.txnAppId", t.app_id)
        self.spark.conf.set("spark.databricks.delta.write.txnVersion", str(version))

    def clear_txn(self):
        self.spark.conf.unset("spark.databricks.delta.write.txnAppId")
        self.spark.conf.unset("spark.databricks.delta.write.txnVersion")


class Stats:
    def __init__(self):
        self.commits = 0
        self.skipped = 0
        self.files = 0
        self.rows = 0


def load_identity(t, names):
    return "".join(t.manifest(n)["sha256"][:16] for n in names)


def staged_load(t):
    """(LOAD names, identity, after_sequence) of the table's staged full load; None without."""
    loads = sorted(n for n in t.csv_names() if LOAD_RE.match(n))
    if not loads:
        return None
    after = max(int(t.manifest(n).get("after_sequence", 0)) for n in loads)
    return loads, load_identity(t, loads), after


def newer_load_first(lake, t, newest):
    """Whether the table's staged load is newer than the lake's and a change file to apply (up to
    sequence `newest`) follows it: binlake's LoadToApply (src/lake/staged.cc)."""
    if not lake.exists(t):
        return False
    txn, conf = lake.state(t)
    if newest <= txn:
        return False
    load = staged_load(t)
    return load is not None and load[1] != conf.get("binlake.load") and load[2] < newest


def full_load(spark, F, lake, t, dialect, stats, force=False):
    """Rebuilds the table from its LOAD files in one commit (txn after_sequence, binlake.load)."""
    loads = sorted(n for n in t.csv_names() if LOAD_RE.match(n))
    if not loads:
        return False
    manifests = [t.manifest(n) for n in loads]
    versions = {int(m["schema_version"]) for m in manifests}
    if len(versions) != 1:
        raise JobError(f"{t.name}: LOAD files of several schema versions {sorted(versions)}; "
                       "re-run the full load")
    shape = TableShape(t.table_schema(versions.pop()))
    ident = load_identity(t, loads)
    after = max(int(m.get("after_sequence", 0)) for m in manifests)
    buckets = None
    txn = -1
    if lake.exists(t):
        txn, conf = lake.state(t)
        if conf.get("binlake.load") == ident and not force:
            return False
        buckets = conf.get("binlake.buckets")
        if txn > after:
            raise JobError(f"{lake.path(t)} applied change file {txn}, newer than its staged full "
                           f"load (after change file {after}), before that load: delete the lake "
                           "table and apply again")
    rows = sum(int(m.get("rows", 0)) for m in manifests)
    new_table = buckets is None
    if new_table:
        # binlake's automatic count (docs/lake.md): the smallest power of two >= 16 with at most
        # 512Ki rows per bucket; kept so that binlake takes the table over unchanged.
        b = 16
        while b < 4096 and rows > b * 512 * 1024:
            b *= 2
        buckets = str(b)
    uris = [join(t.folder(), n) for n in loads]
    df = read_csv(spark, F, [to_uri(u) if "://" not in t.staging else u for u in uris], shape,
                  dialect, has_op=dialect["include_op_for_full_load"])
    df = df.select(*[F.col(n).cast(tp).alias(n) for n, tp in zip(shape.names, shape.types)])
    props = {"binlake.buckets": buckets, "binlake.schemaVersion": str(shape.version),
             "binlake.load": ident, "delta.enableDeletionVectors": "false"}
    w = df.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
    if after > txn:
        # The load records its after_sequence (0 for a first load): the change files up to it
        # are in the load. Delta skips a write whose txnVersion is not above the table's, so a
        # re-load at the same version keeps the version without the option.
        w = w.option("txnAppId", t.app_id).option("txnVersion", str(after))
    w.save(lake.path(t))
    # DataFrameWriter options other than delta.* do not become table properties: set them in the
    # same way binlake keeps them (metaData.configuration).
    _, conf = lake.state(t)
    if any(conf.get(k) != v for k, v in props.items()):
        sets = ", ".join(f"'{k}' = '{v}'" for k, v in props.items())
        spark.sql(f"ALTER TABLE delta.`{lake.path(t)}` SET TBLPROPERTIES ({sets})")
    stats.commits += 1
    stats.files += len(loads)
    stats.rows += rows
    log(f"loaded {t.name}: {len(loads)} LOAD files, {rows} rows")
    return True


def create_empty(spark, lake, t, shape):
    from delta.tables import DeltaTable
    b = DeltaTable.createIfNotExists(spark).location(lake.path(t))
    for n, tp in zip(shape.names, shape.types):
        b = b.addColumn(n, tp)
    b = (b.property("binlake.buckets", "16").property("binlake.schemaVersion", str(shape.version))
         .property("delta.enableDeletionVectors", "false"))
    b.execute()


def apply_changes(spark, F, lake, t, names, dialect, stats):
    """Applies change files (sequence order) in one MERGE committed with the last sequence."""
    from delta.tables import DeltaTable
    from pyspark.sql import Window
    manifests = [t.manifest(n) for n in names]
    txn, conf = lake.state(t)
    todo = [(int(m["sequence"]), n, m) for n, m in zip(names, manifests)
            if int(m["sequence"]) > txn]
    stats.skipped += len(names) - len(todo)
    if not todo:
        return
    todo.sort()
    table_version = int(conf.get("binlake.schemaVersion", "0") or 0)
    if "binlake.buckets" not in conf:
        raise JobError(f"{lake.path(t)} was not written by binlake (no binlake.buckets)")
    shape = TableShape(t.table_schema(table_version))
    for _, n, m in todo:
        v = int(m["schema_version"])
        if m.get("truncate"):
            raise JobError(f"{t.name}: the table was emptied (TRUNCATE or DROP TABLE) in {n}: "
                           "the Spark job does not follow it; apply this file with "
                           "`binlake apply`, then run the job again")
        if v != table_version and not shape.same_lake_columns(TableShape(t.table_schema(v))):
            raise JobError(f"{t.name}: schema change (version {v}) in {n}: the Spark job does "
                           "not follow schema changes; apply this file with `binlake apply`, "
                           "which moves the table to the new schema, then run the job again")
    seq_of = {}
    uris = []
    for seq, n, _ in todo:
        u = join(t.folder(), n)
        u = to_uri(u) if "://" not in u else u
        uris.append(u)
        seq_of[n] = seq
    changes = read_csv(spark, F, uris, shape, dialect, has_op=True)
    seq_map = F.create_map(*[x for n, s in seq_of.items() for x in (F.lit(n), F.lit(s))])
    changes = changes.withColumn("_seq", seq_map[F.element_at(F.split("_file", "/"), -1)])
    # Parsed once: the check below and the MERGE (which reads its source twice) reuse it.
    changes = changes.localCheckpoint(eager=True)
    bad = changes.filter(~F.col("_op").isin("I", "U", "D") | F.col("_seq").isNull()).limit(1)
    bad_rows = bad.collect()
    if bad_rows:
        raise JobError(f"{bad_rows[0]['_file']}: a record with Op {bad_rows[0]['_op']!r} "
                       "(expected I, U or D); the file is not a binlake change file")
    last = max(s for s, _, _ in todo)
    path = lake.path(t)
    lake.set_txn(t, last)
    try:
        if shape.has_pk:
            merge_by_key(F, Window, DeltaTable, spark, path, shape, changes)
        else:
            merge_multiset(F, Window, spark, path, shape, changes, t, last)
    finally:
        lake.clear_txn()
    stats.commits += 1
    stats.files += len(todo)
    log(f"applied {t.name}: {len(todo)} change files up to sequence {last}")


def merge_by_key(F, Window, DeltaTable, spark, path, shape, changes):
    # The last change of each key decides (file order within the sequence order).
    w = Window.partitionBy(*[F.col(k) for k in shape.key]).orderBy(F.col("_seq").desc(),
                                                                   F.col("_row").desc())
    last = (changes.withColumn("_n", F.row_number().over(w)).filter("_n = 1")
            .drop("_n", "_file", "_row", "_seq"))
    cond = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in shape.key)
    values = {f"`{n}`": f"s.`{n}`" for n in shape.names}
    (DeltaTable.forPath(spark, path).alias("t").merge(last.alias("s"), cond)
     .whenMatchedDelete(condition="s._op = 'D'")
     .whenMatchedUpdate(condition="s._op <> 'D'", set=values)
     .whenNotMatchedInsert(condition="s._op <> 'D'", values=values)
     .execute())


def merge_multiset(F, Window, spark, path, shape, changes, t, last_seq):
    """Whole-row identity: per distinct row, a D first cancels an earlier I/U of the batch, else
    removes one old copy. With the running sum s_k of +1 (I/U) / -1 (D), old copies removed =
    max(0, -min_k s_k), copies added = s_n + removed. The table is rewritten (one commit).

    Rows compare as binlake compares them: floats by their exact value including the sign of
    zero (Spark's grouping and joins would fold -0.0 into 0.0), so FLOAT/DOUBLE columns are
    grouped and joined by their exact text and carried through as values."""
    floats = {n for n, tp in zip(shape.names, shape.types) if tp in ("float", "double")}

    def ident(df_col, n):
        c = df_col(n)
        return F.format_string("%s", c) if n in floats else c

    key_names = [f"_k{i}" for i in range(len(shape.names))]

    def with_ident(df):
        return df.select("*", *[ident(lambda n: df[f"`{n}`"], n).alias(k)
                                for n, k in zip(shape.names, key_names)])

    keys = [F.col(k) for k in key_names]
    step = F.when(F.col("_op") == "D", F.lit(-1)).otherwise(F.lit(1))
    w = (Window.partitionBy(*keys).orderBy("_seq", "_row")
         .rowsBetween(Window.unboundedPreceding, Window.currentRow))
    run = with_ident(changes).withColumn("_s", F.sum(step).over(w))
    per_row = run.groupBy(*keys).agg(
        *[F.first(F.col(f"`{n}`")).alias(n) for n in shape.names],
        F.least(F.min("_s"), F.lit(0)).alias("_min"),
        F.sum(step).alias("_total"))
    per_row = (per_row.withColumn("_remove", -F.col("_min"))
               .withColumn("_add", F.col("_total") + F.col("_remove")))
    old = with_ident(spark.read.format("delta").load(path))
    removals = per_row.filter("_remove > 0").select(
        *[F.col(k).alias("_r" + k) for k in key_names], "_remove")
    cond = [old[k].eqNullSafe(removals["_r" + k]) for k in key_names]
    joined = old.join(removals, on=cond, how="left").select(
        *[old[f"`{n}`"].alias(n) for n in shape.names], *[old[k] for k in key_names],
        removals["_remove"])
    wk = Window.partitionBy(*keys).orderBy(F.lit(1))
    cols = [F.col(f"`{n}`") for n in shape.names]
    kept = (joined.withColumn("_i", F.row_number().over(wk))
            .filter(F.col("_remove").isNull() | (F.col("_i") > F.col("_remove")))
            .select(*cols))
    added = (per_row.filter("_add > 0")
             .withColumn("_i", F.explode(F.sequence(F.lit(1), F.col("_add"))))
             .select(*cols))
    result = kept.unionByName(added)
    # The rewrite reads the table it replaces: materialize it first.
    result = result.localCheckpoint(eager=True)
    (result.write.format("delta").mode("overwrite").option("txnAppId", t.app_id)
     .option("txnVersion", str(last_seq)).save(path))


# ---------------------------------------------------------------------------------------------
# Main


def make_spark(args):
    from pyspark.sql import SparkSession
    b = (SparkSession.builder.appName("binlake_apply")
         .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
         .config("spark.sql.catalog.spark_catalog",
                 "org.apache.spark.sql.delta.catalog.DeltaCatalog")
         .config("spark.sql.session.timeZone", "UTC")
         # Timestamps as INT64 microseconds (not INT96), as binlake and delta-rs write them.
         .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
         .config("spark.databricks.delta.properties.defaults.enableDeletionVectors", "false")
         .config("spark.ui.showConsoleProgress", "false"))
    if args.shuffle_partitions > 0:
        b = b.config("spark.sql.shuffle.partitions", str(args.shuffle_partitions))
    from pyspark import SparkContext
    if SparkContext._active_spark_context is None and "SPARK_HOME" not in os.environ and \
            not os.environ.get("PYSPARK_GATEWAY_PORT"):
        # Started with plain python3: fetch the Delta jars that match the delta-spark package.
        try:
            from delta import configure_spark_with_delta_pip
            b = configure_spark_with_delta_pip(b.master(os.environ.get("SPARK_MASTER",
                                                                       "local[*]")))
        except ImportError:
            pass
    spark = b.getOrCreate()
    parts = args.shuffle_partitions
    if parts <= 0:
        parts = max(2, 2 * spark.sparkContext.defaultParallelism)
        spark.conf.set("spark.sql.shuffle.partitions", str(parts))
    # The Delta log's state is rebuilt in this many tasks (default 50: slow for small logs).
    spark.conf.set("spark.databricks.delta.snapshotPartitions", str(parts))
    spark.sparkContext.setLogLevel(os.environ.get("BINLAKE_SPARK_LOG_LEVEL", "WARN"))
    return spark


def run(args):
    spark = make_spark(args)
    from pyspark.sql import functions as F
    fs = Fs(spark)
    staging = args.staging.rstrip("/")
    lake = Lake(spark, fs, args.lake.rstrip("/"))
    stats = Stats()
    # Which tables, and for each the newest file asked for (or every file).
    asked = {}
    if args.file_list:
        for key in args.file_list:
            schema, table, name = split_key(staging, key)
            asked.setdefault((schema, table), []).append(name)
        tables = [StagedTable(fs, staging, s, t) for (s, t) in asked]
    else:
        tables = staged_tables(fs, staging, args.table)
        if args.table and not tables:
            raise JobError(f"{args.table}: no such table in {staging}/_binlake/schemas")
    started = time.time()
    for t in tables:
        names = t.csv_names()
        wanted = asked.get((t.schema, t.table))
        load_asked = args.full_load or (wanted and any(LOAD_RE.match(n) for n in wanted))
        if not load_asked:
            asked_cdc = [int(CDC_RE.match(n).group(1)) for n in (wanted or names) if CDC_RE.match(n)]
            load_asked = bool(asked_cdc) and newer_load_first(lake, t, max(asked_cdc))
        if load_asked or not lake.exists(t):
            loaded = full_load(spark, F, lake, t, args.dialect, stats, force=False)
            if not loaded and not lake.exists(t):
                cdc = [n for n in names if CDC_RE.match(n)]
                if not cdc:
                    continue
                m = t.manifest(cdc[0])
                create_empty(spark, lake, t, TableShape(t.table_schema(int(m["schema_version"]))))
        cdc = sorted((n for n in names if CDC_RE.match(n)),
                     key=lambda n: int(CDC_RE.match(n).group(1)))
        if wanted:
            newest = max((int(CDC_RE.match(n).group(1)) for n in wanted if CDC_RE.match(n)),
                         default=-1)
            for n in wanted:
                if CDC_RE.match(n) and n not in names:
                    raise JobError(f"{join(t.folder(), n)}: no such staging file")
            cdc = [n for n in cdc if int(CDC_RE.match(n).group(1)) <= newest]
        if cdc:
            apply_changes(spark, F, lake, t, cdc, args.dialect, stats)
    print(json.dumps({"commits": stats.commits, "files": stats.files, "skipped": stats.skipped,
                      "load_rows": stats.rows, "seconds": round(time.time() - started, 3)}),
          flush=True)
    return 0


def warm_up(args):
    import tempfile
    spark = make_spark(args)
    with tempfile.TemporaryDirectory() as d:
        spark.range(3).write.format("delta").save(os.path.join(d, "t"))
        n = spark.read.format("delta").load(os.path.join(d, "t")).count()
    print(json.dumps({"warm_up": n == 3, "spark": spark.version}), flush=True)
    return 0 if n == 3 else 1


def main(argv):
    args = parse_args(argv)
    try:
        if args.warm_up:
            return warm_up(args)
        return run(args)
    except JobError as e:
        log(str(e))
        return 1
    except Exception as e:  # noqa: BLE001 - Spark/py4j errors: one line, then exit 1
        log(f"failed: {first_line(e)}")
        if os.environ.get("BINLAKE_SPARK_TRACEBACK"):
            raise
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
