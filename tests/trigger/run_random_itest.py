#!/usr/bin/env python3
"""Randomized check of the whole pipeline: random inserts, updates and deletes over several tables
while `binlake run` runs; after every phase (a few dozen transactions, most often one change file
per table) the lake tables read by delta-rs equal SELECT on the source.

usage: run_random_itest.py BINLAKE CHANGES [SEED]

- Tables: `every` (every column type binlake maps, docs/lake.md "Types"), `pair` (a composite
  primary key over SMALLINT UNSIGNED, a case-insensitive VARCHAR and BIGINT), `nokey` (no primary
  key: whole-row identity, duplicate rows), `moves` (BIGINT UNSIGNED key: key moves, shifts, swaps).
- Values: random and edge values of each type, NULLs, zero dates, emoji, bytes 0x00/0xff, JSON.
- Transactions of 1-4 statements over one or several tables; multi-row statements; key moves;
  updates that change nothing; deletes of many rows; REPLACE and ON DUPLICATE KEY UPDATE; some
  rolled back. The writer's session is in +05:30 (TIMESTAMPs must still reach the lake in UTC).
- The staging CSV dialect ([capture.csv]: delimiter, null token, header, Op in LOAD files, commit
  timestamp column) and the bucket count are drawn from the seed too; in about 3% of the phases
  `binlake run` is stopped (SIGINT) or killed (kill -9) halfway and started again.
- After each phase: wait until the checkpoint has reached SHOW MASTER STATUS and every table's Delta
  txn version is its newest staged change file's sequence, then compare every table (multiset for
  `nokey`) with the normalization of tests/testing/pipeline.py. A mismatch prints the first
  differing rows and the seed, and fails.
"""
import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

import pymysql

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testing"))
import pipeline  # noqa: E402

BINLAKE = sys.argv[1]
CHANGES = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
SEED = int(sys.argv[3]) if len(sys.argv) > 3 else int(time.time() * 1000) % 1_000_000_007
DB = "run_random_%d" % os.getpid()
TABLES = ("every", "pair", "nokey", "moves")
MAX_ROWS = {"every": 120, "pair": 200, "nokey": 150, "moves": 200}


def lit(s):
    return "'" + pymysql.converters.escape_string(s) + "'"


def hexlit(b):
    return "X'" + b.hex() + "'"


