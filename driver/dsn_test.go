package driver

import (
	"fmt"
	"path/filepath"
	"testing"
)

func TestParseDSN(t *testing.T) {
	abs, err := filepath.Abs("rel/dir")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		dsn  string
		want string // fmt of the config, or "error"
	}{
		{":memory:", `"" partitions=0 batch_size=0 segment_bytes=0 files_dir="" udf_dir="" []`},
		{"/data/db", `"/data/db" partitions=0 batch_size=0 segment_bytes=0 files_dir="" udf_dir="" []`},
		{"file:/data/db/", `"/data/db" partitions=0 batch_size=0 segment_bytes=0 files_dir="" udf_dir="" []`},
		{"rel/dir?partitions=4&batch_size=1024", fmt.Sprintf(`%q partitions=4 batch_size=1024 segment_bytes=0 files_dir="" udf_dir="" []`, abs)},
		{":memory:?segment_bytes=4096&files_dir=/tmp/f&udf_dir=/tmp/u", `"" partitions=0 batch_size=0 segment_bytes=4096 files_dir="/tmp/f" udf_dir="/tmp/u" []`},
		{":memory:?timezone=UTC&application_name=app", `"" partitions=0 batch_size=0 segment_bytes=0 files_dir="" udf_dir="" [[application_name app] [timezone UTC]]`},
		{":memory:?partitions=2&partitions=3", `"" partitions=3 batch_size=0 segment_bytes=0 files_dir="" udf_dir="" []`},
		{"", "error"},
		{"?partitions=2", "error"},
		{":memory:?partitions=0", "error"},
		{":memory:?batch_size=many", "error"},
		{":memory:?%zz", "error"},
	}
	for _, c := range cases {
		t.Run(c.dsn, func(t *testing.T) {
			cfg, err := parseDSN(c.dsn)
			got := fmt.Sprintf("%q %v %v", cfg.dir, cfg.db, cfg.settings)
			if err != nil {
				got = "error"
			}
			if got != c.want {
				t.Errorf("got %s (%v), want %s", got, err, c.want)
			}
		})
	}
}
