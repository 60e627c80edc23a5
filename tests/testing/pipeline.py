"""Helpers for the tests that run the whole pipeline (`binlake run`) against the test MariaDB and
read the lake back with an independent reader (delta-rs, the `deltalake` package).

- `TestServer`: the CTest MariaDB fixture (BINLAKE_TEST_MYSQL_PORT / BINLAKE_TEST_MYSQL_DIR).
- `write_config`: a `binlake run` TOML config (docs/config.md).
- `wait_caught_up`: the capture checkpoint has reached SHOW MASTER STATUS and every lake table's
  Delta txn version equals the sequence of its newest staged change file (docs/lake.md, "Layout
  and commits"; docs/staging.md, "Layout").
- `columns`, `source_rows`, `lake_rows`, `diff_rows`: both sides' rows in one normalized form that
  follows docs/lake.md "Types" (zero dates -> None, TIME -> its canonical text, BIGINT UNSIGNED and
  BIT -> int, TIMESTAMP -> naive UTC, DECIMAL -> its exact text, FLOAT -> the float32 value, ...).
"""
import atexit
import collections
import configparser
import datetime
import json
import os
import re
import subprocess
import time

import pymysql
from deltalake import DeltaTable


_children = []


def _kill_children():
    for p in _children:
        if p.poll() is None:
            p.kill()
            p.wait()


atexit.register(_kill_children)


def spawn(args, **kwargs):
    """Popen for a binlake process that is killed when the test exits however it exits (an
    exception included), so no orphan keeps ctest's output pipe open."""
    p = subprocess.Popen(args, **kwargs)
    _children.append(p)
    return p


# ---- S3 (a private SeaweedFS with bucket notifications, read back with boto3 and delta-rs)

SOURCE_DIR = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))


class S3Server:
    """A private SeaweedFS (scripts/s3server.sh) whose filer posts every new object to
    `notify_url` (the trigger's listener): the S3 tests' staging and lake live in its bucket."""

    def __init__(self, directory, port, bucket="binlake-pipeline", notify_url=None):
        self.dir, self.port, self.bucket = directory, port, bucket
        self.endpoint = f"http://127.0.0.1:{port}"
        env = dict(os.environ)
        if notify_url:
            env["S3_NOTIFY_URL"] = notify_url
        subprocess.run([os.path.join(SOURCE_DIR, "scripts", "s3server.sh"), "start", directory,
                        str(port), bucket], check=True, env=env, stdout=subprocess.DEVNULL)
        self.credentials_file = os.path.join(directory, "credentials")
        cp = configparser.ConfigParser()
        cp.read(self.credentials_file)
        self.key_id = cp["binlake"]["aws_access_key_id"]
        self.secret = cp["binlake"]["aws_secret_access_key"]
        import boto3  # noqa: PLC0415 - only the S3 tests need it
        from botocore.config import Config  # noqa: PLC0415
        self.client = boto3.client(
            "s3", endpoint_url=self.endpoint, aws_access_key_id=self.key_id,
            aws_secret_access_key=self.secret, region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 10}))
        # delta-rs's object store (conditional put is not needed to read)
        self.storage_options = {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": self.key_id,
                                "AWS_SECRET_ACCESS_KEY": self.secret, "AWS_REGION": "us-east-1",
                                "AWS_ALLOW_HTTP": "true"}
        _use_s3(self)
        atexit.register(self.stop)  # an exception must not leave the server running

    def env(self):
        """The environment binlake reads its keys from (the shared credentials file, 0600)."""
        e = dict(os.environ)
        e.update({"AWS_SHARED_CREDENTIALS_FILE": self.credentials_file, "AWS_PROFILE": "binlake",
                  "AWS_REGION": "us-east-1"})
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            e.pop(k, None)
        return e

    def config_section(self):
        return f'[s3]\nendpoint = "{self.endpoint}"\nregion = "us-east-1"\n'

    def uri(self, prefix):
        return f"s3://{self.bucket}/{prefix}"

    def stop(self):
        subprocess.run([os.path.join(SOURCE_DIR, "scripts", "s3server.sh"), "stop", self.dir,
                        str(self.port)], check=False, stdout=subprocess.DEVNULL)