class Values:
    """Random SQL literals of each column type, edge values and NULLs included."""

    ASCII = "abcxyzABCXYZ0123456789 "
    SPECIAL = [",", '"', "'", "\\", "\n", "\r", "\t", "\x00", ";", "|", "\x1f", "%", "_"]
    UNICODE = ["ü", "é", "ß", "Ω", "中", "文", "😀", "🎉", "𝄞", "e\u0301", "€", "\u200b", "ﬁ"]
    LATIN1 = "abcXYZ019 äöüßÿéÆ€,\"'\\\n"
    WORDS = ["", "NULL", "\\N", " ", ",", '"', "a,b", "\"q\"", "null", "0"]

    def __init__(self, rng):
        self.r = rng

    def null(self, p=0.1):
        return self.r.random() < p

    def pick(self, edges, rand, p_edge=0.3):
        return self.r.choice(edges) if self.r.random() < p_edge else rand()

    def int_(self, bits, unsigned):
        lo, hi = (0, 2 ** bits - 1) if unsigned else (-2 ** (bits - 1), 2 ** (bits - 1) - 1)
        edges = [lo, hi, 0, 1] + ([] if unsigned else [-1])
        small = lambda: self.r.randint(max(lo, -1000), min(hi, 1000))  # noqa: E731
        return str(self.pick(edges, lambda: self.r.randint(lo, hi) if self.r.random() < 0.6
                             else small()))

    def decimal(self, p, s, unsigned=False):
        intd = p - s
        if self.r.random() < 0.25:
            v = self.r.choice(["max", "min", "zero", "tiny"])
            whole = "9" * intd if v in ("max", "min") else "0"
            frac = "9" * s if v in ("max", "min") else ("0" * (s - 1) + "1" if v == "tiny" else
                                                        "0" * s)
            sign = "-" if v == "min" and not unsigned else ""
            if v == "tiny" and not unsigned and self.r.random() < 0.5:
                sign = "-"
        else:
            n = self.r.randint(0, intd)
            whole = "".join(self.r.choice("0123456789") for _ in range(n)) or "0"
            frac = "".join(self.r.choice("0123456789") for _ in range(s))
            sign = "-" if not unsigned and self.r.random() < 0.4 else ""
        return lit(sign + whole + ("." + frac if s else ""))

    def float_(self):
        def rand():
            while True:
                f = struct.unpack("<f", struct.pack("<I", self.r.getrandbits(32)))[0]
                if f == f and abs(f) != float("inf"):
                    return f
        edges = [0.0, -0.0, 3.4028234663852886e38, -3.4028234663852886e38, 1.401298464324817e-45,
                 1.1754943508222875e-38, 1.0, -1.5, 16777217.0, 0.1]
        v = self.pick(edges, lambda: rand() if self.r.random() < 0.5
                      else round(self.r.uniform(-1e6, 1e6), self.r.randint(0, 6)))
        return repr(float(v))

    def double(self):
        def rand():
            while True:
                d = struct.unpack("<d", struct.pack("<Q", self.r.getrandbits(64)))[0]
                if d == d and abs(d) != float("inf"):
                    return d
        edges = [0.0, -0.0, 1.7976931348623157e308, -1.7976931348623157e308, 5e-324,
                 2.2250738585072014e-308, 0.1, -1.0, 9007199254740993.0]
        v = self.pick(edges, lambda: rand() if self.r.random() < 0.5
                      else round(self.r.uniform(-1e9, 1e9), self.r.randint(0, 9)))
        return repr(float(v))

    def _date(self):
        y = self.r.choice([self.r.randint(1000, 9999), self.r.randint(1900, 2100),
                           self.r.randint(1, 999)])
        m = self.r.randint(1, 12)
        d = self.r.randint(1, 31 if m in (1, 3, 5, 7, 8, 10, 12) else 30 if m != 2 else 28)
        return f"{y:04d}-{m:02d}-{d:02d}"

    def _frac(self, fsp):
        return "." + "".join(self.r.choice("0123456789") for _ in range(fsp)) if fsp else ""

    def date(self):
        edges = ["0000-00-00", "2024-00-15", "2024-02-00", "2024-02-29", "2023-02-30",
                 "1000-01-01", "9999-12-31", "0001-01-01", "1970-01-01"]
        return lit(self.pick(edges, self._date))

    def datetime(self, fsp):
        def rand():
            return (f"{self._date()} {self.r.randint(0, 23):02d}:{self.r.randint(0, 59):02d}:"
                    f"{self.r.randint(0, 59):02d}{self._frac(fsp)}")
        edges = ["0000-00-00 00:00:00", "2024-00-00 12:00:00", "2024-05-00 00:00:01",
                 "1000-01-01 00:00:00", "9999-12-31 23:59:59" + (".9" * (fsp > 0)) + "9" *
                 max(0, fsp - 1), "1970-01-01 00:00:00", "2024-02-29 23:59:59"]
        return lit(self.pick(edges, rand))

    def timestamp(self, fsp):
        def rand():
            t = time.gmtime(self.r.randint(86400, 2 ** 31 - 86400))  # +05:30 both ways in range
            return time.strftime("%Y-%m-%d %H:%M:%S", t) + self._frac(fsp)
        edges = ["0000-00-00 00:00:00", "1970-01-01 05:30:01", "2038-01-19 08:44:07",
                 "2000-02-29 12:00:00"]
        return lit(self.pick(edges, rand, 0.15))

    def time_(self, fsp):
        def rand():
            h = self.r.choice([self.r.randint(0, 23), self.r.randint(0, 838)])
            sign = "-" if self.r.random() < 0.4 else ""
            return (f"{sign}{h:02d}:{self.r.randint(0, 59):02d}:{self.r.randint(0, 59):02d}"
                    f"{self._frac(fsp)}")
        nines = "." + "9" * fsp if fsp else ""
        edges = ["-838:59:59" + nines, "838:59:59" + nines, "00:00:00", "-00:00:01",
                 "-00:00:00" + ("." + "0" * (fsp - 1) + "1" if fsp else ""), "100:00:00",
                 "99:59:59"]
        return lit(self.pick(edges, rand))

    def year(self):
        return str(self.pick([0, 1901, 2155, 2000], lambda: self.r.randint(1901, 2155)))

    def bit(self, n):
        return str(self.pick([0, 2 ** n - 1, 1], lambda: self.r.getrandbits(n)))

    def text(self, maxlen, pool=None):
        if self.r.random() < 0.15:
            return lit(self.r.choice(self.WORDS)[:maxlen])
        n = min(maxlen, self.r.choice([self.r.randint(0, 8), self.r.randint(0, maxlen)]))
        out = []
        for _ in range(n):
            if pool:
                out.append(self.r.choice(pool))
                continue
            k = self.r.random()
            out.append(self.r.choice(self.ASCII) if k < 0.6 else self.r.choice(self.SPECIAL)
                       if k < 0.75 else self.r.choice(self.UNICODE))
        return lit("".join(out))

    def bytes_(self, maxlen, fixed=False):
        n = maxlen if fixed and self.r.random() < 0.5 else self.r.randint(0, maxlen)
        if self.r.random() < 0.1:
            n = 0
        b = bytes(self.r.choice([0, 0xff, 0x2c, 0x22, 0x0a, self.r.getrandbits(8)])
                  for _ in range(n))
        return hexlit(b)

    def enum(self, values):
        return lit(self.r.choice(values + ["bogus"]))  # bogus: the '' error value (sql_mode='')

    def set_(self, values):
        return lit(",".join(v for v in values if self.r.random() < 0.4))

    def json_(self):
        def val(depth):
            k = self.r.random()
            if depth > 2 or k < 0.5:
                return self.r.choice([None, True, False, self.r.randint(-10 ** 12, 10 ** 12),
                                      self.r.uniform(-1e6, 1e6), 1.5e300, "", "ü😀\"\\/\n",
                                      "x" * self.r.randint(0, 40)])
            if k < 0.75:
                return [val(depth + 1) for _ in range(self.r.randint(0, 4))]
            return {self.r.choice(["a", "b", "ключ", "😀", "k k", ""]) + str(i): val(depth + 1)
                    for i in range(self.r.randint(0, 4))}
        seps = self.r.choice([(",", ":"), (", ", ": "), (" , ", " : ")])
        return lit(json.dumps(val(0), separators=seps, ensure_ascii=self.r.random() < 0.3))

    def _coord(self):
        return repr(self.pick([0.0, -1.5, 1e300, -180.0, 90.0], lambda: self.r.uniform(-1e4, 1e4)))

    def geometry(self, point_only=False):
        kind = "POINT" if point_only else self.r.choice(["POINT", "LINESTRING", "POLYGON",
                                                         "MULTIPOINT"])
        if kind == "POINT":
            wkt = f"POINT({self._coord()} {self._coord()})"
        elif kind == "LINESTRING":
            pts = ", ".join(f"{self._coord()} {self._coord()}" for _ in range(self.r.randint(2, 6)))
            wkt = f"LINESTRING({pts})"
        elif kind == "MULTIPOINT":
            pts = ", ".join(f"{self._coord()} {self._coord()}" for _ in range(self.r.randint(1, 4)))
            wkt = f"MULTIPOINT({pts})"
        else:
            x, y, s = self.r.uniform(-100, 100), self.r.uniform(-100, 100), self.r.uniform(1, 9)
            wkt = f"POLYGON(({x} {y}, {x + s} {y}, {x + s} {y + s}, {x} {y + s}, {x} {y}))"
        return f"ST_GeomFromText('{wkt}', {self.r.choice([0, 0, 4326, 3857])})"


