"""Acquisition (not yet built).

Will hold the retention-time scheduler, real-time RT alignment, the run executor, the crash-safe
SQLite sample queue, the sample-prep planner and the hash-chained audit trail.
"""
