"""SQLAlchemy (ORM and Core), pandas and Alembic against a server, the way
an application uses them. Driven by pgwire.TestSQLAlchemy with the server's
URL as the only argument; it prints one line per check ("name value") for
the Go test to compare, and fails loudly on the first error.

Runs the same against PostgreSQL 15, which is where the expected lines in
the Go test come from.
"""
import datetime
import decimal
import os
import sys
import tempfile

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import orm
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

url = sys.argv[1].replace("postgres://", "postgresql+psycopg2://", 1)


def out(name, value):
    print(name, value, flush=True)


Base = orm.declarative_base()


class Author(Base):
    __tablename__ = "authors"
    # (a serial: SQLAlchemy's get_columns reads an identity column's
    # sequence with pg_get_serial_sequence(...)::regclass, a cast of a
    # column value Weft does not have yet; identity_probe checks it)
    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.Text, nullable=False, unique=True)
    joined = sa.Column(sa.DateTime(timezone=True), nullable=False)
    active = sa.Column(sa.Boolean, nullable=False, server_default=sa.true())
    books = orm.relationship("Book", back_populates="author", order_by="Book.id", cascade="all, delete-orphan")


class Book(Base):
    __tablename__ = "books"
    id = sa.Column(sa.Integer, primary_key=True)  # serial
    author_id = sa.Column(sa.Integer, sa.ForeignKey("authors.id", ondelete="CASCADE"), nullable=False, index=True)
    title = sa.Column(sa.String(200), nullable=False)
    price = sa.Column(sa.Numeric(8, 2))
    meta = sa.Column(sa.JSON)
    author = orm.relationship("Author", back_populates="books")
    reviews = orm.relationship("Review", back_populates="book", order_by="Review.id", cascade="all, delete-orphan")
    __table_args__ = (sa.UniqueConstraint("author_id", "title", name="books_author_title_key"),)


class Review(Base):
    __tablename__ = "reviews"
    id = sa.Column(sa.BigInteger, primary_key=True)
    book_id = sa.Column(sa.Integer, sa.ForeignKey("books.id", ondelete="CASCADE"), nullable=False)
    stars = sa.Column(sa.SmallInteger, nullable=False)
    body = sa.Column(sa.Text)
    posted = sa.Column(sa.DateTime(timezone=True), server_default=sa.func.now())
    book = orm.relationship("Book", back_populates="reviews")


def crud(engine):
    utc = datetime.timezone.utc
    with orm.Session(engine) as s:
        ann = Author(name="Ann", joined=datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=utc))
        bob = Author(name="Bob", joined=datetime.datetime(2024, 6, 1, 12, 0, tzinfo=utc), active=False)
        ann.books = [
            Book(title="Alpha", price=decimal.Decimal("12.50"), meta={"tags": ["a", "b"], "pages": 120}),
            Book(title="Beta", price=decimal.Decimal("7.25"), meta={"pages": 80}),
        ]
        bob.books = [Book(title="Gamma", price=None, meta=None)]
        s.add_all([ann, bob])
        s.flush()
        ann.books[0].reviews = [Review(stars=5, body="great"), Review(stars=3, body="ok")]
        bob.books[0].reviews = [Review(stars=1, body=None)]
        s.commit()
        out("ids", sorted(a.id for a in s.scalars(sa.select(Author))))

    with orm.Session(engine) as s:
        # relationship loading three ways
        a = s.scalars(sa.select(Author).where(Author.name == "Ann").options(orm.selectinload(Author.books).selectinload(Book.reviews))).one()
        out("selectin", [(b.title, str(b.price), [r.stars for r in b.reviews]) for b in a.books])
        rows = s.scalars(sa.select(Book).options(orm.joinedload(Book.author)).order_by(Book.title)).all()
        out("joined", [(b.title, b.author.name) for b in rows])
        b = s.scalars(sa.select(Book).where(Book.title == "Alpha")).one()
        out("lazy", (b.author.name, b.meta["tags"], b.meta["pages"], [r.body for r in b.reviews]))
        # aggregates through the ORM
        q = (sa.select(Author.name, sa.func.count(Book.id), sa.func.sum(Book.price))
             .join(Book, isouter=True).group_by(Author.name).order_by(Author.name))
        out("agg", [(n, c, str(p)) for n, c, p in s.execute(q)])
        # update and delete
        b.price = decimal.Decimal("13.00")
        b.meta = {"tags": ["c"]}
        s.commit()
        out("updated", (str(s.get(Book, b.id).price), s.get(Book, b.id).meta))
        bob = s.scalars(sa.select(Author).where(Author.name == "Bob")).one()
        out("bob", (bob.active, bob.joined.isoformat()))
        s.delete(bob)
        s.commit()
        out("after delete", (s.scalar(sa.select(sa.func.count()).select_from(Author)),
                             s.scalar(sa.select(sa.func.count()).select_from(Book)),
                             s.scalar(sa.select(sa.func.count()).select_from(Review))))
        # a unique violation surfaces as IntegrityError and the session recovers
        s.add(Author(name="Ann", joined=datetime.datetime(2025, 1, 1, tzinfo=utc)))
        try:
            s.commit()
            out("unique", "not enforced")
        except sa.exc.IntegrityError as e:
            s.rollback()
            out("unique", e.orig.pgcode)
        out("posted set", s.scalar(sa.select(sa.func.count()).select_from(Review).where(Review.posted.isnot(None))))


