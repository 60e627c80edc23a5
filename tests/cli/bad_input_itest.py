#!/usr/bin/env python3
"""The bad-input suite (issue 7): corrupt or truncated binlogs, corrupt staging files, a damaged
lake log or data file, bad configs, wrong passwords and missing privileges, a full disk. Each case
starts from a good baseline (staging files and a lake made by `binlake apply`), breaks exactly one
thing, runs the real `binlake` command and asserts: a non-zero exit, one stderr line with the
expected text (the file, offset or object, and the fix), and a lake unchanged byte for byte (every
file hashed, and the Delta version delta-rs reads).

usage: bad_input_itest.py BINLAKE [NAME-PART]   (only the cases whose name contains NAME-PART;
       the server cases use the CTest MariaDB fixture: BINLAKE_TEST_MYSQL_PORT / _DIR)
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

import deltalake

BINLAKE = os.path.abspath(sys.argv[1])
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testing"))
import staged_files  # noqa: E402
from staged_files import row  # noqa: E402
SOURCE_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BINLOGS = os.path.join(SOURCE_DIR, "tests", "data", "binlogs")

TABLE_DIR = os.path.join("staging", "db", "t")
MANIFEST_DIR = os.path.join("staging", "_binlake", "files", "db", "t")
C2 = "20240101-000003000-0000000004.csv"  # the change file most cases break (sequence 4)


# ---- staging files (docs/staging.md), written as the capture writes them

def write_staged(root, name, kind, seq, data, table="t", manifest=True):
    return staged_files.write_staged(os.path.join(root, "staging"), name, kind, seq, data, table,
                                     manifest)


def write_schema(root, table="t"):
    staged_files.write_schema(os.path.join(root, "staging"), table)


def run(args, cwd, env=None, timeout=60):
    p = subprocess.run([BINLAKE] + args, capture_output=True, text=True, cwd=cwd, env=env,
                       timeout=timeout)
    return p.returncode, p.stderr


def apply_args(extra=()):
    return ["apply", "--lake", "ROOT/lake", "--staging", "ROOT/staging", *extra]


def make_baseline(root):
    """staging: schema, LOAD (20 rows), change files 1-3 and the good next one (4, not applied);
    the lake: LOAD and 1-3 applied, 4 buckets, a checkpoint every 2 versions (versions 0-3, a
    checkpoint at 2)."""
    write_schema(root)
    staged = [
        write_staged(root, "LOAD00000001.csv", "load", 1, [row(i) for i in range(1, 21)]),
        write_staged(root, "20240101-000000000-0000000001.csv", "cdc", 1,
                     ["U," + row(3, "three"), "D," + row(4)]),
        write_staged(root, "20240101-000001000-0000000002.csv", "cdc", 2, ["I," + row(21, "x")]),
        write_staged(root, "20240101-000002000-0000000003.csv", "cdc", 3, ["D," + row(6)]),
    ]
    with open(os.path.join(root, "cp2.toml"), "w") as f:
        f.write(f'[source]\nserver_id = 4242\n[capture]\nstaging = "{root}/staging"\n'
                f'[lake]\npath = "{root}/lake"\nbuckets = 4\ncheckpoint_interval = 2\n')
    for f in staged:
        rc, err = run(["apply", "--config", "cp2.toml", os.path.relpath(f, root)], root)
        assert rc == 0, err
    write_staged(root, C2, "cdc", 4, ["I," + row(22, "y"), "U," + row(5, "five")])


# ---- the lake fingerprint: every file's bytes, and the version delta-rs reads

def fingerprint(root):
    lake = os.path.join(root, "lake")
    files = staged_files.tree_hashes(lake)
    try:
        version = deltalake.DeltaTable(os.path.join(lake, "db", "t")).version()
    except Exception as e:  # noqa: BLE001 - a broken lake is a case too: its error must stay
        version = "unreadable: " + type(e).__name__
    return files, version


# ---- binlog surgery (19-byte v4 headers; MariaDB's sample has CRC32 checksums)

def events(data):
    out, p = [], 4
    while p + 19 <= len(data):
        etype, size = data[p + 4], struct.unpack_from("<I", data, p + 9)[0]
        out.append((p, etype, size))
        p += size
    return out


def find_event(data, etype, nth=0):
    return [e for e in events(data) if e[1] == etype][nth]


def recrc(data, p, size):
    """Re-signs the event at p after an edit, so only the edit is wrong, not the checksum."""
    body = bytes(data[p:p + size - 4])
    struct.pack_into("<I", data, p + size - 4, zlib.crc32(body) & 0xFFFFFFFF)


def binlog_case(edit):
    """Copies the MariaDB sample binlog to <root>/bad.000001 with `edit(bytearray)` applied."""
    def corrupt(root):
        with open(os.path.join(BINLOGS, "mariadb-bin.000001"), "rb") as f:
            data = bytearray(f.read())
        data = edit(data)
        with open(os.path.join(root, "bad.000001"), "wb") as f:
            f.write(data)
    return corrupt


def b_truncate_header(d):
    return d[:4 + 10]


def b_truncate_body(d):
    p, _, size = find_event(d, 23)
    return d[:p + size // 2]


def b_bad_crc(d):
    p, _, size = find_event(d, 23)
    d[p + 25] ^= 0xFF
    return d


def b_size_past_eof(d):
    p, _, size = find_event(d, 23, 1)
    struct.pack_into("<I", d, p + 9, 4000)
    recrc(d, p, size)
    return d


def b_size_too_small(d):
    p, _, _ = find_event(d, 23)
    struct.pack_into("<I", d, p + 9, 7)
    return d


def b_unknown_type(d):
    p, _, size = find_event(d, 23)
    d[p + 4] = 0x7E
    recrc(d, p, size)
    return d


def b_unknown_column_type(d):
    p, _, size = find_event(d, 19)
    # post-header: table id (6), flags (2); body: db len+name+0, table len+name+0, column count,
    # column types
    q = p + 19 + 8
    q += 1 + d[q] + 1
    q += 1 + d[q] + 1
    q += 1  # column count (< 251: one byte)
    d[q] = 0x88  # no such MYSQL_TYPE
    recrc(d, p, size)
    return d


def b_no_table_map(d):
    p, _, size = find_event(d, 23)
    d[p + 19] ^= 0x55  # the rows event's table id: a table never mapped
    recrc(d, p, size)
    return d


def b_no_fde(d):
    p, _, size = find_event(d, 15)
    return d[:p] + d[p + size:]


def b_garbled_fde(d):
    p, _, size = find_event(d, 15)
    struct.pack_into("<H", d, p + 19, 9)  # binlog version 9
    recrc(d, p, size)
    return d


# ---- staging corruptions: each writes C2 (sequence 3) broken in one way

def c2_records(records, manifest=True):
    def corrupt(root):
        write_staged(root, C2, "cdc", 4, records, manifest=manifest)
    return corrupt


def c2_bytes(data):
    return c2_records(data)


def c2_truncated_partial(root):
    p = os.path.join(root, TABLE_DIR, C2)
    with open(p, "rb") as f:
        data = f.read()
    with open(p, "wb") as f:
        f.write(data[:len(data) - 7])


def c2_sha_mismatch(root):
    p = os.path.join(root, TABLE_DIR, C2)
    with open(p, "rb") as f:
        data = bytearray(f.read())
    data[data.index(b"y")] = ord("z")
    with open(p, "wb") as f:
        f.write(data)


def c2_missing_manifest(root):
    os.remove(os.path.join(root, MANIFEST_DIR, C2 + ".json"))


def c2_manifest_not_json(root):
    with open(os.path.join(root, MANIFEST_DIR, C2 + ".json"), "w") as f:
        f.write('{"name": "' + C2 + '", "sequence": 3,\n')


def c2_manifest_other_table(root):
    p = os.path.join(root, MANIFEST_DIR, C2 + ".json")
    with open(p) as f:
        m = json.load(f)
    m["table"] = "other"
    with open(p, "w") as f:
        json.dump(m, f, indent=2)


def c2_manifest_sequence(root):
    p = os.path.join(root, MANIFEST_DIR, C2 + ".json")
    with open(p) as f:
        m = json.load(f)
    m["sequence"] = 3
    with open(p, "w") as f:
        json.dump(m, f, indent=2)


def unknown_table(root):
    write_staged(root, C2, "cdc", 4, ["I," + row(1)], table="nosuch")


def schema_corrupt(root):
    with open(os.path.join(root, "staging", "_binlake", "schemas", "db", "t", "00001.json"),
              "w") as f:
        f.write('{"schema": "db", "table": "t", "version": 1, "columns": [')


# ---- lake corruptions

def delta_log(root, version):
    return os.path.join(root, "lake", "db", "t", "_delta_log", "%020d.json" % version)


def lake_log_not_json(root):
    with open(delta_log(root, 3), "w") as f:
        f.write("this is not json\n")


def lake_unknown_action(root):
    with open(delta_log(root, 3), "a") as f:
        f.write('{"add": 5}\n')


def lake_gap(root):
    os.remove(delta_log(root, 1))
    os.remove(os.path.join(root, "lake", "db", "t", "_delta_log", "_last_checkpoint"))
    os.remove(os.path.join(root, "lake", "db", "t", "_delta_log",
                           "%020d.checkpoint.parquet" % 2))


def bucket_of(key, buckets=4):
    """docs/lake.md: FNV-1a 64 of the key text, mod the bucket count."""
    h = 1469598103934665603
    for c in key.encode():
        h = ((h ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h % buckets


def active_file(root):
    """The active data file of the bucket key 5 is in: C2 updates key 5, so the apply reads it."""
    dt = deltalake.DeltaTable(os.path.join(root, "lake", "db", "t"))
    want = "bucket=%04d/" % bucket_of("5")
    return next(u for u in dt.file_uris() if want in u).removeprefix("file://")


def lake_missing_parquet(root):
    os.remove(active_file(root))


def lake_truncated_parquet(root):
    p = active_file(root)
    with open(p, "rb") as f:
        data = f.read()
    with open(p, "wb") as f:
        f.write(data[:len(data) // 2])


def lake_checkpoint_missing(root):
    """_last_checkpoint names version 2's checkpoint, which is gone, as is the JSON log up to it."""
    log = os.path.join(root, "lake", "db", "t", "_delta_log")
    os.remove(os.path.join(log, "%020d.checkpoint.parquet" % 2))
    for v in (0, 1, 2):
        os.remove(delta_log(root, v))


