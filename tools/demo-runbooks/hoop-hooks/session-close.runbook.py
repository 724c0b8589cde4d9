# A Hoop runbook hook for session.close: the exit code and the first line of
# the session's output, from HOOP_RUNBOOK_HOOK_PAYLOAD.
import json
import os

payload = json.loads(os.environ.get("HOOP_RUNBOOK_HOOK_PAYLOAD") or "{}")
closed = payload.get("event_session_close") or {}
output = (closed.get("output") or "").strip().splitlines()
print(
    "hookd demo: session {sid} closed with exit code {code}{first}".format(
        sid=payload.get("sid") or "?",
        code=closed.get("exit_code"),
        first=": " + output[0] if output else "",
    )
)
