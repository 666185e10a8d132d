"""A fresh Odoo database: seed data, users and their credentials, the admin state dump.

A destination sandbox starts as an empty account (BRIEF): the company, the administrator, the
configured users, the standard countries/states, CRM stages, activity types and modules that a
new CRM database has — and nothing a migration would create. Passwords and API keys live beside
the records, never in them, so ``/_sandbox/state`` never shows a secret.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ferry.sandbox.odoo.exceptions import AccessDenied
from ferry.sandbox.odoo.methods import ModelProxy
from ferry.sandbox.odoo.orm import Orm


def _countries() -> dict[str, tuple[str, str]]:
    """{code: (name, xml id)}: every ``res.country`` row a fresh database has, as odoo's
    ``base/data/res_country_data.xml`` (github.com/odoo/odoo) names them: ISO 3166-1's 249
    countries and Kosovo (XK), under odoo's own names (Czech Republic, Congo (DRC), Macau);
    the United Kingdom's xml id is ``uk``. A real database lists them all, so a patient abroad
    finds their country here too."""
    path = Path(__file__).with_name("res_country.csv")
    with path.open(encoding="utf-8", newline="") as f:
        return {r["code"]: (r["name"], r["xmlid"]) for r in csv.DictReader(f)}


COUNTRIES = _countries()


def _states() -> list[tuple[str, str, str]]:
    """(country code, state code, name): these countries' rows of odoo's
    ``base/data/res.country.state.csv`` (github.com/odoo/odoo), codes and names as a fresh
    database has them. Its United Kingdom rows are historic counties with codes like ``O5``
    (Kent), not the four nations; Spain's are provinces, not autonomous communities."""
    path = Path(__file__).with_name("res_country_state.csv")
    with path.open(encoding="utf-8", newline="") as f:
        return [(r["country"], r["code"], r["name"]) for r in csv.DictReader(f)]


STAGES = [("stage_lead1", "New", 1, False), ("stage_lead2", "Qualified", 2, False),
          ("stage_lead3", "Proposition", 3, False), ("stage_lead4", "Won", 70, True)]
ACTIVITY_TYPES = [("mail_activity_data_email", "Email", "default", "fa-envelope"),
                  ("mail_activity_data_call", "Call", "phonecall", "fa-phone"),
                  ("mail_activity_data_meeting", "Meeting", "meeting", "fa-users"),
                  ("mail_activity_data_todo", "To-Do", "default", "fa-check"),
                  ("mail_activity_data_upload_document", "Upload Document", "upload_file",
                   "fa-upload")]
CURRENCIES = [("USD", "$"), ("EUR", "€"), ("GBP", "£"), ("INR", "₹"), ("AUD", "$")]
SUBTYPES = [("mt_comment", "Discussions", False), ("mt_note", "Note", True),
            ("mt_activities", "Activities", False)]
#: base data (odoo 17 ``base/data``): partner titles (xmlid, name, shortcut) — 17/18 only
TITLES = [("res_partner_title_madam", "Madam", "Mrs."), ("res_partner_title_miss", "Miss", "Miss"),
          ("res_partner_title_mister", "Mister", "Mr."),
          ("res_partner_title_doctor", "Doctor", "Dr."),
          ("res_partner_title_prof", "Professor", "Prof.")]
#: part of ``base/data/res.partner.industry.csv`` (NACE sections)
INDUSTRIES = [("M", "Scientific", "M - PROFESSIONAL, SCIENTIFIC AND TECHNICAL ACTIVITIES"),
              ("P", "Education", "P - EDUCATION"),
              ("Q", "Health/Social", "Q - HUMAN HEALTH AND SOCIAL WORK ACTIVITIES"),
              ("S", "Other Services", "S - OTHER SERVICE ACTIVITIES")]
#: ``crm/data/crm_lost_reason_data.xml``
LOST_REASONS = [("lost_reason_1", "Too expensive"),
                ("lost_reason_2", "We don't have people/skills"),
                ("lost_reason_3", "Not enough stock")]
MODULES = [("base", "Base", True), ("web", "Web", True), ("mail", "Discuss", True),
           ("contacts", "Contacts", True), ("calendar", "Calendar", True),
           ("crm", "CRM", True), ("sale", "Sales", False), ("account", "Invoicing", None),
           ("account_accountant", "Accounting", False)]


@dataclass
class Login:
    uid: int
    password: str
    api_keys: list[str] = field(default_factory=list)


@dataclass
class Database:
    """The ORM plus what is not a record: the db name and the credentials."""

    name: str
    orm: Orm
    logins: dict[str, Login]

    def authenticate(self, db: str, login: str, password: str) -> int | bool:
        self.check_db(db)
        entry = self.logins.get(str(login))
        if entry is None or not password:
            return False
        if password != entry.password and password not in entry.api_keys:
            return False
        user = self.orm.table("res.users").get(entry.uid)
        return entry.uid if user and user["active"] else False

    def check(self, db: str, uid: Any, password: Any) -> int:
        """``object`` calls: wrong db/uid/password is AccessDenied (Fault 3)."""
        self.check_db(db)
        for login, entry in self.logins.items():
            if entry.uid == uid and isinstance(password, str) and password \
                    and self.authenticate(db, login, password) == uid:
                return int(uid)
        raise AccessDenied()

    def check_db(self, db: Any) -> None:
        if db != self.name:
            raise RuntimeError(f'FATAL:  database "{db}" does not exist')

    def dump(self) -> dict[str, Any]:
        orm = self.orm
        with orm.lock:
            return {"db": self.name, "version": orm.version, "accounting": orm.accounting,
                    "models": {m: {str(i): dict(r) for i, r in sorted(t.items())}
                               for m, t in orm.data.items()},
                    "custom_fields": {m: sorted(n for n, f in md.fields.items() if f.manual)
                                      for m, md in orm.models.items()}}


