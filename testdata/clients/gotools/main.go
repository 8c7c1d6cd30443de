// Command gotools drives GORM (with its postgres driver over pgx) and
// golang-migrate (its postgres driver over lib/pq) against a server, the
// way a Go application uses them. pgwire.TestGORM runs it with the
// server's URL; it prints one line per check and exits non-zero on the
// first error. The expected lines come from running it against
// PostgreSQL 15. It is a module of its own so that these dependencies stay
// out of Weft's.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/golang-migrate/migrate/v4"
	_ "github.com/golang-migrate/migrate/v4/database/postgres"
	_ "github.com/golang-migrate/migrate/v4/source/file"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

type Author struct {
	ID     uint      `gorm:"primaryKey"`
	Name   string    `gorm:"type:text;not null;uniqueIndex:go_authors_name_key"`
	Joined time.Time `gorm:"type:timestamptz;not null"`
	Active bool      `gorm:"not null;default:true"`
	Books  []Book    `gorm:"constraint:OnDelete:CASCADE"`
}

type Book struct {
	ID       int64    `gorm:"primaryKey"`
	AuthorID uint     `gorm:"not null;uniqueIndex:go_books_author_title"`
	Author   *Author  `gorm:"constraint:OnDelete:CASCADE"`
	Title    string   `gorm:"size:200;not null;index:go_books_title;uniqueIndex:go_books_author_title"`
	Price    *string  `gorm:"type:numeric(8,2)"`
	Meta     []byte   `gorm:"type:json"`
	Reviews  []Review `gorm:"constraint:OnDelete:CASCADE"`
}

type Review struct {
	ID     uint  `gorm:"primaryKey"`
	BookID int64 `gorm:"not null"`
	Stars  int16 `gorm:"not null"`
	Body   *string
	Posted time.Time `gorm:"type:timestamptz;autoCreateTime"`
}

func (Author) TableName() string { return "go_authors" }
func (Book) TableName() string   { return "go_books" }
func (Review) TableName() string { return "go_reviews" }

func out(name string, v any) { fmt.Printf("%s %v\n", name, v) }

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// recorder keeps the statements GORM sends, to show a second start
// changes nothing.
type recorder struct {
	logger.Interface
	mu  sync.Mutex
	sql []string
}

func (r *recorder) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	s, _ := fc()
	r.mu.Lock()
	r.sql = append(r.sql, s)
	r.mu.Unlock()
}

func open(url string, rec *recorder) *gorm.DB {
	cfg := &gorm.Config{Logger: logger.Discard}
	if rec != nil {
		cfg.Logger = rec
	}
	db, err := gorm.Open(postgres.Open(url), cfg)
	must(err)
	return db
}

func str(s string) *string { return &s }

func crud(db *gorm.DB) {
	ann := Author{Name: "Ann", Joined: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), Books: []Book{
		{Title: "Alpha", Price: str("12.50"), Meta: []byte(`{"tags": ["a", "b"], "pages": 120}`)},
		{Title: "Beta", Price: str("7.25"), Meta: []byte(`{"pages": 80}`)},
	}}
	must(db.Create(&ann).Error)
	bob := Author{Name: "Bob", Joined: time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)}
	must(db.Create(&bob).Error)
	must(db.Model(&bob).Update("active", false).Error)
	gamma := Book{AuthorID: bob.ID, Title: "Gamma"}
	must(db.Create(&gamma).Error)
	must(db.Create(&[]Review{{BookID: ann.Books[0].ID, Stars: 5, Body: str("great")}, {BookID: ann.Books[0].ID, Stars: 3, Body: str("ok")}, {BookID: gamma.ID, Stars: 1}}).Error)
	out("ids", fmt.Sprint(ann.ID, bob.ID, ann.Books[0].ID, ann.Books[1].ID, gamma.ID))

	var a Author
	must(db.Preload("Books", func(tx *gorm.DB) *gorm.DB { return tx.Order("id") }).Preload("Books.Reviews", func(tx *gorm.DB) *gorm.DB { return tx.Order("id") }).
		Where("name = ?", "Ann").First(&a).Error)
	var pre []string
	for _, b := range a.Books {
		var stars []string
		for _, r := range b.Reviews {
			stars = append(stars, fmt.Sprint(r.Stars))
		}
		pre = append(pre, fmt.Sprintf("%s:%s:[%s]", b.Title, *b.Price, strings.Join(stars, ",")))
	}
	out("preload", strings.Join(pre, " "))
	var books []Book
	must(db.Joins("Author").Order("go_books.title").Find(&books).Error)
	var joined []string
	for _, b := range books {
		joined = append(joined, b.Title+"/"+b.Author.Name)
	}
	out("joins", strings.Join(joined, " "))
	var page []Book
	must(db.Order("id").Limit(1).Offset(1).Find(&page).Error)
	out("page", page[0].Title)
	var first Book
	must(db.First(&first, "title = ?", "Gamma").Error)
	out("first", first.Title)
	type agg struct {
		Name  string
		N     int
		Total *string
	}
	var aggs []agg
	must(db.Table("go_books b").Select("a.name, count(*) AS n, sum(b.price)::text AS total").Joins("JOIN go_authors a ON a.id = b.author_id").
		Group("a.name").Order("a.name").Scan(&aggs).Error)
	for _, g := range aggs {
		t := "NULL"
		if g.Total != nil {
			t = *g.Total
		}
		out("agg", fmt.Sprint(g.Name, " ", g.N, " ", t))
	}
	must(db.Model(&Book{}).Where("title = ?", "Alpha").Updates(map[string]any{"price": "13.00", "meta": []byte(`{"tags": ["c"]}`)}).Error)
	var alpha Book
	must(db.Where("title = ?", "Alpha").Take(&alpha).Error)
	out("updated", *alpha.Price+" "+string(alpha.Meta))
	must(db.Select("Books").Delete(&bob).Error)
	var na, nb, nr int64
	db.Model(&Author{}).Count(&na)
	db.Model(&Book{}).Count(&nb)
	db.Model(&Review{}).Count(&nr)
	out("after delete", fmt.Sprint(na, nb, nr))
	err := db.Transaction(func(tx *gorm.DB) error { return tx.Create(&Author{Name: "Ann", Joined: time.Now()}).Error })
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		out("unique", pgErr.Code)
	} else {
		out("unique", err)
	}
	var posted int64
	db.Model(&Review{}).Where("posted IS NOT NULL").Count(&posted)
	out("posted set", posted)
}

