"""The server-side exceptions whose class decides the fault code (see NOTES 1.4).

``code`` is the ``/xmlrpc/2`` integer faultCode; ``v1`` the string prefix of the legacy
``/xmlrpc`` endpoints; ``dotted`` the ``data.name`` JSON-RPC reports. Anything that is not one of
these (ValueError, TypeError, KeyError...) becomes Fault 1 with a traceback, as in Odoo.
"""

from __future__ import annotations


class OdooException(Exception):
    code = 1
    v1 = ""
    dotted = "odoo.exceptions.UserError"


class UserError(OdooException):
    code = 2
    v1 = "warning -- UserError"
    dotted = "odoo.exceptions.UserError"


class ValidationError(UserError):
    dotted = "odoo.exceptions.ValidationError"


class MissingError(UserError):
    v1 = "warning -- MissingError"
    dotted = "odoo.exceptions.MissingError"


class AccessError(OdooException):
    code = 4
    v1 = "warning -- AccessError"
    dotted = "odoo.exceptions.AccessError"


class AccessDenied(OdooException):
    code = 3
    v1 = "AccessDenied"
    dotted = "odoo.exceptions.AccessDenied"

    def __init__(self, message: str = "Access Denied") -> None:
        super().__init__(message)


def not_null(model_label: str, model: str, field_label: str, field: str) -> ValidationError:
    return ValidationError(
        "The operation cannot be completed:\n- Create/update: a mandatory field is not set.\n"
        "- Delete: another model requires the record being deleted. If possible, archive it"
        f" instead.\n\nModel: {model_label} ({model})\nField: {field_label} ({field})")


def acl(operation: str, model_label: str, model: str) -> AccessError:
    return AccessError(
        f"You are not allowed to {operation} '{model_label}' ({model}) records.\n\n"
        "This operation is allowed for the following groups:\n\t- Administration/Settings\n\n"
        "Contact your administrator to request access if necessary.")
