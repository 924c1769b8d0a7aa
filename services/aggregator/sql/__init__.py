"""Every SQL statement the aggregator runs, one module per group of tables.

Each function takes the connection of the transaction in progress; `store.py` binds
them to one connection as the aggregator's `Store`.
"""
