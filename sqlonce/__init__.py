"""ORM statements compiled once per process and database, then run as plain SQL with new arguments.

Why: a reply runs the same few dozen statements every time, and Django spends more CPU building and compiling
each one (filters, joins, column lists, quoting) than the database spends running it. The statement is still
written with the ORM, once: `build` is called with stand-in values, compiled, and the positions of the stand-ins
among the parameters are remembered; a later call puts the real values there. Results go through the same
converters the ORM would apply, so a value reads the same either way.

Rules for a `build`: its arguments may only be used as plain values (a filter's right-hand side, an update's
value), never to choose the statement's shape (no `if arg:`; None never passed where it would make `IS NULL`);
each argument is an int, a str or an aware datetime, as the statement's `kinds` declare.
"""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connections, router
from django.db.models import QuerySet
from django.db.models.query import get_related_populators
from django.db.models.sql import UpdateQuery

# Two sets of stand-in values: a statement is compiled with each, and the parameters that differ are the
# arguments' places. Ints stay inside every integer field's range (Django drops a lookup that cannot match).
_INT_BASE = (20011, 20611)
_DT_BASE = (datetime(1901, 2, 3, tzinfo=UTC), datetime(1903, 4, 5, tzinfo=UTC))


def _stand_in(kind: type, i: int, which: int = 0) -> Any:
    if kind is int:
        return _INT_BASE[which] + i
    if kind is str:
        return f"sqlonce-{which}-{i}"
    if kind is datetime:
        return _DT_BASE[which] + timedelta(seconds=i, microseconds=i + 1)
    raise TypeError(f"sqlonce: an argument is an int, a str or a datetime, not {kind.__name__}")


def _adapt(connection, kind: type, value: Any) -> Any:
    if kind is datetime and value is not None:
        return connection.ops.adapt_datetimefield_value(value)
    return value


def _matches(param, adapted: list) -> list[tuple[int, Any]]:
    """Which stand-ins this compiled parameter is, each with how to dress a real value as the backend dressed the
    stand-in: as is; in psycopg's Int8 (PostgreSQL's big integers) or Jsonb (a JSON key's value); as JSON text
    (SQLite's JSON key lookups). The two compiles (see _compiled) make a chance match fail loudly."""
    if isinstance(param, bool):
        return []
    found: list[tuple[int, Any]] = []
    for i, a in enumerate(adapted):
        if isinstance(a, bool):
            continue
        inner = getattr(param, "obj", param)  # psycopg's Jsonb keeps the value as .obj
        if inner is not param and inner == a and type(inner) is type(a):
            found.append((i, type(param)))
        elif type(param) is type(a) and param == a:
            found.append((i, None))
        elif isinstance(param, int) and isinstance(a, int) and param == a:
            found.append((i, type(param)))
        elif isinstance(param, str) and isinstance(a, int) and param == str(a):
            found.append((i, str))
    return found


class _Compiled:
    __slots__ = ("sql", "params", "slots", "converters", "compiler", "shape")

    def __init__(self, sql, params, slots, converters, compiler) -> None:
        self.sql, self.params, self.slots = sql, params, slots
        self.converters, self.compiler = converters, compiler
        self.shape: Any = None  # what Objects needs to build instances from a row

    def bind(self, connection, kinds, values) -> list:
        params = list(self.params)
        for pos, i, wrap in self.slots:
            value = _adapt(connection, kinds[i], values[i])
            params[pos] = wrap(value) if wrap is not None and value is not None else value
        return params


