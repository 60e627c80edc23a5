"""Reads a binlake staging folder independently of binlake's C++ code (tests and the demo).

It parses the CSV dialect of docs/staging.md (RFC 4180; NULL is the unquoted null token, a quoted
field is always a string), lists LOAD and change files in name order, reads manifests and schema
versions, and replays the files into table states keyed by primary key (whole row without one).
"""
import json
import os


def parse_csv(data, null_value="", delimiter=","):
    """Yields records: lists of str (quoted or plain) or None (the unquoted null token)."""
    i, n = 0, len(data)
    record, field, quoted, at_start = [], [], False, True
    while i < n:
        c = data[i]
        if at_start and c == '"':
            quoted, at_start = True, False
            i += 1
            while True:
                if i >= n:
                    raise ValueError("unterminated quoted field")
                c = data[i]
                if c == '"':
                    if i + 1 < n and data[i + 1] == '"':
                        field.append('"')
                        i += 2
                        continue
                    i += 1
                    break
                field.append(c)
                i += 1
            continue
        if c == delimiter or c == "\n":
            text = "".join(field)
            record.append(text if quoted or text != null_value else None)
            field, quoted, at_start = [], False, True
            if c == "\n":
                yield record
                record = []
            i += 1
            continue
        if c == "\r" and i + 1 < n and data[i + 1] == "\n":
            i += 1
            continue
        if quoted:
            raise ValueError("text after a closing quote")
        field.append(c)
        at_start = False
        i += 1
    if field or record or quoted:
        text = "".join(field)
        record.append(text if quoted or text != null_value else None)
        yield record


class Staging:
    def __init__(self, root, null_value="", delimiter=",", timestamp_column=False, header=False,
                 op_in_load=False):
        self.root = root
        self.null_value = null_value
        self.delimiter = delimiter
        self.ts = timestamp_column
        self.header = header
        self.op_in_load = op_in_load

    def tables(self):
        out = []
        for schema in sorted(os.listdir(self.root)):
            if schema.startswith("_") or schema.startswith("."):
                continue
            sdir = os.path.join(self.root, schema)
            if not os.path.isdir(sdir):
                continue
            for table in sorted(os.listdir(sdir)):
                if os.path.isdir(os.path.join(sdir, table)):
                    out.append((schema, table))
        return out

    def files(self, schema, table):
        d = os.path.join(self.root, schema, table)
        names = sorted(f for f in os.listdir(d) if f.endswith(".csv") and not f.startswith("."))
        loads = [f for f in names if f.startswith("LOAD")]
        changes = [f for f in names if not f.startswith("LOAD")]
        return loads, changes

    def manifest(self, schema, table, name):
        with open(os.path.join(self.root, "_binlake", "files", schema, table, name + ".json")) as f:
            return json.load(f)

    def schema(self, schema, table, version):
        p = os.path.join(self.root, "_binlake", "schemas", schema, table, "%05d.json" % version)
        with open(p) as f:
            return json.load(f)

    def checkpoint(self):
        with open(os.path.join(self.root, "_binlake", "checkpoint.json")) as f:
            return json.load(f)

    def latest_version(self, schema, table):
        for v in self.checkpoint().get("schema_versions", []):
            if v["schema"] == schema and v["table"] == table:
                return int(v["version"])
        return 1

    def key_columns(self, schema, table):
        """Column indexes of the primary key, in key order ([] without a key)."""
        cols = self.schema(schema, table, self.latest_version(schema, table))["columns"]
        keyed = [(c["pk_position"], i) for i, c in enumerate(cols) if c.get("pk_position", -1) >= 0]
        return [i for _, i in sorted(keyed)]

    def records(self, schema, table, name):
        with open(os.path.join(self.root, schema, table, name), encoding="utf-8", newline="") as f:
            data = f.read()
        recs = list(parse_csv(data, self.null_value, self.delimiter))
        if self.header and recs:
            recs = recs[1:]
        return recs

    def changes(self, schema, table):
        """(file, op, values) for every CDC row, in file and row order."""
        _, changes = self.files(schema, table)
        skip = 1 + (1 if self.ts else 0)
        for name in changes:
            for rec in self.records(schema, table, name):
                yield name, rec[0], rec[skip:]

    def load_rows(self, schema, table):
        loads, _ = self.files(schema, table)
        skip = (1 if self.op_in_load else 0) + (1 if self.ts else 0)
        for name in loads:
            for rec in self.records(schema, table, name):
                yield rec[skip:]

    def replay(self, schema, table, key_columns):
        """The table state after the full load and every change: {key: row}; key_columns are
        column indexes (empty: whole-row identity, state is {row: count})."""
        state = {}

        def key(row):
            return tuple(row[i] for i in key_columns) if key_columns else tuple(row)

        def add(row):
            k = key(row)
            if key_columns:
                if k in state:
                    raise AssertionError("insert of an existing key %r" % (k,))
                state[k] = row
            else:
                state[k] = state.get(k, 0) + 1

        def remove(row):
            k = key(row)
            if k not in state:
                raise AssertionError("delete of a missing row %r" % (k,))
            if key_columns:
                del state[k]
            else:
                state[k] -= 1
                if state[k] == 0:
                    del state[k]

        for row in self.load_rows(schema, table):
            add(row)
        for name, op, row in self.changes(schema, table):
            if op == "I":
                add(row)
            elif op == "D":
                remove(row)
            elif op == "U":
                k = key(row)
                if k not in state:
                    raise AssertionError("%s: update of a missing key %r" % (name, k))
                state[k] = row
            else:
                raise AssertionError("%s: bad op %r" % (name, op))
        return state
