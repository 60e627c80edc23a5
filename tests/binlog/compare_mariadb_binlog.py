#!/usr/bin/env python3
"""Compares `binlake binlog-dump` with `mariadb-binlog -vv --base64-output=decode-rows`.

usage: compare_mariadb_binlog.py [--columns FILE] [--max-report N] BINLAKE FILE...

For every binlog FILE both decoders run; mariadb-binlog's `### INSERT/UPDATE/DELETE` blocks and
binlake's JSON lines (--enum-as-number) are aligned one to one, in order, and every column value is
compared with a normalizer that knows how each side prints each type (mariadb-binlog's -vv type
comment, e.g. `/* DECIMAL(10,2) meta=2562 nullable=1 is_null=0 */`, says how to read its value).

--columns FILE: JSON {"schema.table": [{"name": ..., "column_type": ..., "charset": ...}, ...]} in
ordinal order (information_schema.COLUMNS). With it, character strings are decoded from their real
charset, binary columns must be base64 in binlake and text columns must not, binlake's column names
must be those of the table, and unsigned integers must be printed unsigned. Without it (fixtures),
strings are tried as UTF-8, latin1 and UTF-16, and either binlake form (text or base64) is accepted.

A file mariadb-binlog cannot read (it exits non-zero, e.g. MySQL 8 TRANSACTION_PAYLOAD) is
"peer cannot decode": binlake must still decode it (exit 0, and rows > 0 if the file has row
events); rows the peer printed before failing are still compared.

Exit status: 0 when everything matched, 1 on any mismatch / row count mismatch / binlake failure,
2 on usage or environment errors.
"""
import base64
import calendar
import collections
import datetime
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys
from decimal import Decimal, InvalidOperation

PEER = "mariadb-binlog"

# Python codecs for MySQL/MariaDB charset names (column charsets from information_schema).
CODECS = {
    "utf8mb4": "utf-8", "utf8mb3": "utf-8", "utf8": "utf-8", "ascii": "ascii",
    "latin1": "mysql-latin1", "cp1251": "cp1251", "gbk": "gbk", "sjis": "shift_jis",
    "cp932": "cp932", "ucs2": "utf-16-be", "utf16": "utf-16-be", "utf16le": "utf-16-le",
    "utf32": "utf-32-be", "latin2": "iso8859-2", "greek": "iso8859-7", "hebrew": "iso8859-8",
    "koi8r": "koi8-r", "koi8u": "koi8-u", "cp1250": "cp1250", "cp1256": "cp1256",
    "cp1257": "cp1257", "cp850": "cp850", "cp852": "cp852", "cp866": "cp866", "euckr": "euc-kr",
    "big5": "big5", "ujis": "euc-jp", "gb2312": "gb2312", "gb18030": "gb18030",
    "latin5": "iso8859-9", "latin7": "iso8859-13", "tis620": "tis-620", "macroman": "mac-roman",
}


def encode_charset(text, charset):
    """str -> bytes in a MySQL charset; raises UnicodeEncodeError/LookupError."""
    codec = CODECS.get(charset, charset)
    if codec == "mysql-latin1":
        return b"".join(bytes([ord(ch)]) if ord(ch) in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
                        else ch.encode("cp1252") for ch in text)
    return text.encode(codec)


def decode_charset(data, charset):
    """bytes in a MySQL charset -> str; raises UnicodeDecodeError/LookupError."""
    codec = CODECS.get(charset, charset)
    if charset == "sjis":
        # MySQL's sjis maps 0x815F (and 0x5C) to '\\'; Python's shift_jis gives U+FF3C for 0x815F
        return data.decode("shift_jis").replace("\uff3c", "\\")
    if codec == "mysql-latin1":
        # MySQL's latin1 is cp1252 with the five bytes cp1252 leaves undefined mapped to U+0081 etc.
        return "".join(bytes([b]).decode("cp1252") if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
                       else chr(b) for b in data)
    return data.decode(codec)


ROW_START = re.compile(rb"^### (INSERT INTO|UPDATE|DELETE FROM) `((?:[^`]|``)*)`\.`((?:[^`]|``)*)`$")
VALUE_LINE = re.compile(
    rb"^###   @(\d+)=(.*) /\* ([^*]*?) ?meta=(\d+) nullable=(\d) is_null=(\d) \*/$", re.S)
