"""How nodes run: local worker and redis-server processes (embedded mode), supervised and torn down."""
