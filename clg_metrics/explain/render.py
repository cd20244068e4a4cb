"""The explanation document as terminal text (a tree with ✓/✗ marks) or as stable JSON.

Text is for a person reading one customer; JSON (``to_json``) is the documented, stable shape
(README, "explain"): timestamps as ``YYYY-MM-DD HH:MM:SS[.ffffff]`` UTC, dates as ``YYYY-MM-DD``.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

YES, NO = "✓", "✗"


def to_json(docs: list[dict]) -> str:
    return json.dumps({"explain_version": 1, "journeys": docs}, default=_plain, indent=2, ensure_ascii=False)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _t(value: datetime | None) -> str:
    return value.isoformat(sep=" ") if value is not None else "never"


def _mark(ok: bool) -> str:
    return YES if ok else NO


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _events(node: dict) -> str:
    text = " or ".join(node["event"])
    if node.get("where") is not None:
        where = node["where"]
        text += " where " + (", ".join(f"{k} {_op(v)}" for k, v in where.items()) if isinstance(where, dict) else where)
    if node.get("distinct"):
        text += f" (distinct {node['distinct']})"
    return text


def _op(condition: Any) -> str:
    if not isinstance(condition, dict):
        return f"= {condition}"
    symbols = {"in": "in", "eq": "=", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
    return " and ".join(f"{symbols[op]} {value}" for op, value in condition.items())


def render_text(docs: list[dict]) -> str:
    out: list[str] = []
    for doc in docs:
        out += _journey(doc) + [""]
    return "\n".join(out).rstrip() + "\n"


def _journey(doc: dict) -> list[str]:
    lines = [(f"Customer {doc['customer_id']} in journey {doc['journey']} "
              f"(as of {_t(doc['as_of'])}, order {doc['order']}, {doc['events_counted']} events counted)")]
    if doc["signed_up_at"] is not None:
        lines.append(f"  signed up {_t(doc['signed_up_at'])}")
    for m in doc["milestones"]:
        lines.append("")
        kpi = f" — {m['kpi']}" if m["kpi"] else ""
        lines.append(f"{m['index']}. {m['milestone']} ({m['phase']}){kpi}")
        verdict = f"reached {_t(m['reached_at'])}" if m["status"] == "reached" else m["status"]
        lines.append(f"   {_mark(m['status'] == 'reached')} {verdict}")
        if m["after"] is not None:
            gate = m["after"]
            lines.append(f"   after {gate['milestone']}: " + (f"reached {_t(gate['reached_at'])}"
                                                               if gate["reached_at"] else "not reached"))
        if m["within"] is not None:
            w = m["within"]
            anchor = _t(w["anchor"]) if w["anchor"] else "none"
            deadline = f", deadline {_t(w['deadline'])}" if w["deadline"] else ""
            lines.append(f"   within {w['amount']} {w['unit']} of {w['of']}: anchor {anchor}{deadline}")
        if m["per"] is not None:
            lines += _per(m["per"])
        lines += _condition(m["condition"], "   ")
    if doc["segments"]:
        lines += ["", "Segments"]
        for s in doc["segments"]:
            source = "" if s["membership_from"] == "segment_members" else " (computed; no segment_members table)"
            lines.append(f"  {_mark(s['member'])} {s['segment']}: {'member' if s['member'] else 'not a member'}{source}")
            lines += _segment(s["condition"], "    ")
    return lines


def _per(per: dict) -> list[str]:
    grain = per["per"]
    q = per["qualifying"]
    lines = [f"   per {grain}, streak {per['streak']}: held in {len(q)} {grain}(s), longest run {per['longest_run']}"]
    if q:
        last = ", ".join(p["period_start"].isoformat() for p in q[-3:])
        lines.append(f"   last {grain}s it held: {last}")
    if per["streak"] > 1:
        ends = per["streak_ends"]
        lines.append(f"   {grain}s ending a streak of {per['streak']}: " + (ends[0].isoformat() + (
            f" … {ends[-1].isoformat()} ({len(ends)})" if len(ends) > 1 else "") if ends else "none"))
    if per["counts_from"] is not None:
        lines.append(f"   counts from the {grain} of {per['counts_from'].isoformat()} on (the previous milestone's)")
    if per["shown_period"] is not None:
        which = "this" if per["shown_is_current"] else "latest active"
        lines.append(f"   {which} {grain} ({per['shown_period'].isoformat()}):")
    else:
        lines.append(f"   no matching events in any {grain}")
    return lines


def _condition(node: dict, indent: str) -> list[str]:
    mark = _mark(node["holds"])
    if node["kind"] == "event":
        need = node["at_least"] - node["count"]
        if need > 0:  # "4 of 5 search — needs 1 more"
            text = f"{node['count']} of {node['at_least']} {_events(node)} — needs {need} more"
        else:
            text = (f"{node['count']} {_events(node)} (needs {node['at_least']}) — held from "
                    f"{_t(node['holds_from'])}, the {_ordinal(node['at_least'])}")
        lines = [f"{indent}{mark} {text}"]
    elif node["kind"] == "milestone":
        lines = [f"{indent}{mark} milestone {node['milestone']}: "
                 + (f"reached {_t(node['holds_from'])}" if node["holds"] else "not reached")]
    else:
        since = f" — from {_t(node['holds_from'])}" if node["holds"] else ""
        lines = [f"{indent}{mark} {node['kind']} of{since}"]
    for child in node.get("children", []):
        lines += _condition(child, indent + "  ")
    return lines


def _segment(node: dict, indent: str) -> list[str]:
    mark = _mark(node["holds"])
    kind = node["kind"]
    if kind == "event":
        bounds = [f"at least {node['at_least']}"] + ([f"at most {node['at_most']}"] if node["at_most"] is not None else [])
        window = f" in the last {node['in_last']['amount']} {node['in_last']['unit']}" if node["in_last"] else ""
        text = f"{node['count']} {_events(node)}{window} (needs {' and '.join(bounds)})"
    elif kind == "milestone":
        text = f"milestone {node['milestone']} is {node['wants']}"
    elif kind == "customer":
        f = node["filter"]
        text = "customer " + (", ".join(f"{k} {_op(v)}" for k, v in f.items()) if isinstance(f, dict) else f)
    elif kind == "signed_up":
        bounds = ", ".join(f"{op} {v}" for op, v in node["bounds"].items())
        ago = f"{node['days_ago']} days ago" if node["days_ago"] is not None else "no signup"
        text = f"signed up {ago} (needs {bounds})"
    else:
        text = f"{kind}" + (" of" if kind != "not" else "")
    lines = [f"{indent}{mark} {text}"]
    for child in node.get("children", []):
        lines += _segment(child, indent + "  ")
    return lines