BARE_VALUE_LINE = re.compile(rb"^###   @(\d+)=(.*)$", re.S)
OPS = {b"INSERT INTO": "I", b"UPDATE": "U", b"DELETE FROM": "D"}

ROW_EVENT_TYPES = {19, 20, 21, 23, 24, 25, 30, 31, 32, 39, 40, 166, 167, 168, 169, 170, 171}


class PeerValue:
    __slots__ = ("raw", "ptype", "meta", "is_null")

    def __init__(self, raw, ptype, meta, is_null):
        self.raw, self.ptype, self.meta, self.is_null = raw, ptype, meta, is_null


class PeerRow:
    def __init__(self, op, schema, table):
        self.op, self.schema, self.table = op, schema, table
        self.before = collections.OrderedDict()  # column number (1-based) -> PeerValue
        self.after = collections.OrderedDict()


def parse_peer(out):
    """mariadb-binlog -vv output (bytes) -> list of PeerRow; raises ValueError on odd lines."""
    rows = []
    cur = None
    image = None
    for lineno, line in enumerate(out.split(b"\n"), 1):
        if not line.startswith(b"###"):
            continue
        m = ROW_START.match(line)
        if m:
            cur = PeerRow(OPS[m.group(1)], m.group(2).replace(b"``", b"`").decode("utf-8", "replace"),
                          m.group(3).replace(b"``", b"`").decode("utf-8", "replace"))
            rows.append(cur)
            image = cur.after if cur.op == "I" else None
            continue
        if line == b"### WHERE":
            image = cur.before
            continue
        if line == b"### SET":
            image = cur.after
            continue
        if cur is None or image is None:
            raise ValueError(f"line {lineno}: unexpected row line {line[:120]!r}")
        m = VALUE_LINE.match(line)
        if m:
            image[int(m.group(1))] = PeerValue(m.group(2), m.group(3).decode(), int(m.group(4)),
                                               m.group(6) == b"1")
            continue
        m = BARE_VALUE_LINE.match(line)
        if m:  # the peer could not print this type (no -vv comment): not comparable
            image[int(m.group(1))] = PeerValue(m.group(2), None, 0, False)
            continue
        raise ValueError(f"line {lineno}: cannot parse {line[:160]!r}")
    return rows


