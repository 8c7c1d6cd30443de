"""The models of the Django test app (django_app.py)."""
from django.db import models


class Author(models.Model):
    name = models.TextField(unique=True)
    joined = models.DateTimeField()
    active = models.BooleanField(default=True)

    class Meta:
        db_table = "dj_author"


class Book(models.Model):
    id = models.BigAutoField(primary_key=True)
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="books")
    title = models.CharField(max_length=200, db_index=True)
    price = models.DecimalField(max_digits=8, decimal_places=2, null=True)
    meta = models.JSONField(null=True)

    class Meta:
        db_table = "dj_book"
        constraints = [models.UniqueConstraint(fields=["author", "title"], name="dj_book_author_title")]


class Review(models.Model):
    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="reviews")
    stars = models.SmallIntegerField()
    body = models.TextField(null=True)
    posted = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "dj_review"
