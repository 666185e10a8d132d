"""Model and field definitions of the emulated Odoo database, per server version.

Only what a CRM migration touches is modelled, but each model carries the attributes Odoo's
``fields_get`` reports (type, string, required, readonly, selection, relation) because connectors
and users' scripts decide what to send from them. Version drift is encoded here, not scattered:
``mobile`` exists on res.partner / crm.lead up to 18 and is gone in 19 (odoo/odoo#189739);
``keep_done`` on mail.activity.type exists in 17/18; res.users ``groups_id`` became ``group_ids``
in 19; ``res.partner.title`` (model and field) is gone from saas-18.1 (odoo/odoo#187357, seen in
odoo/upgrade-util#177), so 19 has neither.

Odoo 17 definitions followed (odoo/odoo 17.0 ``addons/base/models/res_partner.py``,
``res_company.py``, ``res_partner_industry``; ``addons/crm/models/crm_lead.py``,
``crm_lost_reason.py``; ``addons/sales_team/models/crm_tag.py``;
``addons/calendar/models/calendar_event.py``): res.partner ``_order = "complete_name ASC, id
DESC"`` with ``complete_name`` stored-computed ("Company, Contact" for a company's contact),
``commercial_partner_id`` computed (the company at the top of the ``parent_id`` chain, or the
partner itself), ``category_id`` many2many tags, ``title``, ``company_id``, ``industry_id``,
``tz`` (every IANA zone, ``Etc/*`` last); res.partner.category ``_order = 'name'``; crm.tag
unique names; crm.lead ``tag_ids``, ``lost_reason_id`` (ondelete restrict), ``company_id``;
calendar.event ``_order = "start desc"``, ``stop`` from ``start`` + ``duration`` hours.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import available_timezones

FIELD_TYPES = ("char", "text", "html", "integer", "float", "monetary", "boolean", "date",
               "datetime", "selection", "many2one", "one2many", "many2many", "binary",
               "reference", "many2one_reference", "properties")


@dataclass
class F:
    """One field definition (what ``fields_get`` describes and the ORM enforces)."""

    type: str
    string: str
    required: bool = False
    readonly: bool = False
    selection: list[tuple[str, str]] | None = None
    relation: str | None = None
    relation_field: str | None = None  # one2many: the inverse many2one on the comodel
    default: Any = None  # a value, or a callable(orm, uid) -> value
    manual: bool = False
    computed: bool = False  # not writable over RPC (silently ignored, as Odoo does)
    ondelete: str = "set null"
    help: str = ""
    index: bool = False

    def describe(self, name: str) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "string": self.string,
                               "required": self.required, "readonly": self.readonly or self.computed,
                               "help": self.help, "store": not self.computed or name == "id",
                               "manual": self.manual, "searchable": True, "sortable": True}
        if self.selection is not None:
            out["selection"] = [list(p) for p in self.selection]
        if self.relation:
            out["relation"] = self.relation
        if self.relation_field:
            out["relation_field"] = self.relation_field
        return out


@dataclass
class ModelDef:
    name: str
    description: str
    fields: dict[str, F]
    order: str = "id"
    rec_name: str = "name"
    write_group: str | None = None  # None: any internal user; "admin": Administration/Settings
    create_group: str | None = None
    thread: bool = False  # mail.thread: message_post, chatter cascade on unlink
    hooks: dict[str, Callable[..., Any]] = field(default_factory=dict)


def _today(orm: Any, uid: int) -> str:
    return str(orm.today())


def _current_user(orm: Any, uid: int) -> int:
    return uid


def _first_stage(orm: Any, uid: int) -> int | bool:
    stages = orm.table("crm.stage")
    if not stages:
        return False
    return min(stages.values(), key=lambda r: (r["sequence"], r["id"]))["id"]


def _first_team(orm: Any, uid: int) -> int | bool:
    teams = [t for t in orm.table("crm.team").values() if t["active"]]
    return min(teams, key=lambda t: (t["sequence"], t["id"]))["id"] if teams else False


def _company_currency(orm: Any, uid: int) -> int | bool:
    return next((c["id"] for c in orm.table("res.currency").values()
                 if c["name"] == orm.company_currency), False)


def _magic() -> dict[str, F]:
    return {
        "id": F("integer", "ID", readonly=True, computed=True),
        "display_name": F("char", "Display Name", readonly=True, computed=True),
        "create_date": F("datetime", "Created on", readonly=True, computed=True),
        "write_date": F("datetime", "Last Updated on", readonly=True, computed=True),
        "create_uid": F("many2one", "Created by", relation="res.users", readonly=True,
                        computed=True),
        "write_uid": F("many2one", "Last Updated by", relation="res.users", readonly=True,
                       computed=True),
    }


def _address() -> dict[str, F]:
    return {
        "street": F("char", "Street"), "street2": F("char", "Street2"), "city": F("char", "City"),
        "zip": F("char", "Zip"),
        "state_id": F("many2one", "State", relation="res.country.state", ondelete="restrict"),
        "country_id": F("many2one", "Country", relation="res.country", ondelete="restrict"),
    }


#: res.partner ``tz``: as Odoo's ``_tzs``, POSIX ``Etc/*`` entries sorted last
TIMEZONES = [(z, z) for z in sorted(available_timezones(),
                                    key=lambda z: z if not z.startswith("Etc/") else "_" + z)]


def _main_company(orm: Any, uid: int) -> int | bool:
    companies = orm.table("res.company")
    return min(companies) if companies else False


def _one_hour(orm: Any, uid: int) -> float:
    return 1.0


def _now(orm: Any, uid: int) -> str:
    return str(orm.now())


MESSAGE_TYPES = [("email", "Incoming Email"), ("comment", "Comment"),
                 ("email_outgoing", "Outgoing Email"), ("notification", "System notification"),
                 ("auto_comment", "Automated Targeted Notification"),
                 ("user_notification", "User Specific Notification")]
MOVE_TYPES = [("entry", "Journal Entry"), ("out_invoice", "Customer Invoice"),
              ("out_refund", "Customer Credit Note"), ("in_invoice", "Vendor Bill"),
              ("in_refund", "Vendor Credit Note"), ("out_receipt", "Sales Receipt"),
              ("in_receipt", "Purchase Receipt")]


def build_models(version: int, accounting: bool) -> dict[str, ModelDef]:
    """Every model of a fresh database of ``version``, with Accounting installed or not."""
    m: dict[str, ModelDef] = {}

    def add(name: str, description: str, fields: dict[str, F], **kw: Any) -> None:
        m[name] = ModelDef(name, description, {**_magic(), **fields}, **kw)

    partner = {
        "name": F("char", "Name", index=True),
        "is_company": F("boolean", "Is a Company", default=False),
        "company_type": F("selection", "Company Type", computed=True,
                          selection=[("person", "Individual"), ("company", "Company")]),
        "parent_id": F("many2one", "Related Company", relation="res.partner"),
        "child_ids": F("one2many", "Contact", relation="res.partner", relation_field="parent_id"),
        "type": F("selection", "Address Type", default="contact",
                  selection=[("contact", "Contact"), ("invoice", "Invoice Address"),
                             ("delivery", "Delivery Address"), ("other", "Other Address")]),
        "email": F("char", "Email"), "phone": F("char", "Phone"),
        **_address(),
        "comment": F("html", "Notes"),
        "user_id": F("many2one", "Salesperson", relation="res.users"),
        "website": F("char", "Website Link"), "function": F("char", "Job Position"),
        "vat": F("char", "Tax ID"), "ref": F("char", "Reference"),
        "lang": F("selection", "Language", selection=[("en_US", "English (US)")],
                  default="en_US"),
        "active": F("boolean", "Active", default=True),
        "complete_name": F("char", "Complete Name", computed=True, index=True),
        "category_id": F("many2many", "Tags", relation="res.partner.category"),
        "company_id": F("many2one", "Company", relation="res.company", index=True),
        "industry_id": F("many2one", "Industry", relation="res.partner.industry"),
        "tz": F("selection", "Timezone", selection=TIMEZONES,
                help="When printing documents and exporting/importing data, time values are"
                     " computed according to this timezone."),
        "commercial_partner_id": F("many2one", "Commercial Entity", relation="res.partner",
                                   computed=True, index=True),
    }
    if version <= 18:
        partner["mobile"] = F("char", "Mobile")
        partner["title"] = F("many2one", "Title", relation="res.partner.title")
    add("res.partner", "Contact", partner, order="complete_name ASC, id DESC", thread=True)
    add("res.partner.category", "Partner Tags", {
        "name": F("char", "Tag Name", required=True),
        "color": F("integer", "Color"),
        "parent_id": F("many2one", "Parent Category", relation="res.partner.category",
                       ondelete="cascade", index=True),
        "child_ids": F("one2many", "Child Tags", relation="res.partner.category",
                       relation_field="parent_id"),
        "active": F("boolean", "Active", default=True,
                    help="The active field allows you to hide the category without removing"
                         " it.")}, order="name")
    if version <= 18:
        add("res.partner.title", "Partner Title", {
            "name": F("char", "Title", required=True),
            "shortcut": F("char", "Abbreviation")}, order="name")
    add("res.partner.industry", "Industry", {
        "name": F("char", "Name"), "full_name": F("char", "Full Name"),
        "active": F("boolean", "Active", default=True)}, order="name")
    add("res.company", "Companies", {
        "name": F("char", "Company Name", required=True),
        "partner_id": F("many2one", "Partner", relation="res.partner", required=True,
                        ondelete="restrict"),
        "currency_id": F("many2one", "Currency", relation="res.currency"),
        "sequence": F("integer", "Sequence", default=10),
        "active": F("boolean", "Active", default=True)},
        order="sequence, name", create_group="admin", write_group="admin")

    users = {
        "login": F("char", "Login", required=True),
        "name": F("char", "Name", required=True),
        "email": F("char", "Email"),
        "partner_id": F("many2one", "Related Partner", relation="res.partner",
                        ondelete="restrict"),
        "active": F("boolean", "Active", default=True),
        "share": F("boolean", "Share User", default=False),
        ("group_ids" if version >= 19 else "groups_id"): F("many2many", "Groups",
                                                           relation="res.groups"),
    }
    add("res.users", "User", users, order="name, login", create_group="admin",
        write_group="admin")
    add("res.groups", "Access Groups", {"name": F("char", "Name", required=True)},
        create_group="admin", write_group="admin")
    add("res.country", "Country", {"name": F("char", "Country Name", required=True),
                                   "code": F("char", "Country Code")},
        order="name", create_group="admin", write_group="admin")
    add("res.country.state", "Country state", {
        "name": F("char", "State Name", required=True),
        "code": F("char", "State Code", required=True),
        "country_id": F("many2one", "Country", relation="res.country", required=True)},
        order="code", create_group="admin", write_group="admin")

    lead = {
        "name": F("char", "Opportunity", required=True, index=True),
        "type": F("selection", "Type", default="opportunity",
                  selection=[("lead", "Lead"), ("opportunity", "Opportunity")]),
        "partner_id": F("many2one", "Customer", relation="res.partner"),
        "contact_name": F("char", "Contact Name"), "partner_name": F("char", "Company Name"),
        "email_from": F("char", "Email"), "phone": F("char", "Phone"),
        "stage_id": F("many2one", "Stage", relation="crm.stage", default=_first_stage,
                      ondelete="restrict"),
        "team_id": F("many2one", "Sales Team", relation="crm.team", default=_first_team),
        "user_id": F("many2one", "Salesperson", relation="res.users", default=_current_user),
        "expected_revenue": F("monetary", "Expected Revenue"),
        "probability": F("float", "Probability", default=10.0),
        "date_deadline": F("date", "Expected Closing"),
        "date_closed": F("datetime", "Closed Date"),
        "description": F("html", "Notes"),
        "priority": F("selection", "Priority", default="0",
                      selection=[("0", "Low"), ("1", "Medium"), ("2", "High"),
                                 ("3", "Very High")]),
        "active": F("boolean", "Active", default=True),
        "tag_ids": F("many2many", "Tags", relation="crm.tag",
                     help="Classify and analyze your lead/opportunity categories like: Training,"
                          " Service"),
        "lost_reason_id": F("many2one", "Lost Reason", relation="crm.lost.reason",
                            ondelete="restrict", index=True),
        "company_id": F("many2one", "Company", relation="res.company", index=True,
                        default=_main_company),
        **_address(),
    }
    if version <= 18:
        lead["mobile"] = F("char", "Mobile")
    add("crm.lead", "Lead/Opportunity", lead, order="priority desc, id desc", thread=True)
    add("crm.tag", "CRM Tag", {
        "name": F("char", "Tag Name", required=True),
        "color": F("integer", "Color")}, order="id")
    add("crm.lost.reason", "Opp. Lost Reason", {
        "name": F("char", "Description", required=True),
        "active": F("boolean", "Active", default=True)}, order="id")
    add("calendar.event", "Calendar Event", {
        "name": F("char", "Meeting Subject", required=True),
        "start": F("datetime", "Start", required=True, default=_now),
        "stop": F("datetime", "Stop", required=True),
        "allday": F("boolean", "All Day", default=False),
        "start_date": F("date", "Start Date"), "stop_date": F("date", "End Date"),
        "duration": F("float", "Duration", default=_one_hour),
        "description": F("html", "Description"),
        "location": F("char", "Location"),
        "partner_ids": F("many2many", "Attendees", relation="res.partner"),
        "user_id": F("many2one", "Organizer", relation="res.users", default=_current_user),
        "res_model_id": F("many2one", "Document Model", relation="ir.model",
                          ondelete="cascade"),
        "res_model": F("char", "Document Model Name", computed=True),
        "res_id": F("many2one_reference", "Document ID"),
        "opportunity_id": F("many2one", "Opportunity", relation="crm.lead",
                            index=True),
        "show_as": F("selection", "Show as", default="busy",
                     selection=[("free", "Available"), ("busy", "Busy")]),
        "active": F("boolean", "Active", default=True)}, order="start desc", thread=True)
    add("crm.stage", "CRM Stages", {
        "name": F("char", "Stage Name", required=True),
        "sequence": F("integer", "Sequence", default=1),
        "is_won": F("boolean", "Is Won Stage?", default=False),
        "fold": F("boolean", "Folded in Pipeline", default=False),
        "requirements": F("text", "Requirements"),
        "team_id": F("many2one", "Sales Team", relation="crm.team")},
        order="sequence, name, id", create_group="admin", write_group="admin")
    add("crm.team", "Sales Team", {
        "name": F("char", "Sales Team", required=True),
        "sequence": F("integer", "Sequence", default=10),
        "user_id": F("many2one", "Team Leader", relation="res.users"),
        "active": F("boolean", "Active", default=True)},
        order="sequence ASC, create_date DESC, id DESC", create_group="admin",
        write_group="admin")
    add("res.currency", "Currency", {
        "name": F("char", "Currency", required=True), "symbol": F("char", "Symbol"),
        "active": F("boolean", "Active", default=True)},
        order="active desc, name", create_group="admin", write_group="admin")
    add("mail.message.subtype", "Message subtypes", {
        "name": F("char", "Message Type", required=True),
        "internal": F("boolean", "Internal Only", default=False),
        "description": F("text", "Description")},
        order="sequence, id", create_group="admin", write_group="admin")
    m["mail.message.subtype"].fields["sequence"] = F("integer", "Sequence", default=1)

    atype = {
        "name": F("char", "Name", required=True),
        "category": F("selection", "Action", default="default",
                      selection=[("default", "None"), ("upload_file", "Upload Document"),
                                 ("phonecall", "Phonecall"), ("meeting", "Meeting")]),
        "res_model": F("char", "Model"),
        "delay_count": F("integer", "Schedule", default=0),
        "icon": F("char", "Icon"), "sequence": F("integer", "Sequence", default=10),
        "active": F("boolean", "Active", default=True),
    }
    if version in (17, 18):
        atype["keep_done"] = F("boolean", "Keep Done", default=False)
    add("mail.activity.type", "Activity Type", atype, order="sequence, id",
        create_group="admin", write_group="admin")
    add("mail.activity", "Activity", {
        "res_model_id": F("many2one", "Document Model", relation="ir.model", required=True,
                          ondelete="cascade"),
        "res_model": F("char", "Related Document Model", computed=True),
        "res_id": F("many2one_reference", "Related Document ID", index=True),
        "activity_type_id": F("many2one", "Activity Type", relation="mail.activity.type",
                              ondelete="restrict"),
        "summary": F("char", "Summary"), "note": F("html", "Note"),
        "date_deadline": F("date", "Due Date", required=True, default=_today),
        "date_done": F("date", "Done Date", readonly=True),
        "user_id": F("many2one", "Assigned to", relation="res.users", required=True,
                     default=_current_user),
        "active": F("boolean", "Active", default=True),
    }, order="date_deadline ASC, id ASC")
    add("mail.message", "Message", {
        "model": F("char", "Related Document Model"),
        "res_id": F("many2one_reference", "Related Document ID"),
        "body": F("html", "Contents", default=""),
        "subject": F("char", "Subject"),
        "message_type": F("selection", "Type", required=True, default="comment",
                          selection=MESSAGE_TYPES),
        "author_id": F("many2one", "Author", relation="res.partner"),
        "subtype_id": F("many2one", "Subtype", relation="mail.message.subtype",
                        ondelete="set null"),
        "date": F("datetime", "Date"),
        "attachment_ids": F("many2many", "Attachments", relation="ir.attachment"),
    }, order="id desc")
    add("ir.attachment", "Attachment", {
        "name": F("char", "Name", required=True),
        "datas": F("binary", "File Content (base64)"),
        "res_model": F("char", "Resource Model"),
        "res_id": F("many2one_reference", "Resource ID"),
        "mimetype": F("char", "Mime Type"),
        "type": F("selection", "Type", required=True, default="binary",
                  selection=[("url", "URL"), ("binary", "File")]),
        "url": F("char", "Url"),
        "file_size": F("integer", "File Size", readonly=True),
        "checksum": F("char", "Checksum/SHA1", readonly=True, index=True),
        "description": F("text", "Description"),
    }, order="id desc")

    add("ir.model", "Models", {
        "model": F("char", "Model", required=True), "name": F("char", "Model Description"),
        "state": F("selection", "Type", selection=[("manual", "Custom Object"),
                                                   ("base", "Base Object")], default="manual"),
        "field_id": F("one2many", "Fields", relation="ir.model.fields",
                      relation_field="model_id")},
        order="model", create_group="admin", write_group="admin")
    add("ir.model.fields", "Fields", {
        "name": F("char", "Field Name", required=True, default="x_"),
        "model": F("char", "Model Name", computed=True),
        "model_id": F("many2one", "Model", relation="ir.model", required=True,
                      ondelete="cascade"),
        "field_description": F("char", "Field Label", required=True),
        "help": F("text", "Field Help"),
        "ttype": F("selection", "Field Type", required=True,
                   selection=[(t, t) for t in FIELD_TYPES]),
        "selection": F("char", "Selection Options (Deprecated)"),
        "selection_ids": F("one2many", "Selection Options", relation="ir.model.fields.selection",
                           relation_field="field_id"),
        "relation": F("char", "Related Model"), "relation_field": F("char", "Related Field"),
        "required": F("boolean", "Required"), "readonly": F("boolean", "Readonly"),
        "index": F("boolean", "Indexed"), "store": F("boolean", "Stored", default=True),
        "on_delete": F("selection", "On Delete", default="set null",
                       selection=[("cascade", "Cascade"), ("set null", "Set NULL"),
                                  ("restrict", "Restrict")]),
        "state": F("selection", "Type", required=True, default="manual",
                   selection=[("manual", "Custom Field"), ("base", "Base Field")])},
        order="name", rec_name="field_description", create_group="admin", write_group="admin")
    add("ir.model.fields.selection", "Fields Selection", {
        "field_id": F("many2one", "Field", relation="ir.model.fields", required=True,
                      ondelete="cascade"),
        "value": F("char", "Value", required=True), "name": F("char", "Name", required=True),
        "sequence": F("integer", "Sequence", default=1000)},
        order="sequence, id", create_group="admin", write_group="admin")
    add("ir.model.data", "Model Data", {
        "name": F("char", "External Identifier", required=True),
        "module": F("char", "Module", required=True, default=""),
        "model": F("char", "Model Name", required=True),
        "res_id": F("many2one_reference", "Record ID"),
        "complete_name": F("char", "Complete ID", computed=True)},
        order="module, model, name", create_group="admin", write_group="admin")
    add("ir.module.module", "Module", {
        "name": F("char", "Technical Name", required=True, readonly=True),
        "shortdesc": F("char", "Module Name", readonly=True),
        "state": F("selection", "Status", readonly=True, default="uninstalled",
                   selection=[("uninstallable", "Uninstallable"), ("uninstalled", "Not Installed"),
                              ("installed", "Installed"), ("to upgrade", "To be upgraded"),
                              ("to remove", "To be removed"), ("to install", "To be installed")])},
        order="name", create_group="admin", write_group="admin")

    if accounting:
        add("account.move", "Journal Entry", {
            "name": F("char", "Number", readonly=True, default="/"),
            "move_type": F("selection", "Type", required=True, default="entry",
                           selection=MOVE_TYPES),
            "partner_id": F("many2one", "Partner", relation="res.partner", ondelete="restrict"),
            "currency_id": F("many2one", "Currency", relation="res.currency", required=True,
                             default=_company_currency),
            "invoice_date": F("date", "Invoice/Bill Date"),
            "invoice_date_due": F("date", "Due Date"),
            "ref": F("char", "Reference"),
            "state": F("selection", "Status", readonly=True, default="draft",
                       selection=[("draft", "Draft"), ("posted", "Posted"),
                                  ("cancel", "Cancelled")]),
            "amount_total": F("monetary", "Total", computed=True),
            "invoice_line_ids": F("one2many", "Invoice lines", relation="account.move.line",
                                  relation_field="move_id")}, order="date desc, name desc, id")
        m["account.move"].fields["date"] = F("date", "Date", default=_today)
        add("account.move.line", "Journal Item", {
            "move_id": F("many2one", "Journal Entry", relation="account.move", required=True,
                         ondelete="cascade"),
            "name": F("char", "Label"), "quantity": F("float", "Quantity", default=1.0),
            "price_unit": F("float", "Unit Price"),
            "price_subtotal": F("monetary", "Subtotal", computed=True)}, order="id")
    return m