def has_row_events(path):
    """True if the binlog file has row events (or MySQL 8 compressed payloads, which may)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\xfebin":
        return False
    off = 4
    while off + 19 <= len(data):
        etype = data[off + 4]
        size = struct.unpack_from("<I", data, off + 9)[0]
        if etype in ROW_EVENT_TYPES:
            return True
        if size < 19:
            break
        off += size
    return False


# ---------------------------------------------------------------------------------------------
# Value normalization


class Skip(Exception):
    """The value is not comparable (reason in args[0])."""


class Mismatch(Exception):
    pass


def peer_unquote(raw):
    """'...' as my_b_write_quoted prints it: bytes <= 0x1F as \\xNN, everything else raw."""
    if len(raw) < 2 or raw[:1] != b"'" or raw[-1:] != b"'":
        raise Mismatch(f"peer value is not a quoted string: {raw[:80]!r}")
    inner = raw[1:-1]
    out = bytearray()
    i = 0
    while i < len(inner):
        if inner[i] == 0x5C and inner[i + 1:i + 2] == b"x" and i + 4 <= len(inner):
            try:
                b = int(inner[i + 2:i + 4], 16)
            except ValueError:
                b = None
            if b is not None and b <= 0x1F:
                out.append(b)
                i += 4
                continue
        out.append(inner[i])
        i += 1
    return bytes(out)


def peer_quote(data):
    """bytes -> how my_b_write_quoted prints them (for an unambiguous comparison)."""
    out = bytearray(b"'")
    for b in data:
        if b > 0x1F:
            out.append(b)
        else:
            out += b"\\x%02x" % b
    return bytes(out + b"'")


def b64_value(v):
    if isinstance(v, str) and v.startswith("base64:"):
        try:
            return base64.b64decode(v[7:], validate=True)
        except ValueError:
            return None
    return None


def fmt(v, limit=160):
    s = v.decode("utf-8", "backslashreplace") if isinstance(v, bytes) else json.dumps(v) \
        if not isinstance(v, Decimal) else str(v)
    return s if len(s) <= limit else s[:limit] + f"...({len(s)} chars)"


def parse_int(raw):
    """'-1 (4294967295)' -> {-1, 4294967295}; '5' -> {5}."""
    m = re.fullmatch(rb"(-?\d+)(?: \((\d+)\))?", raw.strip())
    if not m:
        raise Mismatch(f"peer integer unreadable: {raw!r}")
    vals = {int(m.group(1))}
    if m.group(2):
        vals.add(int(m.group(2)))
    return int(m.group(1)), (int(m.group(2)) if m.group(2) else None), vals


def parse_bits(raw):
    m = re.fullmatch(rb"b'([01]*)'", raw.strip())
    if not m:
        raise Mismatch(f"peer bit string unreadable: {raw!r}")
    return int(m.group(1), 2) if m.group(1) else 0


TIME_RE = re.compile(r"(-?)(\d+):(\d\d):(\d\d)(?:\.(\d+))?")
DATETIME_RE = re.compile(r"(\d{4})[-:](\d\d)[-:](\d\d)(?: (\d\d):(\d\d):(\d\d)(?:\.(\d+))?)?")


def frac_micros(s):
    return int((s or "").ljust(6, "0")[:6]) if s else 0


def norm_time(s):
    m = TIME_RE.fullmatch(s)
    if not m:
        raise Mismatch(f"unreadable TIME {s!r}")
    return (m.group(1) == "-", int(m.group(2)), int(m.group(3)), int(m.group(4)),
            frac_micros(m.group(5)), len(m.group(5) or ""))


def norm_datetime(s):
    m = DATETIME_RE.fullmatch(s)
    if not m:
        raise Mismatch(f"unreadable DATE/DATETIME {s!r}")
    return tuple(int(g) if g is not None else None for g in m.groups()[:6]) + \
        (frac_micros(m.group(7)), len(m.group(7) or ""))


def datetime_to_epoch(s):
    """binlake's TIMESTAMP rendering (UTC) -> (seconds, micros, fraction digits)."""
    y, mo, d, h, mi, sec, micros, digits = norm_datetime(s)
    if y == 0 and mo == 0 and d == 0:
        return 0, micros, digits
    return calendar.timegm((y, mo, d, h or 0, mi or 0, sec or 0)), micros, digits


