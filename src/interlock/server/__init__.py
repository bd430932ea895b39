"""The approval server (issue 5): puts a human between an agent and anything irreversible.

``interlock serve`` runs :func:`interlock.server.app.create_app` on uvicorn. State lives in one
database (SQLite by default, PostgreSQL when ``database_url`` says so); replicas that share it
share nothing else and behave as one (docs/server.md).
"""
