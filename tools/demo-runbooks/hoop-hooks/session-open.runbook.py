# A Hoop runbook hook, as an operator would commit it: hookd runs it for every
# session.open event, with the event's payload (Hoop's runbook hook shape) in
# HOOP_RUNBOOK_HOOK_PAYLOAD. What it prints shows up in hookd's log and under
# "hook" in GET /v1/events/{id}.
import json
import os

payload = json.loads(os.environ.get("HOOP_RUNBOOK_HOOK_PAYLOAD") or "{}")
opened = payload.get("event_session_open") or {}
print(
    "hookd demo: {user} opened session {sid} on {connection} ({verb})".format(
        user=opened.get("user_email") or "someone",
        sid=payload.get("sid") or "?",
        connection=opened.get("connection_name") or "?",
        verb=opened.get("verb") or "?",
    )
)