def compare_value(pv, bv, col):
    """Compares one peer value with binlake's JSON value; returns normally on a match, raises
    Mismatch (with a reason) or Skip. `col` is the column info from --columns or None."""
    t = pv.ptype
    if t is None:
        raise Skip("peer cannot decode this column type")
    if pv.is_null or bv is None:
        if pv.is_null and bv is None:
            return
        raise Mismatch("NULL on one side only")
    raw = pv.raw
    base = t.split("(")[0]
    if base in ("TINYINT", "SHORTINT", "MEDIUMINT", "INT", "LONGINT"):
        if not isinstance(bv, int) or isinstance(bv, bool):
            raise Mismatch("binlake value is not an integer")
        signed, unsigned, vals = parse_int(raw)
        if base == "LONGINT" and signed < 0:
            vals.add(signed + (1 << 64))
        if col is not None and col.get("column_type"):
            want_unsigned = "unsigned" in col["column_type"]
            bits = {"TINYINT": 8, "SHORTINT": 16, "MEDIUMINT": 24, "INT": 32, "LONGINT": 64}[base]
            expect = signed + (1 << bits) if (want_unsigned and signed < 0) else signed
            if bv != expect:
                raise Mismatch(f"expected {expect} ({'unsigned' if want_unsigned else 'signed'})")
            return
        if bv not in vals:
            raise Mismatch("integer differs")
        return
    if base == "DECIMAL":
        try:
            if Decimal(raw.decode()) != Decimal(bv):
                raise Mismatch("decimal differs")
        except (InvalidOperation, TypeError):
            raise Mismatch("decimal unreadable")
        return
    if base == "FLOAT":
        p = float(raw.decode().strip())
        b = struct.unpack("<f", struct.pack("<f", float(bv)))[0]
        if "%g" % b == raw.decode().strip():
            return
        if math.isclose(p, b, rel_tol=1e-6, abs_tol=1e-300):
            return
        raise Mismatch(f"float differs (binlake as %g: {'%g' % b})")
    if base == "DOUBLE":
        p = float(raw.decode().strip())
        if float(bv) != p:
            raise Mismatch("double differs")
        return
    if base == "BIT":
        if parse_bits(raw) != bv:
            raise Mismatch(f"bit value differs (peer = {parse_bits(raw)})")
        return
    if base == "SET":
        # my_b_write_bit prints the stored bytes in order, and SET is stored little-endian
        nbytes = pv.meta & 0xFF
        mask = int.from_bytes(parse_bits(raw).to_bytes(nbytes, "big"), "little")
        if mask != bv:
            raise Mismatch(f"SET bitmask differs (peer = {mask})")
        return
    if base == "ENUM":
        if int(raw) != bv:
            raise Mismatch("ENUM index differs")
        return
    if base == "YEAR":
        y = int(raw)
        if (0 if y == 1900 else y) != bv:  # the peer prints the zero YEAR as 1900
            raise Mismatch("YEAR differs")
        return
    if base == "TIMESTAMP":
        if not isinstance(bv, str):
            raise Mismatch("binlake TIMESTAMP is not a string")
        secs, micros, digits = datetime_to_epoch(bv)
        m = re.fullmatch(rb"(\d+)(?:\.(\d+))?", raw.strip())
        if not m:
            raise Mismatch("peer TIMESTAMP unreadable")
        fsp = pv.meta if t != "TIMESTAMP" else 0
        pfrac = (m.group(2) or b"").decode()
        if int(m.group(1)) != secs or frac_micros(pfrac) != micros:
            raise Mismatch(f"TIMESTAMP differs (binlake as epoch: {secs}.{micros:06d})")
        if digits != fsp or len(pfrac) != fsp:
            raise Mismatch(f"fraction digits: binlake {digits}, peer {len(pfrac)}, fsp {fsp}")
        return
    if base in ("DATETIME", "DATE"):
        if not isinstance(bv, str):
            raise Mismatch("binlake temporal is not a string")
        p = norm_datetime(peer_unquote(raw).decode())
        if p != norm_datetime(bv):
            raise Mismatch("date/datetime differs")
        return
    if base == "TIME":
        if not isinstance(bv, str):
            raise Mismatch("binlake TIME is not a string")
        if norm_time(peer_unquote(raw).decode()) != norm_time(bv):
            raise Mismatch("TIME differs")
        return
    if base == "GEOMETRY":
        if not isinstance(bv, dict) or "srid" not in bv or "wkb" not in bv:
            raise Mismatch("binlake GEOMETRY is not {srid, wkb}")
        mine = struct.pack("<I", bv["srid"]) + bytes.fromhex(bv["wkb"])
        if peer_quote(mine) != raw:
            raise Mismatch("geometry bytes differ")
        return
    if base in ("STRING", "VARSTRING") or "BLOB" in base:
        return compare_string(raw, bv, col, t)
    raise Skip(f"peer type {t} not handled")


