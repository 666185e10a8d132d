"""Pipedrive emulator (``ferry sandbox serve pipedrive``); see ``app`` for the layers and knobs.

Provenance. Every route is an operation of Pipedrive's official OpenAPI documents
(``shared/specs/pipedrive/v1.yaml``, ``v2.yaml``); under pytest each request and response is
checked against them (``contract``). NOTES = ``shared/specs/pipedrive/NOTES.md``.

| endpoint / behaviour | source | surface |
|---|---|---|
| ``GET/POST /api/v2/{persons,organizations,deals,activities}``, ``GET/PATCH/DELETE …/{id}``, ``GET …/search`` (persons, organizations, deals) | [doc] v2.yaml | both |
| ``GET/POST /api/v2/{person,organization,deal}Fields``, ``GET/DELETE …/{field_code}``, ``POST/DELETE …/{field_code}/options``; ``GET /api/v2/activityFields`` | [doc] v2.yaml; NOTES 6 | both |
| ``GET /api/v2/itemSearch/field`` | [doc] v2.yaml | both |
| ``GET/POST /api/v2/pipelines``, ``/api/v2/stages``, ``GET/DELETE …/{id}`` | [doc] v2.yaml | both |
| ``GET/POST /api/v1/notes``, ``GET/PUT/DELETE /api/v1/notes/{id}`` (content sanitised: scripts, handlers, ``javascript:`` links removed) | [doc] v1.yaml; NOTES 5 "HTML, sanitised server-side" | both |
| ``GET/POST /api/v1/files``, ``GET/PUT/DELETE /api/v1/files/{id}`` | [doc] v1.yaml | both |
| ``GET /api/v1/users``, ``/users/me``, ``/users/{id}``; ``GET/POST /api/v1/activityTypes``, ``DELETE …/{id}`` | [doc] v1.yaml | both |
| envelopes, error bodies, cursor (v2) and offset (v1) pagination, ``sort_by`` = ``id``/``update_time``/``add_time`` | [doc] v1/v2.yaml; NOTES 3-4 | both |
| token budget from ``x-token-cost``, daily budget by plan and seats, 2-s burst, ``x-ratelimit-*`` headers, 429 then Cloudflare 403 | [doc] v2.yaml, rate-limit docs; NOTES 7 | both |
| person ``birthday``, ``postal_address``, ``job_title``, ``notes``, ``im`` | [doc] v2.yaml: "only if contact sync is enabled" | extended (contact sync on); documented: absent |
| 40-character hash keys of custom fields | [doc] NOTES 6 | both |
| an activity's ``person_id`` follows its primary participant (``participants: []`` leaves it none) | [doc] NOTES 5 (migration guide: v2 ``person_id`` "set through the primary participant") | both |
"""

from __future__ import annotations

from typing import Any


def build(options: Any) -> Any:
    from ferry.sandbox.pipedrive.app import build as _build

    return _build(options)