def _xmlid(orm: Orm, module: str, name: str, model: str, res_id: int) -> None:
    orm.insert("ir.model.data", {"module": module, "name": name, "model": model, "res_id": res_id})


def new_database(*, version: int, accounting: bool, db: str, admin_login: str,
                 admin_password: str, users: list[str], seed: int) -> Database:
    orm = Orm(version, accounting)
    root = ModelProxy(orm, 1, "res.partner", {})
    orm.admins.update({1, 2})

    def create(model: str, vals: dict[str, Any]) -> int:
        return ModelProxy(orm, 1, model, {})._create_one(vals)

    for model, md in orm.models.items():  # the registry as ir.model / ir.model.fields
        mid = orm.insert("ir.model", {"model": model, "name": md.description, "state": "base"})
        for fname, f in md.fields.items():
            orm.insert("ir.model.fields", {
                "name": fname, "model": model, "model_id": mid, "field_description": f.string,
                "help": f.help or False, "ttype": f.type, "selection": False,
                "relation": f.relation or False, "relation_field": f.relation_field or False,
                "required": f.required, "readonly": f.readonly or f.computed, "index": f.index,
                "store": not f.computed, "on_delete": f.ondelete, "state": "base"})
    admin_group = create("res.groups", {"name": "Administration / Settings"})
    user_group = create("res.groups", {"name": "User types / Internal User"})
    groups = "group_ids" if version >= 19 else "groups_id"
    company = root._create_one({"name": "My Company", "is_company": True})
    _xmlid(orm, "base", "main_partner", "res.partner", company)
    _xmlid(orm, "base", "main_company", "res.company",
           create("res.company", {"name": "My Company", "partner_id": company}))
    bot = root._create_one({"name": "OdooBot", "active": False})
    create("res.users", {"login": "__system__", "name": "OdooBot", "partner_id": bot,
                         "active": False, groups: [[6, 0, [user_group]]]})
    admin_email = admin_login if "@" in admin_login else "admin@example.com"
    admin_partner = root._create_one({"name": "Administrator", "email": admin_email,
                                      "parent_id": company})
    admin = create("res.users", {"login": admin_login, "name": "Administrator",
                                 "email": admin_email, "partner_id": admin_partner,
                                 groups: [[6, 0, [admin_group, user_group]]]})
    _xmlid(orm, "base", "user_admin", "res.users", admin)
    key = hashlib.sha256(f"odoo-sandbox:{seed}:{admin_login}".encode()).hexdigest()[:40]
    logins = {admin_login: Login(admin, admin_password, [key])}
    for email in users:
        name = email.split("@")[0].replace(".", " ").replace("_", " ").title()
        uid = create("res.users", {"login": email, "name": name, "email": email,
                                   groups: [[6, 0, [user_group]]]})
        logins[email] = Login(uid, f"user-{hashlib.sha256(email.encode()).hexdigest()[:12]}")
    countries: dict[str, int] = {}
    for code, (cname, xml) in COUNTRIES.items():
        countries[code] = create("res.country", {"name": cname, "code": code})
        _xmlid(orm, "base", xml, "res.country", countries[code])
    for country, scode, sname in _states():
        create("res.country.state",
               {"name": sname, "code": scode, "country_id": countries[country]})
    _xmlid(orm, "sales_team", "team_sales_department", "crm.team",
           create("crm.team", {"name": "Sales", "sequence": 1, "user_id": admin}))
    for code, symbol in CURRENCIES:
        create("res.currency", {"name": code, "symbol": symbol})
    orm.table("res.company")[1]["currency_id"] = next(
        c["id"] for c in orm.table("res.currency").values() if c["name"] == orm.company_currency)
    if "res.partner.title" in orm.models:
        for xml, name, shortcut in TITLES:
            _xmlid(orm, "base", xml, "res.partner.title",
                   create("res.partner.title", {"name": name, "shortcut": shortcut}))
    for code, name, full in INDUSTRIES:
        _xmlid(orm, "base", f"res_partner_industry_{code}", "res.partner.industry",
               create("res.partner.industry", {"name": name, "full_name": full}))
    for xml, name in LOST_REASONS:
        _xmlid(orm, "crm", xml, "crm.lost.reason", create("crm.lost.reason", {"name": name}))
    for xml, name, internal in SUBTYPES:
        _xmlid(orm, "mail", xml, "mail.message.subtype", create(
            "mail.message.subtype", {"name": name, "internal": internal}))
    for xml, name, seq, won in STAGES:
        _xmlid(orm, "crm", xml, "crm.stage", create("crm.stage", {
            "name": name, "sequence": seq, "is_won": won}))
    for seq, (xml, name, category, icon) in enumerate(ACTIVITY_TYPES):
        _xmlid(orm, "mail", xml, "mail.activity.type", create("mail.activity.type", {
            "name": name, "category": category, "icon": icon, "sequence": seq}))
    for name, desc, installed in MODULES:
        state = "installed" if (installed if installed is not None else accounting) \
            else "uninstalled"
        if name == "account_accountant":
            state = "uninstallable"  # Enterprise only: not in a Community database
        orm.insert("ir.module.module", {"name": name, "shortdesc": desc, "state": state})
    return Database(db, orm, logins)