def lake_checkpoint_corrupt(root):
    log = os.path.join(root, "lake", "db", "t", "_delta_log")
    with open(os.path.join(log, "%020d.checkpoint.parquet" % 2), "wb") as f:
        f.write(b"PAR1 not a parquet file PAR1")
    for v in (0, 1):
        os.remove(delta_log(root, v))


def lake_not_binlake(root):
    """A table at lake/db/t written by delta-rs, with other columns."""
    import pyarrow as pa  # noqa: PLC0415
    shutil.rmtree(os.path.join(root, "lake", "db", "t"))
    deltalake.write_deltalake(os.path.join(root, "lake", "db", "t"),
                              pa.table({"id": pa.array([1], pa.int32()),
                                        "other": pa.array(["a"])}))


def lake_deletion_vectors(root):
    with open(delta_log(root, 3), "w") as f:
        f.write(json.dumps({"protocol": {"minReaderVersion": 3, "minWriterVersion": 7,
                                         "readerFeatures": ["deletionVectors"],
                                         "writerFeatures": ["deletionVectors"]}}) + "\n")


CLEANUPS = []  # run after each case (unmounts, proxies)


class EARLIER(str):
    """Expected in a line the command prints by design before the final one: preflight problems
    (`binlake: error: ...`) or progress (`binlake: streaming changes from ...`)."""


