"""A region (state, province, county) as a practice writes it, in the other forms that name the
same region: never a neighbour, a part or a successor of it.

A destination's list of regions is its own: Odoo's ``res.country.state`` rows for the United
Kingdom are Royal Mail's *former postal counties* (odoo's ``base/data/res.country.state.csv``:
Aberdeenshire … Worcestershire, the 1974 counties Avon, Cleveland, Clwyd, Dyfed, Gwent, Mid
Glamorgan, Merseyside, Tyne and Wear, the Scottish islands), frozen when Royal Mail stopped using
counties in 1996 and removed them from its Postcode Address File (a county is no part of a UK
postal address since: the post town and postcode route the mail). A practice writes what it
knows: ``Glos``, ``Co. Durham``, ``N Yorks``, ``Devonshire``. Those are the same county, and
``region_forms`` gives each form a list may hold it under. What it never does:

* map a modern council area to the postal county it mostly lies in (``Greater Manchester`` was
  Lancashire's and Cheshire's; ``Moray`` took in part of Banffshire; ``Pembrokeshire`` was part of
  Dyfed): that is a guess about which row the clinic would want, and it replaces the county the
  patient wrote with another. Such a name matches nothing, and the destination keeps it as
  written (``ferry.destinations.odoo.notes``);
* expand a name that is itself ambiguous (``Yorkshire``: North, South or West; ``Sussex``).

The forms come from public lists, named at each table: the customary abbreviations and
alternative names in Wikipedia's tables of the historic counties of England, Wales and Scotland
and of the counties of Northern Ireland (their "abbreviation" and "alternative names" columns),
and, elsewhere, renamings that ISO 3166-2 records (India's Orissa is Odisha since 2011; odoo
still says Orissa). Keys are compared folded: case, accents, dots, apostrophes and hyphens aside,
``&`` as ``and``.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["ALIASES", "fold", "region_forms"]


def fold(text: str) -> str:
    """``text`` as regions are compared: lower case, no accents, ``&`` as ``and``, hyphens,
    slashes and commas as spaces, dots and apostrophes dropped (``Hawke's Bay`` = ``Hawkes Bay``,
    ``Inverness-Shire`` = ``inverness shire``, ``Québec`` = ``quebec``)."""
    t = unicodedata.normalize("NFKD", text.casefold())
    t = "".join(ch for ch in t if not unicodedata.combining(ch))
    t = t.replace("&", " and ").replace("’", "").replace("'", "").replace(".", " ")
    return " ".join(re.sub(r"[-/,]", " ", t).split())


#: GB: a county's other names → the name of its former postal county (odoo's GB rows).
#: Wikipedia, "Historic counties of England", list of counties (abbreviation and alternative
#: names columns), for the counties that were postal counties under the same name; "Historic
#: counties of Wales" (Glamorgan: Glam, with Royal Mail's Mid/South/West); "Historic counties of
#: Scotland" (alternative names); "Counties of Northern Ireland" (County Londonderry: also
#: County Derry). Left out: ``Here`` (Herefordshire's, an English word), names of counties that
#: are no single postal county (Yorkshire, Sussex, Cumberland, Westmorland, Rutland, Hunts).
_GB = {
    "beds": "bedfordshire", "county of bedford": "bedfordshire",
    "berks": "berkshire", "county of berks": "berkshire",
    "bucks": "buckinghamshire", "county of buckingham": "buckinghamshire",
    "cambs": "cambridgeshire", "county of cambridge": "cambridgeshire",
    "ches": "cheshire", "county of chester": "cheshire",
    "corn": "cornwall",
    "derbys": "derbyshire", "county of derby": "derbyshire",
    "devonshire": "devon",
    "dor": "dorset", "dorsetshire": "dorset",
    "durham": "county durham", "co dur": "county durham", "county of durham": "county durham",
    "co durham": "county durham",
    "glos": "gloucestershire", "county of gloucester": "gloucestershire",
    "hants": "hampshire", "southamptonshire": "hampshire", "county of southampton": "hampshire",
    "county of hereford": "herefordshire",
    "herts": "hertfordshire", "county of hertford": "hertfordshire",
    "lancs": "lancashire", "county of lancaster": "lancashire",
    "leics": "leicestershire", "county of leicester": "leicestershire",
    "lincs": "lincolnshire", "county of lincoln": "lincolnshire",
    "middx": "middlesex",
    "northants": "northamptonshire", "county of northampton": "northamptonshire",
    "northumb": "northumberland",
    "notts": "nottinghamshire", "county of nottingham": "nottinghamshire",
    "oxon": "oxfordshire", "county of oxford": "oxfordshire",
    "salop": "shropshire", "county of salop": "shropshire",
    "som": "somerset", "somersetshire": "somerset",
    "staffs": "staffordshire", "county of stafford": "staffordshire",
    "warks": "warwickshire", "county of warwick": "warwickshire",
    "wilts": "wiltshire", "county of wilts": "wiltshire",
    "worcs": "worcestershire", "county of worcester": "worcestershire",
    # Wales: Royal Mail's Glamorgans, abbreviated as their historic county is
    "mid glam": "mid glamorgan", "m glam": "mid glamorgan",
    "south glam": "south glamorgan", "s glam": "south glamorgan",
    "west glam": "west glamorgan", "w glam": "west glamorgan",
    # Scotland: a historic county's other name (odoo's row names the county, not the council)
    "argyllshire": "argyll", "forfarshire": "angus", "elginshire": "morayshire",
    "haddingtonshire": "east lothian", "linlithgowshire": "west lothian",
    "edinburghshire": "midlothian", "dumbartonshire": "dunbartonshire",
    "orkney islands": "orkney", "shetland": "shetland islands", "zetland": "shetland islands",
    # Northern Ireland
    "derry": "county londonderry", "county derry": "county londonderry",
    "co derry": "county londonderry",
}
#: GB: the compass word before a county, as Royal Mail abbreviated it (N Yorkshire, W Sussex)
_COMPASS = {"n": "north", "s": "south", "e": "east", "w": "west", "m": "mid"}
#: GB: the abbreviated last word of a county whose first word is a compass point (N Yorks,
#: W Mids); alone they name no one county (Yorkshire) and stay unmatched
_LAST_WORD = {"yorks": "yorkshire", "mids": "midlands", "glam": "glamorgan"}

#: ISO 3166-2 renamings a destination's list may not have followed, and common other spellings
#: of the same region, by country: name as written → name in odoo's base data
ALIASES: dict[str, dict[str, str]] = {
    "GB": _GB,
    "IN": {"odisha": "orissa", "chhattisgarh": "chattisgarh", "pondicherry": "puducherry",
           "uttaranchal": "uttarakhand", "andaman and nicobar islands": "andaman and nicobar"},
    "NZ": {"manawatu whanganui": "manawatu wanganui"},
    "CA": {"newfoundland": "newfoundland and labrador", **{
        # the traditional abbreviations, beside the two-letter symbols, as the Government of
        # Canada's style guide (The Canadian Style, Translation Bureau) lists them, with their
        # French forms where they differ
        "alta": "alberta", "man": "manitoba", "nfld": "newfoundland and labrador",
        "nfld and lab": "newfoundland and labrador", "n w t": "northwest territories",
        "t n o": "northwest territories", "nun": "nunavut", "ont": "ontario",
        "p e i": "prince edward island", "i p e": "prince edward island", "que": "quebec",
        "sask": "saskatchewan", "yuk": "yukon", "n b": "new brunswick", "n s": "nova scotia",
        "b c": "british columbia", "c b": "british columbia", "n l": "newfoundland and labrador",
        "y t": "yukon"}},
    # the AP Stylebook's state abbreviations (the ones that are not the postal codes), as US
    # addresses typed by hand still use them
    "US": {"ala": "alabama", "ariz": "arizona", "ark": "arkansas", "calif": "california",
           "colo": "colorado", "conn": "connecticut", "del": "delaware", "fla": "florida",
           "ill": "illinois", "ind": "indiana", "kan": "kansas", "mass": "massachusetts",
           "mich": "michigan", "minn": "minnesota", "miss": "mississippi", "mont": "montana",
           "neb": "nebraska", "nev": "nevada", "okla": "oklahoma", "ore": "oregon",
           "tenn": "tennessee", "wash": "washington", "w va": "west virginia",
           "wis": "wisconsin", "wyo": "wyoming", "n y": "new york", "n j": "new jersey",
           "n c": "north carolina", "n d": "north dakota", "n h": "new hampshire",
           "n m": "new mexico", "r i": "rhode island", "s c": "south carolina",
           "s d": "south dakota", "d c": "district of columbia"},
}


def _compass(key: str) -> str | None:
    """``n yorks`` → ``north yorkshire``; None when the key has no abbreviated compass word."""
    words = key.split()
    if len(words) < 2 or words[0] not in _COMPASS:
        return None
    last = _LAST_WORD.get(words[-1], words[-1])
    return " ".join([_COMPASS[words[0]], *words[1:-1], last])


def region_forms(text: str, country: str | None = None) -> list[str]:
    """The folded forms of ``text`` a list of regions may hold the same region under: the text
    itself, then its other names (``ALIASES`` of ``country``, or of every country when it is
    unknown). First form first; never a different region."""
    key = fold(text)
    out = [key]
    codes = [country] if country else list(ALIASES)
    for code in codes:
        table = ALIASES.get(code, {})
        if key in table:
            out.append(table[key])
        if code == "GB" and (expanded := _compass(key)):
            out.append(table.get(expanded, expanded))
    return list(dict.fromkeys(out))
