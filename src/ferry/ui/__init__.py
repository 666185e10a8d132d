"""Local web UI (``ferry ui``): the same steps as the CLI, for people who would rather click.

Run ``ferry ui --project PATH [--port 0]``; it serves on 127.0.0.1 and prints a login link with
a token made for this start (no token, no access). Pages:

* Overview — the steps done and what is next, records per object (staging store and files).
* Mapping — every source field beside its proposed target, confidence, reason, masked samples;
  change a target or status, declare a custom field, edit a value map, confirm (the rules and
  the stamp of ``ferry map --confirm``); edits keep mapping.yaml's comments (ruamel round-trip).
* Owners — practitioners matched to destination users; assign the fallback owner (ferry.yaml).
* PHI review — flagged text with its spans highlighted; approve / redact / exclude, bulk rules.
  The only page that shows record text, for clinical staff.
* Run — every verb as a background job (``actions.py``: the engine functions the CLI calls,
  then the same report writers), with live progress per object map: records/s, ETA and the
  destination's API budget left.
* Reports, Audit log, Guide — the reports under ``reports/`` with filters, the write log, the
  rebuild guide.
* Rollback — what it will undo (from the audit log), acting only once the project's name is
  typed in.

Security lives in ``security.py`` and the guard in ``app.py``: session cookie (HttpOnly,
SameSite=Strict), a CSRF token on every form, loopback Host only, report files only from inside
the reports folder, Jinja autoescape and a strict Content-Security-Policy everywhere.
"""