class _Statement:
    def __init__(self, build: Callable[..., Any], kinds: Sequence[type]):
        self.build, self.kinds = build, tuple(kinds)
        self._by_db: dict[tuple[str, str, int], _Compiled] = {}
        self._model = None
        self._for_write = False

    @property
    def model(self):
        """The statement's model, from its first build (models need not be loaded when it is declared)."""
        if self._model is None:
            built = self.build(*(_stand_in(k, i) for i, k in enumerate(self.kinds)))
            qs = built[0] if isinstance(built, tuple) else built
            self._model, self._for_write = qs.model, isinstance(built, tuple) or qs._for_write
        return self._model

    @property
    def for_write(self) -> bool:
        """An update, or a read that locks its rows: run on the database the router writes to."""
        self.model  # noqa: B018  (built once, which tells)
        return self._for_write

    def _compiled(self, alias: str, connection) -> _Compiled:
        key = (alias, connection.vendor, id(connection))  # a thread's own connection: converters are bound to it
        done = self._by_db.get(key)
        if done is None:
            compiled = []
            for which in (0, 1):
                stand_ins = [_stand_in(k, i, which) for i, k in enumerate(self.kinds)]
                compiler, converters = self._compile(self.build(*stand_ins), alias)
                sql, params = compiler.as_sql()
                adapted = [_adapt(connection, k, v) for k, v in zip(self.kinds, stand_ins, strict=True)]
                slots = [(pos, i, wrap) for pos, p in enumerate(params) for i, wrap in _matches(p, adapted)]
                compiled.append((sql, params, slots, compiler, converters))
            (sql, params, slots, compiler, converters), other = compiled
            differ = {pos for pos, (a, b) in enumerate(zip(params, other[1], strict=False)) if a != b}
            if sql != other[0] or len(params) != len(other[1]) or differ != {pos for pos, _, _ in slots}:
                raise ValueError(f"sqlonce: the arguments change the statement's shape, not only its values: {sql}")
            missing = set(range(len(self.kinds))) - {i for _, i, _ in slots}
            if missing:
                raise ValueError(f"sqlonce: arguments {sorted(missing)} do not reach the compiled statement: {sql}")
            done = self._by_db[key] = _Compiled(sql, tuple(params), slots, converters(compiler), compiler)
            done.shape = self._shape(compiler, alias)
        return done

    def _shape(self, compiler, alias):
        return None

    def _run(self, args, suffix: str = "") -> tuple[_Compiled, list | int]:
        """Run the compiled statement (plus `suffix`) with `args`: its rows, converted, or for a statement
        without rows its row count."""
        alias = router.db_for_write(self.model) if self.for_write else router.db_for_read(self.model)
        connection = connections[alias]
        c = self._compiled(alias, connection)
        with connection.cursor() as cur:
            cur.execute(c.sql + suffix, c.bind(connection, self.kinds, args))
            if cur.description is None:
                return c, cur.rowcount
            rows = cur.fetchall()  # all of them: SQLite needs a RETURNING statement stepped to its end
        if c.converters:
            rows = list(c.compiler.apply_converters(rows, c.converters))
        return c, rows

    def _fetch(self, *args) -> tuple[_Compiled, list]:
        c, rows = self._run(args)
        assert isinstance(rows, list)
        return c, rows

    def _compile(self, qs, alias):
        """A read's compiler, and how to get the converters of its model's (or values') columns."""
        compiler = qs.query.get_compiler(alias)

        def converters(c):
            return c.get_converters([col for col, _, _ in c.select[: c.col_count]])

        return compiler, converters


class Select(_Statement):
    """A values_list() query: `rows(*args)` gives its rows as tuples, `first(*args)` the first or None."""

    def rows(self, *args) -> list[tuple]:
        return [tuple(r) for r in self._fetch(*args)[1]]

    def first(self, *args) -> tuple | None:
        rows = self.rows(*args)
        return rows[0] if rows else None