BY_DESIGN = ("binlake: error: ", "binlake: streaming changes from ")


def full_disk(root):
    """The lake on a 4 MiB tmpfs filled to the last byte (ENOSPC on the apply's first write)."""
    lake = os.path.join(root, "lake")
    shutil.move(lake, lake + ".orig")
    os.makedirs(lake)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", lake],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise SkipCase("cannot mount a tmpfs (" + p.stderr.strip() + ")")
    CLEANUPS.append(lambda: subprocess.run(["umount", lake], check=True))
    shutil.copytree(lake + ".orig", lake, dirs_exist_ok=True)
    shutil.rmtree(lake + ".orig")
    try:
        with open(os.path.join(lake, "filler"), "wb") as f:
            while True:
                f.write(b"\0" * 4096)
                f.flush()
    except OSError:
        pass


class SkipCase(Exception):
    pass


# ---- configs

def write_file(name, text, mode=None):
    def corrupt(root):
        p = os.path.join(root, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text.replace("ROOT", root))
        if mode is not None:
            os.chmod(p, mode)
    return corrupt


def both(*fns):
    def corrupt(root):
        for f in fns:
            f(root)
    return corrupt


GOOD_CONFIG = ('[source]\nserver_id = 4242\n[capture]\nstaging = "ROOT/staging"\n'
               '[lake]\npath = "ROOT/lake"\n')