ENUM = ["small", "medium", "large", "ü", "with space", "😀"]
SET = ["a", "b", "c", "ü", "d d"]

# Column name, SQL type, value generator (Values -> SQL literal). The first column is the key.
EVERY = [
    ("id", "INT NOT NULL PRIMARY KEY", None),
    ("ti", "TINYINT", lambda v: v.int_(8, False)),
    ("tiu", "TINYINT UNSIGNED", lambda v: v.int_(8, True)),
    ("si", "SMALLINT", lambda v: v.int_(16, False)),
    ("siu", "SMALLINT UNSIGNED", lambda v: v.int_(16, True)),
    ("mi", "MEDIUMINT", lambda v: v.int_(24, False)),
    ("miu", "MEDIUMINT UNSIGNED", lambda v: v.int_(24, True)),
    ("i", "INT", lambda v: v.int_(32, False)),
    ("iu", "INT UNSIGNED", lambda v: v.int_(32, True)),
    ("bi", "BIGINT", lambda v: v.int_(64, False)),
    ("biu", "BIGINT UNSIGNED", lambda v: v.int_(64, True)),
    ("bo", "BOOL", lambda v: v.int_(8, False) if v.r.random() < 0.2 else v.r.choice("01")),
    ("d10", "DECIMAL(10,2)", lambda v: v.decimal(10, 2)),
    ("d0", "DECIMAL(18,0)", lambda v: v.decimal(18, 0)),
    ("d38", "DECIMAL(38,10)", lambda v: v.decimal(38, 10)),
    ("d65", "DECIMAL(65,30)", lambda v: v.decimal(65, 30)),
    ("d39", "DECIMAL(39,0)", lambda v: v.decimal(39, 0)),
    ("du", "DECIMAL(20,4) UNSIGNED", lambda v: v.decimal(20, 4, True)),
    ("f", "FLOAT", lambda v: v.float_()),
    ("db", "DOUBLE", lambda v: v.double()),
    ("dt", "DATE", lambda v: v.date()),
    ("dtm0", "DATETIME", lambda v: v.datetime(0)),
    ("dtm3", "DATETIME(3)", lambda v: v.datetime(3)),
    ("dtm6", "DATETIME(6)", lambda v: v.datetime(6)),
    ("ts0", "TIMESTAMP NULL DEFAULT NULL", lambda v: v.timestamp(0)),
    ("ts6", "TIMESTAMP(6) NULL DEFAULT NULL", lambda v: v.timestamp(6)),
    ("tm0", "TIME", lambda v: v.time_(0)),
    ("tm2", "TIME(2)", lambda v: v.time_(2)),
    ("tm6", "TIME(6)", lambda v: v.time_(6)),
    ("y", "YEAR", lambda v: v.year()),
    ("b1", "BIT(1)", lambda v: v.bit(1)),
    ("b17", "BIT(17)", lambda v: v.bit(17)),
    ("b63", "BIT(63)", lambda v: v.bit(63)),
    ("b64", "BIT(64)", lambda v: v.bit(64)),
    ("c", "CHAR(10)", lambda v: v.text(10)),
    ("vc", "VARCHAR(100)", lambda v: v.text(100)),
    ("tx", "TEXT", lambda v: v.text(400 if v.r.random() < 0.9 else 5000)),
    ("lat", "VARCHAR(40) CHARACTER SET latin1", lambda v: v.text(40, Values.LATIN1)),
    ("u16", "VARCHAR(20) CHARACTER SET utf16", lambda v: v.text(20)),
    ("e", "ENUM('small','medium','large','ü','with space','😀')", lambda v: v.enum(ENUM)),
    ("s", "SET('a','b','c','ü','d d')", lambda v: v.set_(SET)),
    ("j", "JSON", lambda v: v.json_()),
    ("bn", "BINARY(8)", lambda v: v.bytes_(8, fixed=True)),
    ("vb", "VARBINARY(64)", lambda v: v.bytes_(64)),
    ("bl", "BLOB", lambda v: v.bytes_(300 if v.r.random() < 0.9 else 20000)),
    ("g", "GEOMETRY", lambda v: v.geometry()),
    ("pt", "POINT", lambda v: v.geometry(point_only=True)),
]