func introspect(db *gorm.DB) {
	m := db.Migrator()
	out("has", fmt.Sprint(m.HasTable(&Author{}), m.HasTable("nosuch"), m.HasColumn(&Book{}, "Meta"), m.HasColumn(&Book{}, "nosuch")))
	out("constraints", fmt.Sprint(m.HasConstraint(&Book{}, "Reviews"), m.HasConstraint(&Author{}, "Books"), m.HasIndex(&Book{}, "go_books_title"), m.HasIndex(&Book{}, "go_books_author_title")))
	cols, err := m.ColumnTypes(&Book{})
	must(err)
	var cs []string
	for _, c := range cols {
		n, _ := c.Nullable()
		pk, _ := c.PrimaryKey()
		l, _ := c.Length()
		p, s, _ := c.DecimalSize()
		u, _ := c.Unique()
		cs = append(cs, fmt.Sprintf("%s:%s:%v:%v:%d:%d,%d:%v", c.Name(), c.DatabaseTypeName(), n, pk, l, p, s, u))
	}
	// (sorted: GORM's query has no ORDER BY; PostgreSQL happens to answer
	// in column order, Weft in the order its join produces)
	sort.Strings(cs)
	out("column types", strings.Join(cs, " "))
	idx, err := m.GetIndexes(&Book{})
	must(err)
	var is []string
	for _, i := range idx {
		u, _ := i.Unique()
		p, _ := i.PrimaryKey()
		is = append(is, fmt.Sprintf("%s:%v:%v:%v", i.Name(), i.Columns(), u, p))
	}
	sort.Strings(is)
	out("indexes", strings.Join(is, " "))
	tables, err := m.GetTables()
	must(err)
	var gt []string
	for _, t := range tables {
		if strings.HasPrefix(t, "go_") {
			gt = append(gt, t)
		}
	}
	sort.Strings(gt)
	out("tables", gt)
}

const up = `CREATE TABLE go_tags (id serial PRIMARY KEY, book_id bigint NOT NULL REFERENCES go_books (id), label varchar(40) NOT NULL UNIQUE);
CREATE INDEX go_tags_book ON go_tags (book_id);
ALTER TABLE go_books ADD COLUMN isbn varchar(13) NOT NULL DEFAULT 'none';
`

const down = `ALTER TABLE go_books DROP COLUMN isbn;
DROP TABLE go_tags;
`

func migrations(url string, db *gorm.DB) {
	dir, err := os.MkdirTemp("", "migrate")
	must(err)
	defer os.RemoveAll(dir)
	must(os.WriteFile(filepath.Join(dir, "1_tags.up.sql"), []byte(up), 0o644))
	must(os.WriteFile(filepath.Join(dir, "1_tags.down.sql"), []byte(down), 0o644))
	mg, err := migrate.New("file://"+dir, url)
	must(err)
	must(mg.Up())
	v, dirty, err := mg.Version()
	must(err)
	var isbn []string
	must(db.Raw("SELECT DISTINCT isbn FROM go_books").Scan(&isbn).Error)
	out("migrate up", fmt.Sprint(v, dirty, db.Migrator().HasTable("go_tags"), isbn))
	out("up again", mg.Up())
	must(mg.Down())
	_, _, err = mg.Version()
	out("migrate down", fmt.Sprint(db.Migrator().HasTable("go_tags"), db.Migrator().HasColumn(&Book{}, "isbn"), err))
	must(mg.Up())
	se, de := mg.Close()
	must(se)
	must(de)
	// a second start: nothing to migrate
	mg, err = migrate.New("file://"+dir, url)
	must(err)
	out("second migrate", mg.Up())
	v, _, err = mg.Version()
	must(err)
	out("second version", v)
	mg.Close()
}

func main() {
	url := os.Args[1]
	db := open(url, nil)
	for _, t := range []string{"go_tags", "go_reviews", "go_books", "go_authors", "schema_migrations"} {
		must(db.Exec("DROP TABLE IF EXISTS " + t).Error)
	}
	must(db.AutoMigrate(&Author{}, &Book{}, &Review{}))
	crud(db)
	introspect(db)
	migrations(strings.Replace(url, "postgres://", "postgres://", 1), db)
	// a second start of the application: AutoMigrate finds the schema as
	// the models have it and changes nothing
	rec := &recorder{Interface: logger.Discard}
	db2 := open(url, rec)
	must(db2.AutoMigrate(&Author{}, &Book{}, &Review{}))
	var changes []string
	for _, s := range rec.sql {
		u := strings.ToUpper(strings.TrimSpace(s))
		if strings.HasPrefix(u, "CREATE") || strings.HasPrefix(u, "ALTER") || strings.HasPrefix(u, "DROP") {
			changes = append(changes, s)
		}
	}
	out("second start changes", changes)
	var names []string
	must(db2.Model(&Author{}).Order("id").Pluck("name", &names).Error)
	out("second start", names)
	out("done", "ok")
}