def introspect(engine):
    insp = sa.inspect(engine)
    out("tables", sorted(insp.get_table_names()))
    out("views", insp.get_view_names())
    cols = insp.get_columns("books")
    out("columns", [(c["name"], str(c["type"]), c["nullable"]) for c in cols])
    out("serial default", [c["name"] for c in cols if c.get("default") and "nextval" in c["default"]])
    identity_probe(engine)
    out("pk", insp.get_pk_constraint("reviews"))
    out("fks", [(f["constrained_columns"], f["referred_table"], f["referred_columns"], f["options"]) for f in insp.get_foreign_keys("books")])
    out("indexes", sorted((i["name"], i["column_names"], i["unique"]) for i in insp.get_indexes("books")))
    out("uniques", insp.get_unique_constraints("books"))
    out("view columns", [(c["name"], str(c["type"])) for c in insp.get_columns("book_prices")])
    out("view definition", "books" in insp.get_view_definition("book_prices"))
    out("has_table", (insp.has_table("books"), sa.inspect(engine).has_table("nosuch")))
    meta = sa.MetaData()
    reflected = sa.Table("books", meta, autoload_with=engine)
    out("reflected", ([c.name for c in reflected.columns], sorted(fk.target_fullname for fk in reflected.foreign_keys)))


def identity_probe(engine):
    """An identity column reflected, then dropped again (so that the rest
    reflects no identity column): on Weft this fails with 22P02 until
    regclass casts of column values land, and the Go test knows it."""
    meta = sa.MetaData()
    sa.Table("identity_probe", meta, sa.Column("id", sa.BigInteger, sa.Identity(always=True, start=10, increment=5), primary_key=True))
    meta.create_all(engine)
    try:
        col = sa.inspect(engine).get_columns("identity_probe")[0]
        out("identity", (col["name"], col["autoincrement"], sorted((k, v) for k, v in col["identity"].items() if k in ("always", "start", "increment"))))
    except sa.exc.DBAPIError as e:
        out("identity failed", e.orig.pgcode)
    finally:
        meta.drop_all(engine)