class Placement:
    """Where a pipeline test keeps staging and lake: folders under `tmp`, or, with
    BINLAKE_TEST_PIPELINE_S3_PORT, a private SeaweedFS whose bucket notifications drive the
    trigger (its listing only every 10 s as the safety net). `env`: binlake's environment (None:
    this one); `extra` / `lake_extra`: config text for write_config."""

    def __init__(self, tmp, schema, label):
        self.s3, self.env, self.extra, self.lake_extra = None, None, "", ""
        self.staging, self.lake = os.path.join(tmp, "staging"), os.path.join(tmp, "lake")
        port = os.environ.get("BINLAKE_TEST_PIPELINE_S3_PORT")
        if not port:
            return
        port = int(port)
        self.s3 = S3Server(os.path.join(tmp, "s3"), port,
                           notify_url=f"http://127.0.0.1:{port + 18}/")
        self.staging, self.lake = self.s3.uri(f"{schema}/staging"), self.s3.uri(f"{schema}/lake")
        self.env, self.extra = self.s3.env(), self.s3.config_section()
        self.lake_extra = f'notify_listen = "127.0.0.1:{port + 18}"\ntrigger_poll_ms = 10000\n'
        print(f"{label}: staging {self.staging}, lake {self.lake}, trigger by bucket notifications",
              flush=True)


_s3 = None


def _use_s3(server):
    global _s3
    _s3 = server


def _split(uri):
    """s3://bucket/key -> (bucket, key)."""
    rest = uri[len("s3://"):]
    bucket, _, key = rest.partition("/")
    return bucket, key


def read_text(path):
    """A staging/lake object's text (a local path or s3:// URI); None when absent."""
    if path.startswith("s3://"):
        bucket, key = _split(path)
        try:
            return _s3.client.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
        except _s3.client.exceptions.NoSuchKey:
            return None
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def list_names(folder):
    """The names directly in a folder (a local path or s3:// prefix); [] when absent."""
    if folder.startswith("s3://"):
        bucket, key = _split(folder.rstrip("/") + "/")
        names = []
        for page in _s3.client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=key, Delimiter="/"):
            names += [o["Key"][len(key):] for o in page.get("Contents", [])]
            names += [p["Prefix"][len(key):].rstrip("/") for p in page.get("CommonPrefixes", [])]
        return names
    try:
        return os.listdir(folder)
    except OSError:
        return []


def join(*parts):
    return "/".join(p.rstrip("/") for p in parts)


class TestServer:
    """The MariaDB the CTest fixture started (scripts/mariadb.sh), from the environment."""

    def __init__(self):
        self.port = int(os.environ["BINLAKE_TEST_MYSQL_PORT"])
        self.dir = os.environ["BINLAKE_TEST_MYSQL_DIR"]
        self.sock = os.path.join(self.dir, "mariadb.sock")
        self.password_file = os.path.join(self.dir, "password")
        os.chmod(self.password_file, 0o600)  # binlake refuses a readable password file

    def connect(self, database=None, autocommit=True, time_zone="+00:00", sql_mode=None):
        return connect(self.sock, database, autocommit, time_zone, sql_mode)


def connect(sock, database=None, autocommit=True, time_zone="+00:00", sql_mode=None):
    """A root connection in utf8mb4; TIMESTAMPs read in `time_zone` (UTC: as the lake has them)."""
    init = [f"SET time_zone = '{time_zone}'"]
    if sql_mode is not None:
        init.append(f"SET sql_mode = '{sql_mode}'")
    c = pymysql.connect(unix_socket=sock, user="root", database=database, autocommit=autocommit,
                        charset="utf8mb4")
    with c.cursor() as cur:
        for q in init:
            cur.execute(q)
    return c


def write_config(path, *, port, password_file, server_id, staging, lake, include,
                 interval_ms=200, buckets=4, heartbeat_ms=100, source_extra="", lake_extra="",
                 csv=None, extra=""):
    """Writes a `binlake run` config: the test server, one staging folder, one lake; `csv`: the
    [capture.csv] keys (docs/config.md), e.g. {"delimiter": "|", "header": True}."""
    includes = ", ".join(f'"{i}"' for i in include)
    csv_section = "".join(f"{k} = {json.dumps(v)}\n" for k, v in (csv or {}).items())
    with open(path, "w") as f:
        f.write(f"""[source]
port = {port}
user = "binlake"
password_file = "{password_file}"
server_id = {server_id}
heartbeat_ms = {heartbeat_ms}
{source_extra}
[capture]
staging = "{staging}"
include = [{includes}]
min_retention_hours = 0

[capture.csv]
{csv_section}
[capture.flush]
interval_ms = {interval_ms}

[lake]
path = "{lake}"
buckets = {buckets}
{lake_extra}
{extra}""")
    return path


