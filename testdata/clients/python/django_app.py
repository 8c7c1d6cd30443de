"""Django's ORM, migrations and inspectdb against a server, the way an
application uses them. Driven by pgwire.TestDjango with the server's URL as
the only argument; prints one line per check ("name value"), and fails
loudly on the first error. The expected lines come from running it against
PostgreSQL 15.
"""
import datetime
import decimal
import io
import os
import shutil
import sys
import tempfile
import urllib.parse

work = tempfile.mkdtemp()
here = os.path.dirname(os.path.abspath(__file__))
# the app is copied so that makemigrations writes its migrations there
shutil.copytree(os.path.join(here, "djshop"), os.path.join(work, "djshop"))
sys.path.insert(0, work)

u = urllib.parse.urlparse(sys.argv[1])
q = urllib.parse.parse_qs(u.query)
db = {"ENGINE": "django.db.backends.postgresql", "NAME": u.path.lstrip("/"), "USER": u.username,
      "HOST": u.hostname or q.get("host", [""])[0], "PORT": str(u.port or q.get("port", [""])[0])}

import django
from django.conf import settings

settings.configure(INSTALLED_APPS=["djshop"], DATABASES={"default": db}, USE_TZ=True, TIME_ZONE="UTC",
                   DEFAULT_AUTO_FIELD="django.db.models.AutoField")
django.setup()

from django.core.management import call_command
from django.db import connection, models
from django.db.models import Count, Sum, Prefetch

from djshop.models import Author, Book, Review


def out(name, value):
    print(name, value, flush=True)


def run(*args, **kw):
    buf = io.StringIO()
    call_command(*args, stdout=buf, stderr=buf, **kw)
    return buf.getvalue()


def reset():
    # a rerun against PostgreSQL starts clean
    with connection.cursor() as c:
        c.execute("DROP TABLE IF EXISTS dj_review, dj_book, dj_author, django_migrations")


def migrate():
    run("makemigrations", "djshop")
    out("migrations", sorted(f for f in os.listdir(os.path.join(work, "djshop", "migrations")) if f.endswith(".py")))
    text = run("migrate", "djshop", verbosity=1)
    out("migrate", "Applying djshop.0001_initial... OK" in text)
    with connection.cursor() as c:
        out("tables", sorted(t for t in connection.introspection.table_names(c) if t.startswith("dj")))


def crud():
    utc = datetime.timezone.utc
    ann = Author.objects.create(name="Ann", joined=datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=utc))
    bob = Author.objects.create(name="Bob", joined=datetime.datetime(2024, 6, 1, 12, tzinfo=utc), active=False)
    alpha = Book.objects.create(author=ann, title="Alpha", price=decimal.Decimal("12.50"), meta={"tags": ["a", "b"], "pages": 120})
    Book.objects.create(author=ann, title="Beta", price=decimal.Decimal("7.25"), meta={"pages": 80})
    gamma = Book.objects.create(author=bob, title="Gamma")
    Review.objects.bulk_create([Review(book=alpha, stars=5, body="great"), Review(book=alpha, stars=3, body="ok"), Review(book=gamma, stars=1)])
    out("counts", (Author.objects.count(), Book.objects.count(), Review.objects.count()))
    out("filter", list(Book.objects.filter(price__gt=5, author__active=True).order_by("title").values_list("title", flat=True)))
    out("json lookup", (list(Book.objects.filter(meta__has_key="tags").values_list("title", flat=True)),
                        list(Book.objects.filter(meta__pages=80).values_list("title", flat=True)),
                        list(Book.objects.filter(meta__pages__gte=100).values_list("title", flat=True)),
                        list(Book.objects.order_by("meta", "title").values_list("title", flat=True))))
    # relationship loading
    a = Author.objects.prefetch_related(Prefetch("books", queryset=Book.objects.order_by("id").prefetch_related("reviews"))).get(name="Ann")
    out("prefetch", [(b.title, str(b.price), sorted(r.stars for r in b.reviews.all())) for b in a.books.all()])
    out("select_related", [(b.title, b.author.name) for b in Book.objects.select_related("author").order_by("title")])
    # aggregates: values() groups by the named column only; annotate on the
    # model itself groups by the primary key and selects every column (the
    # other columns depend on the key)
    out("aggregate", Book.objects.aggregate(n=Count("id"), total=Sum("price")))
    out("values annotate", list(Book.objects.values("author__name").annotate(n=Count("id")).order_by("author__name")))
    out("model annotate", [(x.name, x.active, x.n) for x in Author.objects.annotate(n=Count("books")).order_by("name")])
    # update and delete
    Book.objects.filter(title="Alpha").update(price=decimal.Decimal("13.00"))
    alpha.refresh_from_db()
    alpha.meta = {"tags": ["c"]}
    alpha.save()
    alpha.refresh_from_db()
    out("updated", (str(alpha.price), alpha.meta))
    bob.delete()
    out("after delete", (Author.objects.count(), Book.objects.count(), Review.objects.count()))
    from django.db import IntegrityError, transaction
    try:
        with transaction.atomic():
            Author.objects.create(name="Ann", joined=datetime.datetime(2025, 1, 1, tzinfo=utc))
        out("unique", "not enforced")
    except IntegrityError as e:
        out("unique", e.__cause__.pgcode)
    out("posted set", Review.objects.filter(posted__isnull=False).count())