CODES = ["a", "A", "a ", "b", "ü", "Ü", "ß", "", "😀", "x,y", "q\"", "long-code-12"]
PAIR = [
    ("tenant", "SMALLINT UNSIGNED NOT NULL", lambda v: str(v.r.choice([0, 1, 2, 3, 65535]))),
    ("code", "VARCHAR(12) NOT NULL", lambda v: lit(v.r.choice(CODES))),
    ("seq", "BIGINT NOT NULL",
     lambda v: str(v.pick([-2 ** 63, 2 ** 63 - 1, 0, -1], lambda: v.r.randint(-50, 50)))),
    ("qty", "INT", lambda v: v.int_(32, False)),
    ("price", "DECIMAL(12,3)", lambda v: v.decimal(12, 3)),
    ("note", "VARCHAR(60)", lambda v: v.text(60)),
    ("at", "DATETIME(6)", lambda v: v.datetime(6)),
    ("flag", "BIT(3)", lambda v: v.bit(3)),
    ("raw", "VARBINARY(16)", lambda v: v.bytes_(16)),
    ("ratio", "FLOAT", lambda v: v.float_()),
]
PAIR_KEY = 3

NOKEY = [
    ("a", "INT", lambda v: str(v.r.randint(0, 5))),
    ("b", "VARCHAR(8)", lambda v: lit(v.r.choice(["x", "y", "", "ü😀", "a,b", "NULL"]))),
    ("c", "DECIMAL(6,2)", lambda v: lit(v.r.choice(["0.00", "1.50", "-9999.99"]))),
    ("d", "DATE", lambda v: lit(v.r.choice(["2024-01-01", "0000-00-00", "1999-12-31"]))),
    ("e", "VARBINARY(4)", lambda v: hexlit(v.r.choice([b"", b"\x00", b"\xff\x00", b"ab"]))),
    ("f", "DOUBLE", lambda v: v.r.choice(["0.1", "-0.0", "1e300", "3"])),
    ("g", "TIME(2)", lambda v: lit(v.r.choice(["00:00:00", "-01:02:03.45", "838:59:59.99"]))),
    ("h", "TIMESTAMP(3) NULL DEFAULT NULL",
     lambda v: lit(v.r.choice(["2001-01-01 05:30:00.5", "0000-00-00 00:00:00"]))),
]