# ---- the cases: (name, corrupt(root), command args, expected texts in the one stderr line)

C2_PATH = os.path.join(TABLE_DIR, C2)


def bad_c2(name, record, text):
    """A case: C2 holds `record` (str: one record; bytes: the whole file), `binlake apply` of it
    fails naming the file, `text` and the fix."""
    corrupt = c2_bytes(record) if isinstance(record, bytes) else c2_records([record])
    return (name, corrupt, apply_args([C2_PATH]), [C2, text, "re-capture the table"])

BAD = "bad.000001"
CASES = [
    # binlog files (binlake binlog-dump)
    ("binlog: bad magic", write_file(BAD, "GIF89a not a binlog"), ["binlog-dump", BAD],
     [BAD]),
    ("binlog: zero-length file", write_file(BAD, ""), ["binlog-dump", BAD], [BAD]),
    ("binlog: truncated header", binlog_case(b_truncate_header), ["binlog-dump", BAD], [BAD]),
    ("binlog: truncated event body", binlog_case(b_truncate_body), ["binlog-dump", BAD], [BAD]),
    ("binlog: bad CRC32", binlog_case(b_bad_crc), ["binlog-dump", BAD], [BAD]),
    ("binlog: event_size past EOF", binlog_case(b_size_past_eof), ["binlog-dump", BAD], [BAD]),
    ("binlog: event_size below the header", binlog_case(b_size_too_small),
     ["binlog-dump", BAD], [BAD]),
    ("binlog: unknown event type", binlog_case(b_unknown_type), ["binlog-dump", BAD], [BAD]),
    ("binlog: unknown column type in a TABLE_MAP", binlog_case(b_unknown_column_type),
     ["binlog-dump", BAD], [BAD]),
    ("binlog: rows event without its TABLE_MAP", binlog_case(b_no_table_map),
     ["binlog-dump", BAD], [BAD]),
    ("binlog: FORMAT_DESCRIPTION missing", binlog_case(b_no_fde), ["binlog-dump", BAD], [BAD]),
    ("binlog: FORMAT_DESCRIPTION garbled", binlog_case(b_garbled_fde), ["binlog-dump", BAD],
     [BAD]),
    ("binlog: missing file", lambda root: None, ["binlog-dump", "nosuch.000001"],
     ["nosuch.000001"]),
    # staging change files (binlake apply): C2 holding one bad record, its manifest matching
    bad_c2("csv: unterminated quote", b'I,22,1.00,,,,"abc\n', "CSV line 1: unterminated quote"),
    bad_c2("csv: too few columns", "I,22,1.00", "CSV line 1: 3 fields, expected 7"),
    bad_c2("csv: too many columns", "I," + row(22) + ",extra", "CSV line 1: 8 fields, expected 7"),
    bad_c2("csv: bad Op field", "X," + row(22), ":1: the Op field is not I, U or D"),
    bad_c2("csv: quote inside an unquoted field", 'I,22,1.00,,,,ab"c',
           "CSV line 1: quote inside an unquoted field"),
    bad_c2("csv: text after a closing quote", b'I,22,1.00,,,,"abc"x\n',
           "CSV line 1: text after a closing quote"),
    bad_c2("csv: non-numeric INT", "I,2x2,1.00,,,,",
           ":1: column id: value '2x2' is not a valid integer"),
    bad_c2("csv: INT out of range", "I,99999999999,1.00,,,,",
           "column id: value '99999999999' is not a valid integer"),
    bad_c2("csv: BIGINT UNSIGNED out of range", "I,22,1.00,,18446744073709551616,,",
           "column big: value '18446744073709551616' is out of the BIGINT UNSIGNED range"),
    bad_c2("csv: negative BIGINT UNSIGNED", "I,22,1.00,,-1,,",
           "value '-1' is out of the BIGINT UNSIGNED range"),
    bad_c2("csv: bad DATETIME", "I,22,1.00,yesterday,,,",
           "column at: value 'yesterday' is not a valid timestamp_ntz"),
    bad_c2("csv: bad DECIMAL", "I,22,1.2.3,,,,",
           "column amount: value '1.2.3' is not a valid decimal(10,2)"),
    bad_c2("csv: DECIMAL too many digits", "I,22,123456789012.00,,,,",
           "value '123456789012.00' is not a valid decimal(10,2)"),
    bad_c2("csv: bad hex in VARBINARY", "I,22,1.00,,,ZZ,",
           "column raw: value 'ZZ' is not a valid binary"),
    bad_c2("csv: invalid UTF-8 in VARCHAR", b"I,22,1.00,,,,\xff\xfe\n",
           "column name: value 'FFFE' (hex) is not valid UTF-8"),
    bad_c2("csv: NULL primary key", "I,,1.00,,,,", "column id: NULL in the primary key"),
    ("staging: file shorter than its manifest", c2_truncated_partial, apply_args([C2_PATH]),
     [C2 + ": 130 bytes", "manifest says 137 bytes", "restore it"]),
    ("staging: sha256 differs from its manifest", c2_sha_mismatch, apply_args([C2_PATH]),
     [C2 + ": 137 bytes", "manifest says 137 bytes, sha256", "partial or altered"]),
    ("staging: missing manifest", c2_missing_manifest, apply_args([C2_PATH]),
     [C2 + ".json does not exist", "restore its manifest"]),
    ("staging: manifest not JSON", c2_manifest_not_json, apply_args([C2_PATH]),
     [C2 + ".json: not a valid binlake record", "restore it from a backup"]),
    ("staging: manifest of another table", c2_manifest_other_table, apply_args([C2_PATH]),
     [C2 + ".json describes db.other", "restore the file's own manifest"]),
    ("staging: manifest sequence differs from the name", c2_manifest_sequence,
     apply_args([C2_PATH]), [C2, "sequence 3 but the file name says 4"]),
    ("staging: file of an unknown table", unknown_table,
     apply_args([os.path.join("staging", "db", "nosuch", C2)]),
     ["no schema version 1 of db.nosuch", "binlake capture"]),
    ("staging: schema JSON corrupt", schema_corrupt, apply_args([C2_PATH]),
     ["schemas/db/t/00001.json: not a valid binlake record", "restore it from a backup"]),
    ("staging: not a staging file name", write_file(os.path.join(TABLE_DIR, "notes.csv"), "x\n"),
     apply_args([os.path.join(TABLE_DIR, "notes.csv")]),
     ["notes.csv.json does not exist", "restore its manifest"]),
    ("staging: missing file", lambda root: None,
     apply_args([os.path.join(TABLE_DIR, "20240101-000009000-0000000009.csv")]),
     ["0000000009.csv.json does not exist"]),
    # the lake (binlake apply of the good C2)
    ("lake: _delta_log entry not JSON", lake_log_not_json, apply_args([C2_PATH]),
     ["_delta_log/00000000000000000003.json: a line is not a JSON action", "restore the file"]),
    ("lake: unknown action shape", lake_unknown_action, apply_args([C2_PATH]),
     ["_delta_log/00000000000000000003.json: the add action is not an object",
      "restore the file"]),
    ("lake: a missing log version", lake_gap, apply_args([C2_PATH]),
     ["_delta_log/00000000000000000001.json is missing but version 2 exists",
      "restore the file"]),
    ("lake: a data file the log names (and the apply reads) is missing", lake_missing_parquet,
     apply_args([C2_PATH]),
     [".parquet does not exist", "restore it from a backup"]),
    ("lake: truncated Parquet file", lake_truncated_parquet, apply_args([C2_PATH]),
     [".parquet: ", "restore the file from a backup"]),
    ("lake: _last_checkpoint names a missing checkpoint", lake_checkpoint_missing,
     apply_args([C2_PATH]),
     ["00000000000000000002.checkpoint.parquet does not exist", "restore the missing log files"]),
    ("lake: corrupt checkpoint, no JSON log before it", lake_checkpoint_corrupt,
     apply_args([C2_PATH]),
     ["00000000000000000002.checkpoint.parquet: Invalid", "restore the missing log files"]),
    ("lake: a table not written by binlake", lake_not_binlake, apply_args([C2_PATH]),
     ["lake/db/t", "move that table away"]),
    ("lake: a reader feature binlake lacks", lake_deletion_vectors, apply_args([C2_PATH]),
     ["needs the Delta reader feature \"deletionVectors\""]),
    ("lake: a full disk", full_disk, apply_args([C2_PATH]),
     ["cannot write", "No space left on device", "free space"]),
    # configs (binlake apply --config)
    ("config: unknown key", write_file("c.toml", GOOD_CONFIG + "bukkets = 4\n"),
     ["apply", "--config", "c.toml", C2_PATH], ["c.toml", "bukkets"]),
    ("config: wrong type", write_file("c.toml", GOOD_CONFIG + 'buckets = "four"\n'),
     ["apply", "--config", "c.toml", C2_PATH], ["c.toml", "buckets"]),
    ("config: TOML syntax error", write_file("c.toml", GOOD_CONFIG + "buckets = = 4\n"),
     ["apply", "--config", "c.toml", C2_PATH], ["c.toml"]),
    ("config: missing config file", lambda root: None,
     ["apply", "--config", "nosuch.toml", C2_PATH], ["nosuch.toml"]),
    ("config: password file mode 0644",
     both(write_file("pw", "secret\n", 0o644),
          write_file("c.toml",
                     GOOD_CONFIG.replace("[capture]", 'password_file = "pw"\n[capture]'))),
     ["apply", "--config", "c.toml", C2_PATH], ["pw", "chmod 600"]),
    ("config: missing password file",
     write_file("c.toml", GOOD_CONFIG.replace("[capture]", 'password_file = "nopw"\n[capture]')),
     ["apply", "--config", "c.toml", C2_PATH], ["nopw"]),
    ("config: bad S3 URI", write_file("c.toml", GOOD_CONFIG.replace('path = "ROOT/lake"',
                                                                     'path = "s3://"')),
     ["apply", "--config", "c.toml", C2_PATH], ["s3://"]),
]