def introspect():
    text = run("inspectdb", "dj_author", "dj_book", "dj_review")
    for needle in ["class DjAuthor(models.Model):", "name = models.TextField(unique=True)", "joined = models.DateTimeField()",
                   "active = models.BooleanField()", "class DjBook(models.Model):", "id = models.BigAutoField(primary_key=True)",
                   "author = models.ForeignKey(DjAuthor, models.DO_NOTHING)", "title = models.CharField(max_length=200)",
                   "price = models.DecimalField(max_digits=8, decimal_places=2, blank=True, null=True)",
                   "meta = models.JSONField(blank=True, null=True)", "unique_together = (('author', 'title'),)",
                   "book = models.ForeignKey(DjBook, models.DO_NOTHING)", "stars = models.SmallIntegerField()"]:
        out("inspectdb " + needle, needle in text)
    with connection.cursor() as c:
        cons = connection.introspection.get_constraints(c, "dj_book")
    out("constraints", sorted((name if not name.endswith("_like") and "_fk_" not in name and not name.startswith("dj_book_title") else name.split("_")[-1],
                               v["columns"], v["primary_key"], v["unique"], v["foreign_key"], v["index"]) for name, v in cons.items()
                              if v["primary_key"] or v["unique"] or v["foreign_key"]))
    out("indexed columns", sorted(v["columns"][0] for v in cons.values() if v["index"] and not v["unique"] and not v["primary_key"]))
    with connection.cursor() as c:
        desc = connection.introspection.get_table_description(c, "dj_book")
        out("description", [(d.name, d.null_ok) for d in desc])
        out("sequences", connection.introspection.get_sequences(c, "dj_book"))
        out("relations", connection.introspection.get_relations(c, "dj_review"))


def second_migration():
    # a new field, then back again
    models_py = os.path.join(work, "djshop", "models.py")
    with open(models_py) as f:
        src = f.read()
    with open(models_py, "w") as f:
        f.write(src.replace('    body = models.TextField(null=True)\n',
                            '    body = models.TextField(null=True)\n    helpful = models.IntegerField(default=0)\n'))
    # makemigrations imports the changed model in a fresh process
    import subprocess
    env = dict(os.environ, PYTHONPATH=work)
    code = ("import sys, django\nfrom django.conf import settings\n"
            "settings.configure(INSTALLED_APPS=['djshop'], DATABASES={'default': %r}, USE_TZ=True, DEFAULT_AUTO_FIELD='django.db.models.AutoField')\n"
            "django.setup()\nfrom django.core.management import call_command\ncall_command(*sys.argv[1:], verbosity=0)\n" % db)
    for args in (["makemigrations", "djshop", "--name", "helpful"], ["migrate", "djshop"]):
        subprocess.run([sys.executable, "-c", code] + args, env=env, cwd=work, check=True)
    with connection.cursor() as c:
        cols = [d.name for d in connection.introspection.get_table_description(c, "dj_review")]
        c.execute("SELECT count(*), sum(helpful) FROM dj_review")
        out("up", (cols[-1], c.fetchone()))
    subprocess.run([sys.executable, "-c", code, "migrate", "djshop", "0001"], env=env, cwd=work, check=True)
    with connection.cursor() as c:
        cols = [d.name for d in connection.introspection.get_table_description(c, "dj_review")]
        c.execute("SELECT name FROM django_migrations WHERE app = 'djshop' ORDER BY id")
        out("down", (cols, [r[0] for r in c.fetchall()]))
    with open(models_py, "w") as f:
        f.write(src)
    os.remove(os.path.join(work, "djshop", "migrations", "0002_helpful.py"))


def second_start():
    # the application starts again: nothing to migrate, no model changes
    text = run("migrate", "djshop")
    out("second migrate", "No migrations to apply." in text)
    try:
        run("makemigrations", "djshop", "--check", "--dry-run")
        out("model changes", "none")
    except SystemExit as e:
        out("model changes", "exit %s" % e.code)
    out("second start", list(Author.objects.order_by("id").values_list("name", flat=True)))


def main():
    with connection.cursor() as c:
        c.execute("SELECT 1")
    out("vendor", (connection.vendor, connection.pg_version // 10000))
    reset()
    migrate()
    crud()
    introspect()
    second_migration()
    second_start()
    out("done", "ok")
    shutil.rmtree(work)


main()