def compare_string(raw, bv, col, ptype):
    if isinstance(bv, (dict, list)) or (bv is not None and not isinstance(bv, str)):
        raise Skip("binlake printed a JSON document (MySQL JSON); peer prints it raw")
    data = peer_unquote(raw)
    if peer_quote(data) != raw:  # '\x..' literally in the data: compare the rendered form
        data = None
    charset = col.get("charset") if col else None
    b = b64_value(bv)
    if b is not None and ptype.startswith("STRING(") and len(b) == int(ptype[7:-1]) \
            and peer_quote(b) != raw and peer_quote(b.rstrip(b"\0")) == raw:
        b = b.rstrip(b"\0")  # BINARY(n): logged without its 0x00 padding, binlake restores it
    if col is not None:
        if charset in (None, "binary"):
            if b is None:
                raise Mismatch("binary column: binlake must print base64:<bytes>")
            if peer_quote(b) != raw:
                raise Mismatch("bytes differ")
            return
        # text column: binlake's string is the text in UTF-8, never base64
        if b is not None:
            raise Mismatch(f"{charset} text column printed as base64 (bytes) by binlake")
        try:
            enc = encode_charset(bv, charset)
        except (UnicodeEncodeError, LookupError):
            enc = None
        if enc is not None and peer_quote(enc) == raw:
            return
        if data is None:
            raise Mismatch(f"{charset} text differs")
        try:
            text = decode_charset(data, charset)
        except (UnicodeDecodeError, LookupError) as e:
            raise Mismatch(f"peer bytes are not valid {charset} ({e})")
        if text != bv:
            raise Mismatch(f"{charset} text differs (peer decoded: {fmt(text)})")
        return
    # no column info: either binlake form, text tried as UTF-8 then latin1
    if b is not None and peer_quote(b) == raw:
        return
    for cs in ("utf8mb4", "latin1", "utf16"):
        try:
            if peer_quote(encode_charset(bv, cs)) == raw:
                return
        except UnicodeEncodeError:
            pass
        if data is not None:
            try:
                if decode_charset(data, cs) == bv:
                    return
            except UnicodeDecodeError:
                pass
    raise Mismatch("string differs (tried UTF-8, latin1, UTF-16 and base64)")


# ---------------------------------------------------------------------------------------------


class FileReport:
    def __init__(self, name):
        self.name = name
        self.rows = 0
        self.values = 0
        self.skipped = collections.Counter()
        self.mismatches = []
        self.problems = []  # file-level failures
        self.notes = []


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def first_line(s):
    s = s.strip()
    return s.splitlines()[0] if s else "(no message)"


def image_pairs(peer_img, bl_img, table_cols, rep, where):
    """Aligns peer @N columns with binlake's keys; yields (N, name, peer value, binlake value)."""
    bl_items = list(bl_img.items())
    peer_items = list(peer_img.items())
    if len(bl_items) != len(peer_items):
        rep.mismatches.append(
            f"{where}: column count differs: peer {[n for n, _ in peer_items]} "
            f"binlake {[k for k, _ in bl_items]}")
        return
    for (n, pv), (key, bv) in zip(peer_items, bl_items):
        if key.startswith("@") and key[1:].isdigit():
            if int(key[1:]) != n:
                rep.mismatches.append(f"{where}: column @{n} aligned with binlake {key}")
                continue
        elif table_cols is not None:
            if n > len(table_cols) or table_cols[n - 1]["name"] != key:
                want = table_cols[n - 1]["name"] if n <= len(table_cols) else "?"
                rep.mismatches.append(f"{where}: column @{n} is `{want}`, binlake named it `{key}`")
                continue
        col = table_cols[n - 1] if table_cols is not None and n <= len(table_cols) else None
        yield n, key, pv, bv, col


def compare_rows(peer_rows, bl_rows, columns, rep):
    for idx, (pr, br) in enumerate(zip(peer_rows, bl_rows)):
        where = f"row {idx + 1} at {br.get('pos')}"
        if (pr.op, pr.schema, pr.table) != (br["op"], br["schema"], br["table"]):
            rep.mismatches.append(
                f"{where}: rows no longer aligned: peer {pr.op} {pr.schema}.{pr.table}, "
                f"binlake {br['op']} {br['schema']}.{br['table']}; stopping this file")
            return
        rep.rows += 1
        table_cols = columns.get(f"{pr.schema}.{pr.table}") if columns is not None else None
        for label, pimg, bimg in (("before", pr.before, br.get("before")),
                                  ("after", pr.after, br.get("after"))):
            if (bimg is None) != (pr.op == "I" if label == "before" else pr.op == "D"):
                rep.mismatches.append(f"{where}: {label} image present on one side only")
                continue
            if bimg is None:
                continue
            for n, key, pv, bv, col in image_pairs(pimg, bimg, table_cols, rep,
                                                   f"{where} {pr.op} {pr.schema}.{pr.table} {label}"):
                try:
                    compare_value(pv, bv, col)
                    rep.values += 1
                except Skip as s:
                    rep.skipped[str(s)] += 1
                except (Mismatch, ValueError, TypeError) as e:
                    rep.mismatches.append(
                        f"{where} {pr.op} {pr.schema}.{pr.table} {label} @{n} ({key}) "
                        f"[{pv.ptype}]: {e}\n      binlake: {fmt(bv)}\n      peer:    {fmt(pv.raw)}")