# ---- catching up

def master_position(cur):
    cur.execute("SHOW MASTER STATUS")
    row = cur.fetchone()
    return row[0], int(row[1])


def checkpoint_position(staging):
    """(binlog file, pos) the capture resumes from; None before its first checkpoint."""
    try:
        p = json.loads(read_text(join(staging, "_binlake", "checkpoint.json")) or "")["position"]
    except (ValueError, KeyError):
        return None
    return p["file"], int(p["pos"])


CHANGE_FILE = re.compile(r"^\d{8}-\d{9}-(\d{10})\.csv$")


def staged_sequences(staging, schema, table):
    """Sequences of the table's staged change files, ascending."""
    names = list_names(join(staging, schema, table))
    return sorted(int(m.group(1)) for m in map(CHANGE_FILE.match, names) if m)


def staged_load(staging, schema, table):
    """(identity, after_sequence) of the table's LOAD files as the lake records them
    (`binlake.load`, docs/lake.md "Re-loads"); None without LOAD files, (None, 0) while they are
    being replaced."""
    names = sorted(n for n in list_names(join(staging, schema, table))
                   if n.startswith("LOAD") and n.endswith(".csv"))
    ident, after = "", 0
    for n in names:
        try:
            m = json.loads(read_text(join(staging, "_binlake", "files", schema, table,
                                          n + ".json")) or "")
        except ValueError:
            return None, 0
        ident += m["sha256"][:16]
        after = max(after, int(m.get("after_sequence", 0)))
    return (ident, after) if names else None


class Lake:
    """The lake's tables of one schema, read with delta-rs; DeltaTable objects are kept and
    brought up to date incrementally (a long test would otherwise replay the log every time)."""

    def __init__(self, root, schema):
        self.root, self.schema = root, schema
        self.tables = {}

    def path(self, table):
        return join(self.root, self.schema, table)

    def table(self, table):
        """The DeltaTable at its newest version; None while the table does not exist."""
        dt = self.tables.get(table)
        if dt is None:
            if not any(n.endswith(".json") for n in list_names(join(self.path(table), "_delta_log"))):
                return None
            try:
                if self.path(table).startswith("s3://"):
                    dt = DeltaTable(self.path(table), storage_options=_s3.storage_options)
                else:
                    dt = DeltaTable(self.path(table))
            except Exception:  # noqa: BLE001 - the first commit is being written
                return None
            self.tables[table] = dt
        else:
            dt.update_incremental()
        return dt

    def load_id(self, table):
        """The identity of the LOAD files the table was built from (`binlake.load`); None."""
        dt = self.table(table)
        return None if dt is None else dt.metadata().configuration.get("binlake.load")

    def txn_version(self, table):
        """The staging sequence the table's newest apply commit recorded; -1 without a table."""
        dt = self.table(table)
        if dt is None:
            return -1
        v = dt.transaction_version(f"binlake:{self.schema}.{table}")
        return -1 if v is None else v


def wait_caught_up(cur, staging, lake, tables, timeout=60, target=None):
    """True once everything committed up to `target` (default: SHOW MASTER STATUS now) is in the
    lake: the checkpoint has reached it, and each table has the staged full load (its identity)
    and a txn version equal to its newest staged change file's sequence, or to the load's
    after_sequence when that is newer (0 for a first full load)."""
    target = target or master_position(cur)
    deadline = time.time() + timeout
    while time.time() < deadline:
        cp = checkpoint_position(staging)
        if cp is not None and cp >= target:
            break
        time.sleep(0.02)
    else:
        return False
    while time.time() < deadline:
        behind = False
        for t in tables:
            seqs = staged_sequences(staging, lake.schema, t)
            want = seqs[-1] if seqs else None
            load = staged_load(staging, lake.schema, t)
            if load is not None:
                want = max(want or 0, load[1])
                if lake.load_id(t) != load[0]:
                    behind = True
                    break
            if want is not None and lake.txn_version(t) != want:
                behind = True
                break
        if not behind:
            return True
        time.sleep(0.02)
    return False


