"""The filters_match warning and the id-type check on PostgreSQL and Spark: the same SQL, the same
verdicts and hints as on DuckDB (the check's VALUES, FILTER and JSON reading are portable)."""

from __future__ import annotations

import uuid

import pytest

from conftest import cli
from engines import drop_schema, postgres_target, spark_target
from test_filters_match import EVENTS_CSV, PROJECT_YML, journey
from test_id_types import CUSTOMERS_CSV, JOURNEY, TEXT_EVENTS_CSV
from test_id_types import EVENTS_CSV as ID_EVENTS_CSV


def _target(engine_name, tmp_path, request):
    if engine_name == "spark":
        request.getfixturevalue("spark_engine")
    schema = f"clg_t3_{uuid.uuid4().hex[:8]}"
    target = postgres_target(schema) if engine_name == "postgres" else spark_target(schema, tmp_path)
    fields = target.model_dump(by_alias=True, exclude_none=True)
    body = ", ".join(f"{k}: " + (f'"{v}"' if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else
                                 "{" + ", ".join(f"{a}: {b}" for a, b in v.items()) + "}" if isinstance(v, dict)
                                 else str(v)) for k, v in fields.items())
    return target, f"test:\n  target: wh\n  outputs:\n    wh: {{{body}}}\n"


def _run(make_project, files, engine_name, tmp_path, request, name="proj"):
    from clg_metrics.engines import connect

    target, profile = _target(engine_name, tmp_path, request)
    root = make_project({"clg_project.yml": PROJECT_YML, **files}, name)
    (root / "profiles.yml").write_text(profile)
    try:
        return cli("build", project_dir=root)
    finally:
        engine = connect(target, root)
        try:
            drop_schema(engine)
        finally:
            engine.close()


@pytest.mark.parametrize("engine_name", ["postgres", "spark"])
def test_filters_match_on_every_engine(make_project, engine_name, tmp_path, request):
    files = {"seeds/events.csv": EVENTS_CSV,
             "milestones/onboarding.yml": journey("\"fromat = 'csv'\"", segment_where="{plan: prro}")}
    code, out = _run(make_project, files, engine_name, tmp_path, request, "empty")
    assert code == 0, out
    assert ("milestone `exported_csv`: `where: fromat = 'csv'` matches no `export` event: no such event has a "
            "column or property `fromat` (did you mean `format`?)") in out, out
    assert "segment `exporters`: `where: {plan: prro}` matches no `export` event: `plan` holds `free`, `pro`" in out


@pytest.mark.parametrize("engine_name", ["postgres", "spark"])
def test_id_types_on_every_engine(make_project, engine_name, tmp_path, request):
    files = {"seeds/events.csv": TEXT_EVENTS_CSV, "seeds/customers.csv": CUSTOMERS_CSV,
             "milestones/onboarding.yml": JOURNEY}
    code, out = _run(make_project, files, engine_name, tmp_path, request)
    assert code == 2, out
    assert "joins its events and customers on the id, and their types differ" in out, out
    files = {"seeds/events.csv": ID_EVENTS_CSV, "seeds/customers.csv": "customer_id,signed_up_at\n",
             "milestones/onboarding.yml": JOURNEY}
    code, out = _run(make_project, files, engine_name, tmp_path, request, "empty")
    assert code == 0, out
