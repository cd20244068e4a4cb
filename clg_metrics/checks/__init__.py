"""Data-quality checks: what to check (``derive.py``, no heavy imports), the expectations users may
declare (``catalog.py``), and running them with great-expectations (``gx.py``, imported only when
checks run, since great-expectations takes seconds to import)."""
