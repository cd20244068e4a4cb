"""One build as named phases, each a module with its inputs and outputs (``runner.py`` runs them):

    plan         which models to build, and per journey full or incremental   (plan.py)
    materialize  every model into its staged twin ``__clg_next__<name>``     (materialize.py)
    check        built-in and declared checks on sources and staged outputs    (check.py)
    publish      staged twins over the published tables, in one transaction   (publish.py)
    record       target/run_results.json, manifest.json, compiled SQL          (record.py)

``run.BuildRun`` is the state the phases share: what is staged so far and what was found.
"""