# ---- the server cases (the CTest MariaDB fixture)

def server_config(port, password_file, user="binlake", host="127.0.0.1"):
    return write_file("s.toml", f"""[source]
host = "{host}"
port = {port}
user = "{user}"
password_file = "{password_file}"
server_id = 4242
connect_timeout_s = 3
read_timeout_s = 3
max_reconnect_attempts = 1
[capture]
staging = "ROOT/staging"
include = ["badinput.*"]
min_retention_hours = 0
[lake]
path = "ROOT/lake"
""")


class CuttingProxy:
    """A TCP proxy to the server that drops both sides once `limit` bytes of a binlog dump
    (after the client's COM_BINLOG_DUMP) have passed: a connection lost mid-transaction, on
    every reconnect too."""

    def __init__(self, port, limit):
        import socket  # noqa: PLC0415
        import threading  # noqa: PLC0415
        self.port, self.limit, self.socket = port, limit, socket
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listen_port = self.listener.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        import threading  # noqa: PLC0415
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = self.socket.create_connection(("127.0.0.1", self.port))
            state = {"dump": False, "sent": 0}
            threading.Thread(target=self.pump, args=(client, server, state, True),
                             daemon=True).start()
            threading.Thread(target=self.pump, args=(server, client, state, False),
                             daemon=True).start()

    def pump(self, src, dst, state, upstream):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if upstream and len(data) > 4 and data[4] == 0x12:  # COM_BINLOG_DUMP
                    state["dump"] = True
                if not upstream and state["dump"]:
                    room = self.limit - state["sent"]
                    data = data[:max(room, 0)]
                    state["sent"] += len(data)
                    if data:
                        dst.sendall(data)
                    if state["sent"] >= self.limit:
                        break
                    continue
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.shutdown(self.socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def close(self):
        self.listener.close()


def lost_connection_case(server, pw):
    """`binlake capture` from just before a 300-row transaction, through a proxy that cuts the
    binlog stream in the middle of it."""
    c = server.connect()
    with c.cursor() as cur:
        cur.execute("SHOW MASTER STATUS")
        binlog_file, binlog_pos = cur.fetchone()[:2]
        cur.execute("BEGIN")
        for i in range(300):
            cur.execute("INSERT INTO badinput.k VALUES (%s)", (i + 1000000,))
        cur.execute("COMMIT")
        cur.execute("DELETE FROM badinput.k")
    c.close()

    def corrupt(root):
        proxy = CuttingProxy(server.port, 1500)
        CLEANUPS.append(proxy.close)
        server_config(proxy.listen_port, pw)(root)
        p = os.path.join(root, "s.toml")
        with open(p) as f:
            text = f.read()
        with open(p, "w") as f:
            f.write(text.replace('staging = "' + root + '/staging"',
                                 'staging = "' + root + '/staging2"'))
    return ("server: connection lost in the middle of a transaction", corrupt,
            ["capture", "--config", "s.toml", "--skip-preflight", "--migration-type", "cdc",
             "--from", f"{binlog_file}:{binlog_pos}"],
            ["giving up after 1 reconnect attempts without progress", "binlog stream lost at",
             "check the server and the network"])


def server_cases():
    if "BINLAKE_TEST_MYSQL_PORT" not in os.environ:
        print("bad_input: no BINLAKE_TEST_MYSQL_PORT: the server cases are skipped")
        return []
    from pipeline import TestServer  # noqa: PLC0415 - only these cases need the server
    server = TestServer()
    c = server.connect()
    with c.cursor() as cur:
        cur.execute("CREATE DATABASE IF NOT EXISTS badinput")
        cur.execute("CREATE TABLE IF NOT EXISTS badinput.k (id INT PRIMARY KEY)")
        for host in ("%", "localhost"):
            cur.execute(f"CREATE OR REPLACE USER 'bl_nopriv'@'{host}' IDENTIFIED BY 'nopriv-pw'")
            cur.execute(f"GRANT SELECT ON *.* TO 'bl_nopriv'@'{host}'")
    c.close()
    port = server.port
    pw = server.password_file

    def pw_file(name, text):
        return write_file(name, text, 0o600)

    cfg = server_config(port, "ROOT/wrong.pw")
    return [
        ("server: wrong password", both(pw_file("wrong.pw", "not-the-password\n"), cfg),
         ["check", "--config", "s.toml"],
         ["127.0.0.1:%d" % port, "access denied for user 'binlake'", "password_file"]),
        # the preflight prints one line per problem by design, then the final line
        ("server: user without the replication privileges",
         both(pw_file("nopriv.pw", "nopriv-pw\n"),
              server_config(port, "ROOT/nopriv.pw", user="bl_nopriv")),
         ["capture", "--config", "s.toml"],
         ["preflight failed", EARLIER("GRANT REPLICATION SLAVE ON *.* TO 'bl_nopriv'@'%'")]),
        lost_connection_case(server, pw),
        ("server: connection refused", server_config(1, pw), ["check", "--config", "s.toml"],
         ["127.0.0.1:1"]),
        ("server: unknown host", server_config(port, pw, host="no-such-host.invalid"),
         ["check", "--config", "s.toml"], ["no-such-host.invalid"]),
        ("verify: a lake table whose log is not JSON",
         both(server_config(port, pw),
              write_file(os.path.join("lake", "badinput", "k", "_delta_log",
                                      "00000000000000000000.json"), "not json\n")),
         ["verify", "--config", "s.toml"],
         ["badinput/k/_delta_log/00000000000000000000.json: a line is not a JSON action",
          "restore the file"]),
        # (C2, the one staged file not applied yet, is taken away: the trigger would apply it)
        ("run: checkpoint JSON corrupt",
         both(server_config(port, pw), c2_missing_manifest,
              lambda root: os.remove(os.path.join(root, C2_PATH)),
              write_file(os.path.join("staging", "_binlake", "checkpoint.json"), "[1, 2")),
         ["run", "--config", "s.toml"],
         ["_binlake/checkpoint.json: not a valid binlake record", "restore it from a backup"]),
        ("config: server_id missing (binlake check)",
         write_file("s.toml", f'[source]\nport = {port}\n[capture]\nstaging = "ROOT/staging"\n'),
         ["check", "--config", "s.toml"], ["s.toml", "server_id"]),
        ("staging: checkpoint JSON corrupt",
         both(server_config(port, pw),
              write_file(os.path.join("staging", "_binlake", "checkpoint.json"), '{"position": ')),
         ["capture", "--config", "s.toml", "--skip-preflight"],
         ["_binlake/checkpoint.json: not a valid binlake record", "restore it from a backup"]),
    ]


def check_case(name, corrupt, args, expect, base, tmp, env=None):
    root = os.path.join(tmp, "case")
    if os.path.exists(root):
        shutil.rmtree(root)
    shutil.copytree(base, root, symlinks=True)
    try:
        try:
            corrupt(root)
        except SkipCase as e:
            print(f"{name}: skipped: {e}")
            return None
        before = fingerprint(root)
        rc, err = run([a.replace("ROOT", root) for a in args], root, env)
        after = fingerprint(root)
    finally:
        while CLEANUPS:
            CLEANUPS.pop()()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    problems = []
    if rc == 0:
        problems.append("exit 0")
    if len(lines) != 1 and not all(ln.startswith(BY_DESIGN) for ln in lines[:-1]):
        problems.append(f"{len(lines)} stderr lines, want one")
    last = lines[-1] if lines else ""
    for e in expect:
        where = "\n".join(lines[:-1]) if isinstance(e, EARLIER) else last
        if e not in where:
            problems.append(f"no {e!r} in the error")
    if before != after:
        changed = sorted(set(before[0].items()) ^ set(after[0].items()))
        problems.append(f"the lake changed: version {before[1]} -> {after[1]}, files {changed}")
    status = "ok" if not problems else "FAIL (" + "; ".join(problems) + ")"
    print(f"{name}: exit {rc}: {err.strip()!r}: {status}", flush=True)
    return not problems


def main():
    only = sys.argv[2] if len(sys.argv) > 2 else None
    start = time.monotonic()
    passed = total = skipped = 0
    with tempfile.TemporaryDirectory() as tmp:
        base = os.path.join(tmp, "base")
        os.makedirs(base)
        make_baseline(base)
        cases = CASES + server_cases()
        names = [c[0] for c in cases]
        assert len(set(names)) == len(names), "case names must be distinct"
        for name, corrupt, args, expect in cases:
            if only and only not in name:
                continue
            total += 1
            ok = check_case(name, corrupt, args, expect, base, tmp)
            passed += ok is True
            skipped += ok is None
    extra = f", {skipped} skipped" if skipped else ""
    print(f"bad_input: {total} cases, {passed} passed{extra} ({time.monotonic() - start:.1f} s)")
    sys.exit(0 if passed + skipped == total else 1)


if __name__ == "__main__":
    main()