# ---- rows on both sides, normalized (docs/lake.md "Types")

Column = collections.namedtuple("Column", "name data_type column_type unsigned precision scale "
                                          "fsp key")

INTS = {"tinyint", "smallint", "mediumint", "int", "bigint", "year", "bit"}
STRINGS = {"char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set", "json"}
BINARIES = {"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "geometry",
            "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon",
            "geometrycollection"}


def columns(cur, schema, table):
    """The table's columns in order, from information_schema."""
    cur.execute("SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, NUMERIC_PRECISION, NUMERIC_SCALE, "
                "DATETIME_PRECISION, COLUMN_KEY FROM information_schema.COLUMNS "
                "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
                (schema, table))
    out = []
    for name, dtype, ctype, prec, scale, fsp, key in cur.fetchall():
        out.append(Column(name, dtype.lower(), ctype.lower(), "unsigned" in ctype.lower(),
                          prec, scale, fsp or 0, key == "PRI"))
    return out


def key_indexes(cols):
    """Indexes of the primary key columns ([]: no key, rows compare as a multiset)."""
    return [i for i, c in enumerate(cols) if c.key]


def select_list(cols):
    # pymysql reads FLOAT from its text, which MariaDB prints with 6 digits; the exact float32
    # value comes back through DOUBLE.
    return ", ".join(f"CAST(`{c.name}` AS DOUBLE)" if c.data_type == "float" else f"`{c.name}`"
                     for c in cols)


def time_text(td, fsp):
    """A TIME as binlake's canonical text: [-]HH:MM:SS[.f*fsp] (HHH past 99 hours)."""
    micros = td.days * 86400000000 + td.seconds * 1000000 + td.microseconds
    sign = "-" if micros < 0 else ""
    micros = abs(micros)
    secs, frac = divmod(micros, 1000000)
    text = f"{sign}{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
    if fsp:
        text += "." + f"{frac:06d}"[:fsp]
    return text


def norm_source(c, v):
    if v is None:
        return None
    t = c.data_type
    if t == "bit":
        return int.from_bytes(v, "big")
    if t in INTS:
        return int(v)
    if t == "decimal":
        return format(v, "f")
    if t in ("float", "double"):
        return float(v)
    if t in ("date", "datetime", "timestamp"):
        # pymysql gives a str for what Python cannot hold: zero dates, zero parts, year 0.
        return None if isinstance(v, str) else v
    if t == "time":
        return time_text(v, c.fsp)
    if t in BINARIES:
        return bytes(v)
    return v


def norm_lake(c, v):
    if v is None:
        return None
    t = c.data_type
    if t in INTS:
        return int(v)  # BIGINT UNSIGNED and BIT(64) are decimal(20,0)
    if t == "decimal":
        return v if isinstance(v, str) else format(v, "f")  # p > 38: the exact text
    if t == "timestamp":
        if v.tzinfo is None:
            raise AssertionError(f"column {c.name}: a TIMESTAMP without a time zone in the lake")
        return v.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    if t in BINARIES:
        return bytes(v)
    return v


def source_rows(cur, schema, table, cols):
    cur.execute(f"SELECT {select_list(cols)} FROM `{schema}`.`{table}`")
    return [tuple(norm_source(c, v) for c, v in zip(cols, r)) for r in cur.fetchall()]


def lake_table_rows(dt, cols):
    """Normalized rows of a DeltaTable (None: no table), columns in `cols` order."""
    if dt is None:
        return None
    data = dt.to_pyarrow_table()
    names = [c.name for c in cols]
    if sorted(data.column_names) != sorted(names):
        raise AssertionError(f"lake columns {data.column_names} != source columns {names}")
    lists = [data.column(n).to_pylist() for n in names]
    return [tuple(norm_lake(c, v) for c, v in zip(cols, vals)) for vals in zip(*lists)]


def lake_rows(lake, table, cols):
    return lake_table_rows(lake.table(table), cols)


