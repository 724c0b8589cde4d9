#!/usr/bin/env python3
"""Bench hook for session.open: run by hookd and by adnanh/webhook alike.

Parses the payload from HOOP_RUNBOOK_HOOK_PAYLOAD as a real hook would and
appends one line per run to $BENCH_HOOK_OUT, so bench/run counts completed
runs from this file rather than from HTTP replies. One small O_APPEND write
per run keeps concurrent runs from interleaving.
"""
import json
import os

payload = json.loads(os.environ["HOOP_RUNBOOK_HOOK_PAYLOAD"])
opened = payload.get("event_session_open") or {}
line = f"{payload.get('sid')} {opened.get('connection_name')}\n"
fd = os.open(os.environ["BENCH_HOOK_OUT"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
try:
    os.write(fd, line.encode())
finally:
    os.close(fd)