def check_file(binlake, path, columns, max_report):
    rep = FileReport(path)
    bl_rc, bl_out, bl_err = run([binlake, "binlog-dump", "--enum-as-number", path])
    bl_rows = []
    for n, line in enumerate(bl_out.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            bl_rows.append(json.loads(line, parse_float=Decimal))
        except json.JSONDecodeError as e:
            rep.problems.append(f"binlake output line {n} is not JSON: {e}: {line[:120]!r}")
    pr_rc, pr_out, pr_err = run([PEER, "-vv", "--base64-output=decode-rows", path])
    peer_ok = pr_rc == 0
    try:
        peer_rows = parse_peer(pr_out)
    except ValueError as e:
        rep.problems.append(f"cannot parse {PEER} output: {e}")
        peer_rows = []
    if bl_rc != 0:
        rep.problems.append(f"binlake binlog-dump failed (exit {bl_rc}): {first_line(bl_err)}")
    if not peer_ok:
        rep.notes.append(f"peer cannot decode: {PEER} exit {pr_rc}: {first_line(pr_err)}"
                         f" (it printed {len(peer_rows)} rows before failing)")
        if bl_rc == 0 and not bl_rows and has_row_events(path):
            rep.problems.append("the file has row events but binlake printed no rows")
        compare_rows(peer_rows, bl_rows, columns, rep)
    else:
        if len(peer_rows) != len(bl_rows):
            rep.problems.append(f"row count differs: {PEER} {len(peer_rows)}, binlake {len(bl_rows)}")
        compare_rows(peer_rows, bl_rows, columns, rep)
    print(f"== {path}: {PEER} rows {len(peer_rows)}{'' if peer_ok else ' (peer cannot decode)'}, "
          f"binlake rows {len(bl_rows)}")
    for n in rep.notes:
        print(f"   note: {n}")
    skipped = sum(rep.skipped.values())
    print(f"   rows compared {rep.rows}, values compared {rep.values}, values skipped {skipped}, "
          f"mismatches {len(rep.mismatches)}")
    for reason, count in sorted(rep.skipped.items()):
        print(f"   skipped {count}: {reason}")
    for p in rep.problems:
        print(f"   FAIL: {p}")
    for m in rep.mismatches[:max_report]:
        print(f"   MISMATCH {m}")
    if len(rep.mismatches) > max_report:
        print(f"   ... {len(rep.mismatches) - max_report} more mismatches")
    return rep


def main(argv):
    args = list(argv[1:])
    columns = None
    max_report = 50
    while args and args[0].startswith("--"):
        opt = args.pop(0)
        if opt == "--columns" and args:
            with open(args.pop(0), encoding="utf-8") as f:
                columns = json.load(f)
        elif opt == "--max-report" and args:
            max_report = int(args.pop(0))
        else:
            print(__doc__, file=sys.stderr)
            return 2
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    binlake, files = args[0], args[1:]
    if not os.access(binlake, os.X_OK):
        print(f"compare_mariadb_binlog: binlake binary {binlake} is not executable", file=sys.stderr)
        return 2
    if shutil.which(PEER) is None:
        print(f"compare_mariadb_binlog: {PEER} not found (install mariadb-client)", file=sys.stderr)
        return 2
    failed = []
    totals = [0, 0, 0]
    for path in files:
        rep = check_file(binlake, path, columns, max_report)
        totals[0] += rep.rows
        totals[1] += rep.values
        totals[2] += sum(rep.skipped.values())
        if rep.problems or rep.mismatches:
            failed.append(f"{os.path.basename(path)} ({len(rep.problems)} failures, "
                          f"{len(rep.mismatches)} mismatches)")
    print(f"TOTAL: {len(files)} files, rows compared {totals[0]}, values compared {totals[1]}, "
          f"values skipped {totals[2]}")
    if failed:
        print("FAILED: " + "; ".join(failed))
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