MOVES = [
    ("id", "BIGINT UNSIGNED NOT NULL PRIMARY KEY", None),
    ("n", "INT NOT NULL", lambda v: str(v.r.randint(0, 1000))),
    ("label", "VARCHAR(20)", lambda v: v.text(20)),
]

SPECS = {"every": EVERY, "pair": PAIR, "nokey": NOKEY, "moves": MOVES}


class Workload:
    """Random transactions; `keys` are the tables' primary keys as last seen (approximate within
    a phase: a statement on a key that is gone just changes nothing)."""

    def __init__(self, rng, conn):
        self.r = rng
        self.v = Values(rng)
        self.c = conn
        self.cur = conn.cursor()
        self.keys = {}
        self.stats = {"transactions": 0, "rolled_back": 0, "failed": 0, "statements": 0,
                      "changes": 0}

    def refresh_keys(self):
        self.cur.execute("SELECT id FROM every")
        self.keys["every"] = [r[0] for r in self.cur.fetchall()]
        self.cur.execute("SELECT tenant, code, seq FROM pair")
        self.keys["pair"] = [r for r in self.cur.fetchall()]
        self.cur.execute("SELECT id FROM moves")
        self.keys["moves"] = [r[0] for r in self.cur.fetchall()]
        self.cur.execute("SELECT COUNT(*) FROM nokey")
        self.keys["nokey"] = self.cur.fetchone()[0]
        self.c.commit()

    def size(self, t):
        k = self.keys[t]
        return k if isinstance(k, int) else len(k)

    def values(self, spec, with_key=None):
        out = []
        for i, (_, _, gen) in enumerate(spec):
            if gen is None:
                out.append(str(with_key))
            elif i >= (PAIR_KEY if spec is PAIR else 0) and spec is not MOVES and self.v.null():
                out.append("NULL")
            else:
                out.append(gen(self.v))
        return "(" + ", ".join(out) + ")"

    def assignments(self, spec, first=1):
        cols = self.r.sample(spec[first:], self.r.randint(1, min(6, len(spec) - first)))
        parts = []
        for name, _, gen in cols:
            if spec is not MOVES and self.v.null():
                parts.append(f"`{name}` = NULL")
            elif self.r.random() < 0.1:
                parts.append(f"`{name}` = `{name}`")  # unchanged
            else:
                parts.append(f"`{name}` = {gen(self.v)}")
        return ", ".join(parts)

    def new_id(self, t, hi):
        while True:
            k = self.r.randint(1, hi)
            if k not in self.keys[t]:
                return k

    def pair_where(self, k):
        return f"tenant = {k[0]} AND code = {lit(k[1])} AND seq = {k[2]}"

    def statements(self, t):
        """1-3 statements on table t."""
        r, keys = self.r.random(), self.keys[t]
        full = self.size(t) >= MAX_ROWS[t]
        empty = self.size(t) < 3
        if t == "every":
            if empty or (r < 0.3 and not full):
                n = self.r.choice([1, 1, 1, 2, 5])
                ids = set()
                while len(ids) < n:
                    ids.add(self.new_id(t, 10 ** 6))
                self.keys[t] = keys + sorted(ids)
                return ["INSERT INTO every VALUES " + ", ".join(self.values(EVERY, k)
                                                                for k in sorted(ids))]
            k = self.r.choice(keys)
            if r < 0.6:
                return [f"UPDATE every SET {self.assignments(EVERY)} WHERE id = {k}"]
            if r < 0.67:
                n = self.new_id(t, 10 ** 6)
                keys[keys.index(k)] = n
                return [f"UPDATE every SET id = {n}, {self.assignments(EVERY)} WHERE id = {k}"]
            if r < 0.72:
                b = self.r.choice(keys)
                return [f"UPDATE every SET id = -1 WHERE id = {k}",
                        f"UPDATE every SET id = {k} WHERE id = {b}",
                        f"UPDATE every SET id = {b} WHERE id = -1"]  # key swap
            if r < 0.77:
                return [f"REPLACE INTO every VALUES {self.values(EVERY, k)}"]
            if r < 0.8:
                return [f"INSERT INTO every VALUES {self.values(EVERY, k)} ON DUPLICATE KEY "
                        f"UPDATE {self.assignments(EVERY)}"]
            if r < 0.84:
                return [f"UPDATE every SET vc = vc, i = i WHERE id = {k}",  # changes nothing
                        "UPDATE every SET i = 0 WHERE id < 0"]
            if r < 0.87:
                lo = self.r.randint(0, 10 ** 6)
                return [f"UPDATE every SET {self.assignments(EVERY)} WHERE id BETWEEN {lo} AND "
                        f"{lo + self.r.randint(1, 200000)}"]
            if r < 0.9 or full:
                lo = self.r.randint(0, 10 ** 6)
                return [f"DELETE FROM every WHERE id BETWEEN {lo} AND "
                        f"{lo + self.r.randint(1, 300000 if full else 30000)}"]
            keys.remove(k)
            return [f"DELETE FROM every WHERE id = {k}"]
        if t == "pair":
            if empty or (r < 0.35 and not full):
                rows = [self.values(PAIR) for _ in range(self.r.choice([1, 1, 2, 4]))]
                return [f"INSERT INTO pair VALUES {', '.join(rows)}"]
            k = self.r.choice(keys)
            if r < 0.6:
                return [f"UPDATE pair SET {self.assignments(PAIR, PAIR_KEY)} "
                        f"WHERE {self.pair_where(k)}"]
            if r < 0.75:  # key move: one, two or all key columns
                sets = [f"{n} = {g(self.v)}" for n, _, g in
                        self.r.sample(PAIR[:PAIR_KEY], self.r.randint(1, PAIR_KEY))]
                return [f"UPDATE pair SET {', '.join(sets)} WHERE {self.pair_where(k)}"]
            if r < 0.8:
                return [f"UPDATE pair SET seq = seq + 1000 WHERE tenant = {k[0]} "
                        f"AND seq BETWEEN -100 AND 100 ORDER BY seq DESC"]
            if r < 0.84:
                return [f"UPDATE pair SET qty = qty WHERE tenant = {k[0]}"]  # changes nothing
            if r < 0.88 or full:
                return [f"DELETE FROM pair WHERE tenant = {k[0]}" +
                        ("" if full else f" AND code = {lit(k[1])}")]
            return [f"DELETE FROM pair WHERE {self.pair_where(k)}"]
        if t == "nokey":
            if empty or (r < 0.4 and not full):
                row = self.values(NOKEY)
                rows = [row] * self.r.choice([1, 2, 3]) + [self.values(NOKEY)
                                                           for _ in range(self.r.randint(0, 3))]
                self.keys[t] += len(rows)
                return [f"INSERT INTO nokey VALUES {', '.join(rows)}"]
            col, _, gen = self.r.choice(NOKEY)
            where = f"`{col}` = {gen(self.v)}" if self.r.random() < 0.8 else f"`{col}` IS NULL"
            if r < 0.7:
                lim = self.r.choice([" LIMIT 1", " LIMIT 1", " LIMIT 3", ""])
                return [f"UPDATE nokey SET {self.assignments(NOKEY, 0)} WHERE {where}{lim}"]
            if r < 0.75:
                return [f"UPDATE nokey SET a = a WHERE {where}"]  # changes nothing
            lim = "" if full or self.r.random() < 0.3 else " LIMIT 1"
            return [f"DELETE FROM nokey WHERE {where}{lim}"]
        # moves: key moves, range shifts, swaps over the whole BIGINT UNSIGNED range
        big = 2 ** 64 - 1
        if empty or (r < 0.3 and not full):
            ids = {self.r.choice([self.r.randint(0, 5000), self.r.randint(0, big), big, 0])
                   for _ in range(self.r.choice([1, 3, 20]))}
            ids -= set(keys)
            if not ids:
                return []
            self.keys[t] = keys + sorted(ids)
            return ["INSERT INTO moves VALUES " + ", ".join(self.values(MOVES, k)
                                                            for k in sorted(ids))]
        k = self.r.choice(keys)
        if r < 0.5:
            n = self.r.choice([self.r.randint(0, 5000), big - self.r.randint(0, 5), 0, big])
            if n in keys:
                return []
            keys[keys.index(k)] = n
            return [f"UPDATE moves SET id = {n} WHERE id = {k}"]
        if r < 0.6:
            d = self.r.randint(1, 7)
            return [f"UPDATE moves SET id = id + {d} WHERE id < 5000 ORDER BY id DESC"]
        if r < 0.65:
            return [f"UPDATE moves SET id = id - 1 WHERE id BETWEEN 1 AND 5000 ORDER BY id"]
        if r < 0.75:
            b = self.r.choice(keys)
            tmp = 2 ** 63 + self.r.randint(0, 1000)
            if tmp in keys:
                return []
            return [f"UPDATE moves SET id = {tmp} WHERE id = {k}",
                    f"UPDATE moves SET id = {k}, n = n + 1 WHERE id = {b}",
                    f"UPDATE moves SET id = {b} WHERE id = {tmp}"]
        if r < 0.85:
            return [f"UPDATE moves SET n = n + 1, label = {self.v.text(20)} "
                    f"WHERE id BETWEEN {k} AND {k + self.r.randint(0, 10 ** 18)}"]
        if r < 0.9 or full:
            return [f"DELETE FROM moves WHERE id >= {k}" + (" LIMIT 30" if not full else "")]
        keys.remove(k)
        return [f"DELETE FROM moves WHERE id = {k}"]

    def transaction(self):
        tables = self.r.sample(TABLES, self.r.choice([1, 1, 1, 2, 2, 3, 4]))
        stmts = []
        for _ in range(self.r.choice([1, 1, 2, 3])):
            stmts += self.statements(self.r.choice(tables))
        changes = 0
        try:
            for s in stmts:
                self.cur.execute(s)
                changes += max(0, self.cur.rowcount)
            self.stats["statements"] += len(stmts)
            if self.r.random() < 0.05:
                self.c.rollback()
                self.stats["rolled_back"] += 1
                return
            self.c.commit()
        except pymysql.err.MySQLError as e:
            if e.args and e.args[0] not in (1062, 1690):  # duplicate key; out of range in a key
                raise RuntimeError(f"statement failed: {e}: {s[:300]}")
            self.c.rollback()
            self.stats["failed"] += 1
            return
        self.stats["transactions"] += 1
        self.stats["changes"] += changes


