"""The analysis of one file: `run.analyze` (intake, every enabled check, the verdict), the worker
processes it runs in, and what it returns (findings, verdict, report)."""
