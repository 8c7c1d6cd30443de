package compat

import (
	"database/sql"
	"errors"
	"testing"
	"time"

	_ "github.com/weftdb/weft/driver"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

type product struct {
	ID        uint `gorm:"primaryKey"`
	Code      string
	Price     int64
	Note      *string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TestGORM runs GORM's postgres dialect over a *sql.DB of the weft
// driver: AutoMigrate, create, query, update, delete and a transaction.
func TestGORM(t *testing.T) {
	sqlDB, err := sql.Open("weft", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	// DriverName keeps the dialect from prepending pgx's own
	// query-mode marker to the arguments, which only pgx understands
	db, err := gorm.Open(postgres.New(postgres.Config{DriverName: "weft", Conn: sqlDB}), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AutoMigrate(&product{}); err != nil {
		t.Fatalf("AutoMigrate: %v", err)
	}
	// a second AutoMigrate reads the table back and must find nothing to do
	if err := db.AutoMigrate(&product{}); err != nil {
		t.Fatalf("AutoMigrate again: %v", err)
	}
	note := "fragile"
	items := []product{{Code: "D42", Price: 100}, {Code: "E7", Price: 250, Note: &note}, {Code: "F1", Price: 5}}
	if err := db.Create(&items).Error; err != nil {
		t.Fatal(err)
	}
	if items[0].ID == 0 || items[1].ID == items[0].ID {
		t.Errorf("ids not returned: %d %d", items[0].ID, items[1].ID)
	}

	var p product
	if err := db.First(&p, "code = ?", "E7").Error; err != nil {
		t.Fatal(err)
	}
	if p.Price != 250 || p.Note == nil || *p.Note != "fragile" || p.CreatedAt.IsZero() {
		t.Errorf("First: %+v", p)
	}
	if err := db.Model(&p).Update("Price", 300).Error; err != nil {
		t.Fatal(err)
	}
	var cheap []product
	if err := db.Where("price < ?", 200).Order("price").Find(&cheap).Error; err != nil {
		t.Fatal(err)
	}
	if len(cheap) != 2 || cheap[0].Code != "F1" || cheap[1].Code != "D42" {
		t.Errorf("cheap: %+v", cheap)
	}

	err = db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Delete(&product{}, items[0].ID).Error; err != nil {
			return err
		}
		return errors.New("changed my mind")
	})
	if err == nil || err.Error() != "changed my mind" {
		t.Fatalf("Transaction: %v", err)
	}
	var count int64
	if err := db.Model(&product{}).Count(&count).Error; err != nil {
		t.Fatal(err)
	}
	if count != 3 {
		t.Errorf("%d products after a rolled-back delete", count)
	}
	if err := db.Delete(&product{}, items[0].ID).Error; err != nil {
		t.Fatal(err)
	}
	var total int64
	if err := db.Model(&product{}).Select("sum(price)").Scan(&total).Error; err != nil {
		t.Fatal(err)
	}
	if total != 305 {
		t.Errorf("sum(price) = %d, want 300 + 5", total)
	}
}
