"""Alembic environment for the psyscore store, run programmatically by :meth:`scoring.store.Store.upgrade`.

The caller passes an open SQLAlchemy connection in ``config.attributes["connection"]``; no alembic.ini
is needed.
"""

from alembic import context

from scoring.store.models import Base

target_metadata = Base.metadata


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("psyscore migrations run through Store.upgrade(), which passes a connection")
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def _run_by_alembic() -> bool:
    try:
        context.config  # noqa: B018 - the proxy exists only while Alembic runs this file
    except (NameError, AttributeError):  # imported by something else (e.g. pytest collecting doctests)
        return False
    return True


if _run_by_alembic():
    run_migrations()
