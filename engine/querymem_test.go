package engine

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/exec"
)

func TestParseMemorySetting(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{"10MB", 10 << 20, false},
		{"64kB", 64 << 10, false},
		{"2 GB", 2 << 30, false},
		{"1TB", 1 << 40, false},
		{"4096", 4096 << 10, false}, // kilobytes, like work_mem
		{"512B", 512, false},
		{"0", 0, false},
		{"-1", 0, false},
		{"lots", 0, true},
		{"10mb", 0, true}, // PostgreSQL's units are case-sensitive
		{"-5MB", 0, true},
	} {
		got, err := parseMemorySetting(queryMemoryLimitSetting, tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("%q: got %d, %v; want %d (error %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

// TestQueryAllocatorCancels counts allocations and frees, and cancels
// once, at the first allocation past the limit.
func TestQueryAllocatorCancels(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	cancels := 0
	a := exec.NewQueryAllocator(mem, exec.QueryLimit{Bytes: 1000, Setting: queryMemoryLimitSetting}, nil, func() { cancels++ })
	b1 := a.Allocate(600)
	b1 = a.Reallocate(900, b1)
	if a.Held() != 900 || a.Exceeded() != nil || cancels != 0 {
		t.Fatalf("held %d, exceeded %v, cancels %d", a.Held(), a.Exceeded(), cancels)
	}
	b2 := a.Allocate(200)
	b3 := a.Allocate(200)
	if a.Exceeded() == nil || cancels != 1 {
		t.Fatalf("past the limit: exceeded %v, cancels %d", a.Exceeded(), cancels)
	}
	a.Free(b1)
	a.Free(b2)
	a.Free(b3)
	if a.Held() != 0 {
		t.Errorf("held %d after freeing everything", a.Held())
	}
}

func TestParseMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{"", 0, false}, // the default: 80% of the machine's memory
		{"256MB", 256 << 20, false},
		{"4GB", 4 << 30, false},
		{"0", -1, false}, // no limit
		{"-1", -1, false},
		{"much", 0, true},
	} {
		got, err := ParseMemoryLimit(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("%q: got %d, %v; want %d (error %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

func TestBooleanSetting(t *testing.T) {
	for in, want := range map[string]string{"on": "on", "TRUE": "on", "1": "on", "off": "off", "no": "off", "maybe": ""} {
		got, err := booleanSetting(spillCompressionSetting, in)
		if got != want || (err != nil) != (want == "") {
			t.Errorf("%q: got %q, %v; want %q", in, got, err, want)
		}
	}
}