class Objects(_Statement):
    """A model query (select_related and select_for_update allowed): `all(*args)` gives model instances with their
    related ones, built as the ORM's own iterable builds them; `first(*args)` the first or None."""

    def _shape(self, compiler, alias):
        klass_info, select = compiler.klass_info, compiler.select
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        names = [col[0].target.attname for col in select[start:end]]
        return klass_info["model"], start, end, names, get_related_populators(klass_info, select, alias), alias

    def all(self, *args) -> list:
        c, rows = self._fetch(*args)
        model, start, end, names, populators, alias = c.shape
        out = []
        for row in rows:
            obj = model.from_db(alias, names, row[start:end])
            for populator in populators:
                populator.populate(row, obj)
            out.append(obj)
        return out

    def first(self, *args):
        found = self.all(*args)
        return found[0] if found else None


class Update(_Statement):
    """`build(*args)` returns (queryset, {field: value}); `run(*args)` updates and returns the row count."""

    def _compile(self, built, alias):
        qs, values = built
        query = qs.query.chain(UpdateQuery)
        query.add_update_values(values)
        return query.get_compiler(alias), lambda c: None

    def run(self, *args) -> int:
        count = self._run(args)[1]
        assert isinstance(count, int)
        return count

    def returning(self, column: str, *args) -> list:
        """Run it and give `column`'s new value in each updated row (UPDATE ... RETURNING: PostgreSQL, and
        SQLite from 3.35): a counter bumped and read in one statement."""
        quoted = connections[router.db_for_write(self.model)].ops.quote_name(column)
        rows = self._run(args, f" RETURNING {quoted}")[1]
        assert isinstance(rows, list)
        return [row[0] for row in rows]


def select(build: Callable[..., QuerySet], *kinds: type) -> Select:
    """A read: `build(*args)` returns a values_list() queryset; each of `kinds` is int, str or datetime."""
    return Select(build, kinds)


def objects(build: Callable[..., QuerySet], *kinds: type) -> Objects:
    """A read of model instances: `build(*args)` returns a queryset (select_related, select_for_update, a slice)."""
    return Objects(build, kinds)


def update(build: Callable[..., tuple[QuerySet, dict]], *kinds: type) -> Update:
    """A write: `build(*args)` returns (queryset, {field: value}), as for `queryset.update(**values)`."""
    return Update(build, kinds)


_INSERTS: dict[tuple[type, str, str, int, bool], tuple[str, list]] = {}


def insert(obj, *, ignore_conflicts: bool = False):
    """Save a new instance with one INSERT whose SQL is built once per model and connection: what `save()` does
    for a new row (each field's pre_save and database preparation, the new id returned), without the ORM's
    compiling and without model signals, so only for models nothing listens to (messages, actions, outcomes,
    transitions, queue items). Returns `obj`, saved; with `ignore_conflicts` (ON CONFLICT DO NOTHING), None when a
    unique constraint already held such a row, so a caller needs no look-up first and no savepoint."""
    model = type(obj)
    alias = router.db_for_write(model)
    connection = connections[alias]
    key = (model, alias, connection.vendor, id(connection), ignore_conflicts)
    built = _INSERTS.get(key)
    if built is None:
        meta = model._meta
        if meta.auto_field is None or meta.pk is not meta.auto_field:
            raise TypeError(
                f"sqlonce.insert takes a model whose primary key the database assigns, not {model.__name__}"
            )
        fields = [f for f in meta.concrete_fields if not f.primary_key and not getattr(f, "generated", False)]
        q = connection.ops.quote_name
        sql = (
            f"INSERT INTO {q(meta.db_table)} ({', '.join(q(f.column) for f in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))}) "
            f"{'ON CONFLICT DO NOTHING ' if ignore_conflicts else ''}RETURNING {q(meta.pk.column)}"
        )
        built = _INSERTS[key] = (sql, fields)
    sql, fields = built
    with connection.cursor() as cur:
        cur.execute(sql, [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields])
        rows = cur.fetchall()  # all of them: SQLite needs a RETURNING statement stepped to its end
    if not rows:
        return None  # the conflict: nothing inserted
    obj.pk = rows[0][0]
    obj._state.adding, obj._state.db = False, alias
    return obj
