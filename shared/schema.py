"""The base of the app's pydantic schemas (request bodies, queries, responses, problems): each one's validator
and serializer are built on first use (`defer_build=True`), not when its module is imported.

Indexing imports every module's schemas (the route decorators name them), and building the core schemas of
some 150 models was the largest part of what is left of `import function_app`. A request builds only the
models it uses, once per process; pydantic (2.14) serialises those first builds under its rebuild lock, so
concurrent first requests are safe. A model that cannot be built now fails on first use instead of at import,
so tests/unit/test_schemas_build.py builds every one of them.

A schemas module imports `BaseModel` from here instead of from pydantic; everything else is pydantic's own.
"""

from __future__ import annotations

import pydantic


class BaseModel(pydantic.BaseModel):
    """pydantic.BaseModel whose subclasses build their validator and serializer on first use."""

    model_config = pydantic.ConfigDict(defer_build=True)
