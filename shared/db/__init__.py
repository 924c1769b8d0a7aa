"""PostgreSQL storage: table models, engine, migrations."""