def pandas_checks():
    engine = sa.create_engine(url)  # pandas 1.5 wants a 1.x-style engine
    df = pd.read_sql_table("books", engine)
    out("pandas table", (list(df.columns), len(df), sorted(df["title"])))
    df = pd.read_sql_query(sa.text("SELECT title, price FROM books WHERE price > :p ORDER BY title"), engine, params={"p": 1})
    out("pandas query", df.to_dict("records"))
    frame = pd.DataFrame({"k": [1, 2, 3], "v": [0.5, None, 2.25], "s": ["x", "y", None],
                          "t": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"], utc=True)})
    frame.to_sql("frame", engine, index=False, if_exists="replace")
    back = pd.read_sql_table("frame", engine)
    out("pandas roundtrip", (len(back), back["v"].sum(), back["s"].isna().sum(), str(back["t"].dt.tz)))
    frame.to_sql("frame", engine, index=False, if_exists="append", chunksize=2, method="multi")
    out("pandas append", pd.read_sql_query("SELECT count(*) AS n FROM frame", engine)["n"][0])


MIGRATION = '''
"""add a tags table and a column"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade():
    op.create_table("tags",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("book_id", sa.Integer, sa.ForeignKey("books.id"), nullable=False),
        sa.Column("label", sa.String(40), nullable=False, unique=True))
    op.create_index("tags_book_idx", "tags", ["book_id"])
    # the usual dance, in the migration's one transaction: add the column
    # nullable, fill it, then make it NOT NULL
    op.add_column("books", sa.Column("isbn", sa.String(13), nullable=True))
    op.execute("UPDATE books SET isbn = 'none'")
    op.alter_column("books", "isbn", nullable=False, server_default="n/a")


def downgrade():
    op.drop_column("books", "isbn")
    op.drop_index("tags_book_idx", table_name="tags")
    op.drop_table("tags")
'''


def alembic_checks(engine):
    with tempfile.TemporaryDirectory() as d:
        scripts = os.path.join(d, "migrations")
        cfg = Config(os.path.join(d, "alembic.ini"))
        cfg.set_main_option("script_location", scripts)
        cfg.set_main_option("sqlalchemy.url", url)
        command.init(cfg, scripts)
        with open(os.path.join(scripts, "versions", "0001_tags.py"), "w") as f:
            f.write(MIGRATION)
        command.upgrade(cfg, "head")
        insp = sa.inspect(engine)
        with engine.connect() as c:
            out("alembic version", c.execute(sa.text("SELECT version_num FROM alembic_version")).scalar())
        out("alembic up", ("tags" in insp.get_table_names(), [c["name"] for c in insp.get_columns("books")][-1],
                           sorted(i["name"] for i in insp.get_indexes("tags"))))
        with engine.connect() as c:
            out("isbn", c.execute(sa.text("SELECT DISTINCT isbn FROM books")).scalars().all())
            out("isbn default", [col["default"] for col in insp.get_columns("books") if col["name"] == "isbn"])
        command.downgrade(cfg, "base")
        insp = sa.inspect(engine)
        with engine.connect() as c:
            out("alembic down", ("tags" in insp.get_table_names(), [c["name"] for c in insp.get_columns("books")][-1],
                                 c.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar()))


def second_start(engine):
    # a second start of the application against the schema it made: the
    # model matches the database, create_all creates nothing and Alembic's
    # autogenerate sees no difference
    Base.metadata.create_all(engine)
    with engine.connect() as c:
        diffs = compare_metadata(MigrationContext.configure(c, opts={"compare_type": True, "compare_server_default": True}), Base.metadata)
    out("autogenerate diffs", [d for d in diffs if not (isinstance(d, tuple) and d[0] == "remove_table")])
    with orm.Session(engine) as s:
        out("second start", [a.name for a in s.scalars(sa.select(Author).order_by(Author.id))])


def main():
    engine = sa.create_engine(url, future=True)
    with engine.connect() as c:
        out("isolation", c.get_isolation_level())
        out("server version", engine.dialect.server_version_info[0])
    with engine.begin() as c:  # a rerun against PostgreSQL starts clean
        c.execute(sa.text("DROP VIEW IF EXISTS book_prices"))
        c.execute(sa.text("DROP TABLE IF EXISTS frame, tags, alembic_version, identity_probe"))
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with engine.begin() as c:
        c.execute(sa.text("CREATE VIEW book_prices AS SELECT b.title, a.name AS author, b.price FROM books b JOIN authors a ON a.id = b.author_id"))
    crud(engine)
    introspect(engine)
    pandas_checks()
    alembic_checks(engine)
    second_start(engine)
    out("done", "ok")


main()
