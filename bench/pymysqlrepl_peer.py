#!/usr/bin/env python3
"""The peer of the decoder benchmark: python-mysql-replication reading one binlog file from the server.

usage: pymysqlrepl_peer.py PORT PASSWORD_FILE BINLOG_FILE   -> JSON {"rows":..., "seconds":...}
It decodes every row (the library builds a dict of column values per row) of the file, from position
4 to the file's end, the same work binlake does.
"""
import json
import sys
import time

from pymysqlreplication import BinLogStreamReader
from pymysqlreplication.event import RotateEvent
from pymysqlreplication.row_event import WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent


def main():
    port, pw_file, log_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    password = open(pw_file).read().strip()
    settings = {"host": "127.0.0.1", "port": port, "user": "binlake", "passwd": password}
    stream = BinLogStreamReader(connection_settings=settings, server_id=77001, blocking=False,
                                resume_stream=True, log_file=log_file, log_pos=4,
                                only_events=[WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent,
                                             RotateEvent])
    rows = 0
    t0 = time.perf_counter()
    for ev in stream:
        if isinstance(ev, RotateEvent):
            if ev.next_binlog != log_file:
                break
            continue
        for row in ev.rows:
            rows += 1
    secs = time.perf_counter() - t0
    stream.close()
    print(json.dumps({"rows": rows, "seconds": round(secs, 4), "rows_per_second": round(rows / secs)}))


if __name__ == "__main__":
    main()
