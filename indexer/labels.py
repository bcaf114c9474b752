"""Speaker labels: the text as written before a turn, and its name and organisation.

A **label** is the speaker text as written, e.g. ``臺北市資訊局/呂新科局長``; :func:`split_speaker`
splits it into the person's name and the organisation. Parsing uses it to fill a turn's
``speaker_name`` and ``organisation``; searching uses it to show who said something, so it
lives apart from the parsers (the read path never imports them).
"""

from __future__ import annotations

import re

__all__ = ["split_speaker"]

_PAREN = re.compile(r"^(?P<outer>.+?)\s*[（(](?P<inner>[^()（）]+)[)）]$")
_LATIN = re.compile(r"[A-Za-z]")
# Endings of organisation names (ministries, agencies, associations, companies, schools...).
_ORG_END = re.compile(r"(?:部|署|局|處|司|院|會|所|中心|大學|學院|公司|辦公室|政府|團隊|聯盟|"
                      r"基金會|協會|學會|公會|工會|科|室|組|隊|黨|館|社|廳|府)(?:代表)?$")


def _org_like(text: str) -> bool:
    return bool(_ORG_END.search(text)) and not _LATIN.search(text)


def split_speaker(label: str) -> tuple[str, str]:
    """Split a speaker label into (speaker_name, organisation).

    Rules, first match wins (anything else: the whole label is the name, organisation ""):
    1. ``org/name`` or ``org／name`` (plain-text records): split at the last slash.
    2. ``role：name`` (e.g. ``空保處代表：許平和薦任科員``): name after, role/unit before.
    3. ``name (org)`` / ``name（org）`` where the parenthesised part is CJK text ending like an
       organisation (署, 部, 學會, 協會, ...): ``陳依婕 (中央健康保險署)``.
    4. ``org（name）`` where the outer part ends like an organisation and the inner part is not
       a note (補充說明...): ``國發會（Daniel Chiu）``.
    So ``Richard Haddock (何立德)``, ``石怡佳(司儀)`` and ``經濟部(補充說明)`` stay whole.
    """
    label = " ".join(label.split())
    for sep in ("/", "／"):
        if sep in label:
            org, _, name = label.rpartition(sep)
            if org.strip() and name.strip():
                return name.strip(), org.strip()
    for sep in ("：", ":"):
        if sep in label:
            org, _, name = label.partition(sep)
            if org.strip() and name.strip():
                return name.strip(), org.strip()
    m = _PAREN.match(label)
    if m:
        outer, inner = m.group("outer").strip(), m.group("inner").strip()
        if _org_like(inner):
            return outer, inner
        if _org_like(outer) and "說明" not in inner:
            return inner, outer
    return label, ""
