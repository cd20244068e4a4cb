"""Mistakes that used to pass `validate` and fail at build time with a raw engine error (issue 11):
each is now a located error at `validate` (exit 2, file:line:col, the fix)."""

from __future__ import annotations


import pytest

from conftest import cli
from test_errors import invalid, position

EVENTS = "customer_id,event_name,occurred_at\n1,signup,2024-01-01 10:00:00\n1,search,2024-01-02 10:00:00\n"
CUSTOMERS = "customer_id,signed_up_at,plan\n1,2024-01-01,pro\n"


def journey(extra: str = "", customers: bool = True, milestones: str = "") -> str:
    return ("journey: j\nevents: {from: events}\n" + ("customers: {from: customers}\n" if customers else "")
            + "phases:\n  - phase: p\n    milestones:\n      - milestone: a\n        reached_when: {event: signup}\n"
            + milestones + extra)


def files(text: str) -> dict[str, str]:
    return {"milestones/j.yml": text, "seeds/customers.csv": CUSTOMERS}


def at(make_project, text: str, needle: str, says: str, hint: str | None = None, occurrence: int = 1,
       offset: int = 0):
    result = invalid(make_project, files(text))
    line, col = position(text, needle, occurrence)
    col += offset
    problem = result.problem_at("milestones/j.yml", line, col)
    assert says in problem.message, problem
    if hint is not None:
        assert hint in (problem.hint or "") + problem.message, problem
    assert "Traceback" not in result.output
    return problem


@pytest.mark.parametrize("window", ["{days: 1000000000, of: previous}", "{seconds: 99999999999999, of: previous}"])
def test_within_beyond_the_timestamp_range(make_project, window):
    text = journey(milestones=f"      - milestone: b\n        reached_when: {{event: search}}\n        within: {window}\n")
    at(make_project, text, window, "longer than 100 years")


def test_within_of_100_years_is_fine(make_project):
    text = journey(milestones="      - milestone: b\n        reached_when: {event: search}\n"
                              "        within: {days: 36500, of: previous}\n")
    root = make_project({"milestones/j.yml": text, "seeds/events.csv": EVENTS, "seeds/customers.csv": CUSTOMERS})
    code, output = cli("build", "--skip-checks", project_dir=root)
    assert code == 0, output


def test_in_last_beyond_the_timestamp_range(make_project):
    text = journey("segments:\n  - segment: quiet\n    when: {event: search, in_last: {days: 1000000000}}\n")
    at(make_project, text, "{days: 1000000000}", "longer than 100 years")


@pytest.mark.parametrize("where, bad", [("event_name", "event_name"), ("1", "1"), ("customer_id + 1", "customer_id + 1"),
                                        ("lower(event_name)", "LOWER(event_name)"),
                                        ("event_name = 'x' and customer_id", "customer_id")])
def test_where_that_is_not_a_condition(make_project, where, bad):
    text = journey(milestones=f'      - milestone: b\n        reached_when: {{event: search, where: "{where}"}}\n')
    problem = at(make_project, text, f'"{where}"', "must be a condition")
    assert f"`{bad}` is a value" in problem.message


@pytest.mark.parametrize("where", ["event_name = 'search'", "starts_with(event_name, 's')",
                                   "event_name like 's%' or customer_id is null", "not (customer_id > 5)"])
def test_where_conditions_still_validate(make_project, where):
    text = journey(milestones=f'      - milestone: b\n        reached_when: {{event: search, where: "{where}"}}\n')
    root = make_project({"milestones/j.yml": text, "seeds/events.csv": EVENTS, "seeds/customers.csv": CUSTOMERS})
    code, output = cli("validate", project_dir=root)
    assert code == 0, output


def test_numeric_filter_over_a_property_holding_true(make_project):
    """A JSON property holding `true` (or text) compared with a number does not match, instead of a
    raw cast error stopping the build: customer 1's `n` is true, customer 2's is 7."""
    rows = [(1, "export", '{"n": true}'), (2, "export", '{"n": 7}'), (3, "export", '{"n": "n/a"}'),
            (4, "export", '{"n": "12.5"}')]
    csv = "customer_id,event_name,occurred_at,properties\n" + "".join(
        f'{c},{e},2024-01-0{c} 10:00:00,"{p.replace(chr(34), chr(34) * 2)}"\n' for c, e, p in rows)
    text = ("journey: j\nevents: {from: events}\nphases:\n  - phase: p\n    milestones:\n"
            "      - milestone: a\n        reached_when: {event: export, where: {n: {gte: 5}}}\n")
    root = make_project({"milestones/j.yml": text, "seeds/events.csv": csv})
    code, output = cli("build", "--skip-checks", "--as-of", "2024-02-01", project_dir=root)
    assert code == 0, output
    assert "Traceback" not in output
    import duckdb

    with duckdb.connect(str(root / "target" / "test.duckdb"), read_only=True) as con:
        reached = con.execute("select customer_id from milestone_status where is_reached order by 1").fetchall()
    assert [r[0] for r in reached] == [2, 4]


# --- segments ------------------------------------------------------------------------------------

def test_segment_named_all_is_reserved(make_project):
    text = journey("segments:\n  - segment: all\n    when: {milestone: a}\n")
    at(make_project, text, "all", "may not be named `all`", "reserved", occurrence=1)


def test_duplicate_segment_names(make_project):
    text = journey("segments:\n  - segment: s\n    when: {milestone: a}\n  - segment: s\n    when: {milestone: a}\n")
    at(make_project, text, "segment: s", "duplicate segment `s`", occurrence=2, offset=len("segment: "))


def test_segment_unknown_milestone_did_you_mean(make_project):
    text = journey("segments:\n  - segment: s\n    when: {all: [{milestone: aa}]}\n",
                   milestones="      - milestone: abc\n        reached_when: {event: search}\n")
    problem = at(make_project, text, "aa}", "unknown milestone `aa`")
    assert "did you mean `a`?" in problem.hint


@pytest.mark.parametrize("cond", ["{customer: {plan: pro}}", "{signed_up: {days_ago: {gte: 1}}}"])
def test_customer_conditions_need_a_customers_source(make_project, cond):
    text = journey(f"segments:\n  - segment: s\n    when: {{not: {cond}}}\n", customers=False)
    key = cond[1:].split(":")[0]
    at(make_project, text, cond[len(key) + 3:], f"`{key}:` in a segment needs a `customers:` source", "customers:")


def test_customer_filter_unknown_column(make_project):
    text = journey("segments:\n  - segment: s\n    when: {customer: {plna: pro}}\n")
    at(make_project, text, "pro}}", "has no column `plna`", "did you mean `plan`?")


def test_customer_filter_key_of_a_properties_column_is_fine(make_project):
    text = journey("segments:\n  - segment: s\n    when: {customer: {tier: gold}}\n")
    root = make_project({"milestones/j.yml": text, "seeds/events.csv": EVENTS,
                         "seeds/customers.csv": 'customer_id,signed_up_at,properties\n1,2024-01-01,"{""tier"": ""gold""}"\n'})
    code, output = cli("validate", project_dir=root)
    assert code == 0, output


def test_benchmark_names_no_segment(make_project):
    text = journey("segments:\n  - segment: best\n    when: {milestone: a}\nanalysis: {benchmark: bets}\n")
    problem = at(make_project, text, "bets", "unknown benchmark segment `bets`")
    assert "did you mean `best`?" in problem.hint