def expected_types(c):
    """(Delta type, Arrow type as pyarrow prints it) that docs/lake.md "Types" gives a column."""
    t, u = c.data_type, c.unsigned
    dec20 = ("decimal(20,0)", "decimal128(20, 0)")
    simple = {"tinyint": ("short", "int16") if u else ("byte", "int8"),
              "smallint": ("integer", "int32") if u else ("short", "int16"),
              "mediumint": ("integer", "int32"),
              "int": ("long", "int64") if u else ("integer", "int32"),
              "bigint": dec20 if u else ("long", "int64"),
              "float": ("float", "float"), "double": ("double", "double"),
              "date": ("date", "date32[day]"), "datetime": ("timestamp_ntz", "timestamp[us]"),
              "timestamp": ("timestamp", "timestamp[us, tz=UTC]"), "time": ("string", "string"),
              "year": ("short", "int16")}
    if t in simple:
        return simple[t]
    if t == "decimal":
        if c.precision <= 38:
            return f"decimal({c.precision},{c.scale})", f"decimal128({c.precision}, {c.scale})"
        return "string", "string"
    if t == "bit":
        n = int(re.search(r"\((\d+)\)", c.column_type).group(1))
        return ("long", "int64") if n < 64 else dec20
    if t in STRINGS:
        return "string", "string"
    if t in BINARIES:
        return "binary", "binary"
    raise AssertionError(f"column {c.name}: no lake type for {c.column_type}")


def schema_problems(dt, cols):
    """Columns whose Delta or Arrow type in the lake is not the one docs/lake.md gives."""
    delta = {f["name"]: f["type"] for f in json.loads(dt.schema().to_json())["fields"]}
    arrow = {f.name: str(f.type) for f in dt.to_pyarrow_table().schema}
    aliases = {"string_view": "string", "large_string": "string", "binary_view": "binary",
               "large_binary": "binary"}
    out = []
    for c in cols:
        want = expected_types(c)
        got = (delta.get(c.name), aliases.get(arrow.get(c.name), arrow.get(c.name)))
        if got != want:
            out.append(f"{c.name} ({c.column_type}): lake {got}, docs/lake.md {want}")
    return out


def _order(row):
    return tuple((v is not None, type(v).__name__, v if v is not None else 0) for v in row)


def diff_rows(source, lake, cols, limit=5):
    """Differences between the two sides' rows (lists of normalized tuples): a list of lines, empty
    when equal. With a primary key rows pair up by key; without one they compare as multisets."""
    if lake is None:
        # A table empty at the full load has no LOAD file: its lake table starts with its first
        # change file.
        return [f"no lake table (source has {len(source)} rows)"] if source else []
    key = key_indexes(cols)
    names = [c.name for c in cols]
    out = []
    if key:
        s = {tuple(r[i] for i in key): r for r in source}
        lk = {tuple(r[i] for i in key): r for r in lake}
        if len(lk) != len(lake):
            out.append(f"the lake has {len(lake) - len(lk)} rows with a duplicate key")
        for k in sorted(set(s) | set(lk), key=_order):
            if s.get(k) == lk.get(k):
                continue
            if k not in lk:
                out.append(f"key {k}: missing in the lake; source {s[k]}")
            elif k not in s:
                out.append(f"key {k}: not in the source; lake {lk[k]}")
            else:
                cells = [f"{n}: source {a!r} lake {b!r}" for n, a, b in zip(names, s[k], lk[k])
                         if a != b]
                out.append(f"key {k}: " + "; ".join(cells))
    else:
        s, lk = collections.Counter(source), collections.Counter(lake)
        for r in sorted(set(s) | set(lk), key=_order):
            if s[r] != lk[r]:
                out.append(f"row {r}: {s[r]} in the source, {lk[r]} in the lake")
    return out[:limit] + ([f"... {len(out) - limit} more"] if len(out) > limit else [])


def compare_tables(cur, lake, cols):
    """Every table of `cols` ({table: columns}): (source rows compared, ["table: difference"])."""
    rows, problems = 0, []
    for t, c in cols.items():
        src = source_rows(cur, lake.schema, t, c)
        rows += len(src)
        problems += [f"{t}: {line}" for line in diff_rows(src, lake_rows(lake, t, c), c)]
    return rows, problems
