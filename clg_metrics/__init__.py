"""clg-metrics: Customer-Led Growth milestones as code.

Journeys and milestone KPIs are declared in YAML, compiled by sqlglot into SQL models over a
product-events table, and materialized by an engine (DuckDB by default) into the tables of
SPEC section 3: ``milestone_status``, ``customer_progress``, ``funnel`` and ``dq_results``.

The data flows one way, one module per step::

    yaml_loader -> spec / loader -> compiler -> models (DAG) -> engines -> runner -> cli
"""

__version__ = "0.1.0"
