"""Pipedrive recipe parts: outreach campaigns and message history."""

from __future__ import annotations

from ferry.mapping.cookbook.common import Book, F, T
from ferry.mapping.cookbook.shared import campaign_definitions, no_times

PERSON, ACT, NOTE = "person", "activity", "note"
NO_ACT_CF = "Pipedrive's API cannot create activity custom fields; the activity note keeps it"


def outreach(b: Book) -> None:
    touch = campaign_definitions(b)
    b.add("campaign_activity", "campaign", ACT, [
        F(None, "subject", T("template", template="Campaign: {name}"), required=True),
        F("channel", "type", vm={"email": "email", "call": "call", "sms": "task"}, vmd="task"),
        F("sent_at", "due_date", T("date"), reason="outreach timestamp"),
        F("status", "done", vm={"sent": True, "delivered": True, "opened": True}, vmd=False),
        F("patient_id", "person_id", T("ref", object="patient", dest_object=PERSON)),
        F(None, "owner_id", T("owner")),
        *no_times(NO_ACT_CF),
    ], when=touch, note="Campaign / outreach touchpoint → Activity on the Person")
    b.add("message_note", "message", NOTE, [
        F(["direction", "channel", "body"], "content",
          T("labelled", labels=["Direction", "Channel", ""]), T("html"), required=True),
        F("patient_id", "person_id", T("ref", object="patient", dest_object=PERSON),
          required=True),
        F("practitioner_id", "user_id", T("owner")),
        F("sent_at", "add_time", T("datetime"), reason="original message time"),
        *no_times("the note keeps the message time"),
    ], note="Chat / messaging history → Notes on the Person")