def create_tables(cur):
    for t in TABLES:
        spec = SPECS[t]
        cols = ", ".join(f"`{n}` {ty}" for n, ty, _ in spec)
        if t == "pair":
            cols += ", PRIMARY KEY (tenant, code, seq)"
        cur.execute(f"CREATE TABLE `{DB}`.`{t}` ({cols}) CHARACTER SET utf8mb4")


def start_workload(rng, server, cur):
    """The tables in DB and their rows before the capture starts (the full load): the workload
    and the changes made so far."""
    create_tables(cur)
    writer = server.connect(DB, autocommit=False, time_zone="+05:30", sql_mode="")
    work = Workload(rng, writer)
    work.refresh_keys()
    for _ in range(40):
        work.transaction()
    return work, work.stats["changes"]


def random_dialect(rng):
    """The apply reads staging with the [capture.csv] options: a random dialect each run, and a
    random bucket count."""
    csv = {"delimiter": rng.choice([",", "|", "\t", ";"]),
           "null_value": rng.choice(["", "NULL", "\\N"]), "header": rng.random() < 0.5,
           "include_op_for_full_load": rng.random() < 0.5,
           "timestamp_column": rng.choice(["", "", "commit_ts"])}
    return csv, rng.choice([1, 3, 4, 16])


def main():
    print(f"run_random: seed {SEED}, {CHANGES} changes (rerun: run_random_itest.py BINLAKE "
          f"{CHANGES} {SEED})", flush=True)
    rng = random.Random(SEED)
    server = pipeline.TestServer()
    admin = server.connect()
    cur = admin.cursor()
    cur.execute(f"DROP DATABASE IF EXISTS `{DB}`")
    cur.execute(f"CREATE DATABASE `{DB}` CHARACTER SET utf8mb4")
    work, load_changes = start_workload(rng, server, cur)
    cols = {t: pipeline.columns(cur, DB, t) for t in TABLES}
    csv, buckets = random_dialect(rng)
    print(f"run_random: CSV options {json.dumps(csv)}, {buckets} buckets", flush=True)
    tmp = tempfile.mkdtemp(prefix="binlake-random-")
    p = pipeline.Placement(tmp, DB, "run_random")
    s3, staging, lake_root = p.s3, p.staging, p.lake
    env, extra, lake_extra = p.env, p.extra, p.lake_extra
    cfg = pipeline.write_config(os.path.join(tmp, "run.toml"), port=server.port,
                                password_file=server.password_file,
                                server_id=9000 + os.getpid() % 1000, staging=staging,
                                lake=lake_root, include=[f"{DB}.*"], interval_ms=200,
                                buckets=buckets, csv=csv, lake_extra=lake_extra, extra=extra)
    log_path = os.path.join(tmp, "run.log")
    log = open(log_path, "w")
    procs = [pipeline.spawn([BINLAKE, "run", "--config", cfg], stderr=log, env=env)]
    lake = pipeline.Lake(lake_root, DB)
    failures = []

    def fail(msg):
        failures.append(msg)
        print("FAIL: " + msg, file=sys.stderr, flush=True)

    def finish(code):
        proc = procs[-1]
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()
        if s3:
            s3.stop()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # delta-rs' runtime threads can abort the interpreter's teardown

    if not pipeline.wait_caught_up(cur, staging, lake, TABLES, timeout=120):
        fail(f"the full load did not reach the lake (log {log_path})")
        finish(1)
    for t in TABLES:
        for p in pipeline.schema_problems(lake.table(t), cols[t]):
            fail(f"{t}: type {p}")
    loaded, problems = pipeline.compare_tables(cur, lake, cols)
    for p in problems:
        fail("after the full load: " + p)
    mismatches = len(problems)
    compared, phases, single, multi = loaded, 0, 0, 0
    restarts = {"sigint": 0, "kill": 0}
    applied = {t: pipeline.staged_sequences(staging, DB, t) for t in TABLES}
    t0 = time.time()
    while work.stats["changes"] - load_changes < CHANGES and not failures:
        phases += 1
        work.refresh_keys()
        n = rng.randint(2, 20)
        restart = rng.choice(["sigint", "kill"]) if rng.random() < 0.03 else None
        for i in range(n):
            work.transaction()
            if restart and i == n // 2:  # mid-phase: stop or kill -9, then start again
                proc = procs[-1]
                if restart == "kill":
                    proc.kill()
                    proc.wait()
                else:
                    proc.send_signal(signal.SIGINT)
                    if proc.wait(timeout=60) != 0:
                        fail(f"phase {phases}: binlake run exited {proc.returncode} after SIGINT")
                restarts[restart] += 1
                procs.append(pipeline.spawn([BINLAKE, "run", "--config", cfg], stderr=log, env=env))
        if procs[-1].poll() is not None:
            fail(f"binlake run exited {procs[-1].returncode} (log {log_path})")
            break
        if not pipeline.wait_caught_up(cur, staging, lake, TABLES, timeout=60):
            fail(f"phase {phases}: the lake did not catch up within 60 s (log {log_path})")
            break
        for t in TABLES:
            now = pipeline.staged_sequences(staging, DB, t)
            new = len(now) - len(applied[t])
            single += new == 1
            multi += new > 1
            applied[t] = now
        rows, problems = pipeline.compare_tables(cur, lake, cols)
        compared += rows
        mismatches += len(problems)
        for p in problems:
            fail(f"phase {phases}: {p}")
        if phases % 100 == 0:
            print(f"run_random: {phases} phases, {work.stats['changes'] - load_changes} changes, "
                  f"{time.time() - t0:.0f} s", flush=True)
    elapsed = time.time() - t0
    procs[-1].send_signal(signal.SIGINT)
    rc = procs[-1].wait(timeout=60)
    if rc != 0:
        fail(f"binlake run exited {rc} after SIGINT (log {log_path})")
    anomalies = ("insert of an existing key", "update of a missing key", "delete of a missing")
    warnings = [l.strip() for l in open(log_path) if any(a in l for a in anomalies)]
    for w in warnings[:5]:
        fail("merge anomaly: " + w)
    files = sum(len(v) for v in applied.values())
    s = work.stats
    print(f"run_random: seed {SEED}: {phases} phases in {elapsed:.1f} s; "
          f"{s['changes'] - load_changes} changes in {s['transactions']} transactions "
          f"({s['statements']} statements, {s['rolled_back']} rolled back, {s['failed']} refused "
          f"by the server) after a full load of {loaded} rows; {files} change files applied "
          f"({single} checks after exactly one new file of a table, {multi} after several); "
          f"{compared} rows compared; binlake run stopped {restarts['sigint']} and killed "
          f"{restarts['kill']} times mid-phase; mismatches {mismatches}; failures {len(failures)}")
    if failures:
        print(f"run_random: FAILED, seed {SEED}; the lake is in {lake_root}", file=sys.stderr)
    else:
        cur.execute(f"DROP DATABASE `{DB}`")
        if s3:
            s3.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    finish(1 if failures else 0)


if __name__ == "__main__":
    main()
