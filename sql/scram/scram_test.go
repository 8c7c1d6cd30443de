package scram

import (
	"strings"
	"testing"
)

func TestVerifierRoundTrip(t *testing.T) {
	v, err := NewVerifier("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	w, err := Parse(v.String())
	if err != nil {
		t.Fatal(err)
	}
	if w.String() != v.String() {
		t.Fatalf("round trip: %s != %s", w, v)
	}
	if !w.CheckPassword("s3cret") || w.CheckPassword("S3cret") || w.CheckPassword("") {
		t.Fatal("password check is wrong")
	}
	for _, bad := range []string{"", "md5abc", "SCRAM-SHA-256$x:abc$d:e", "SCRAM-SHA-256$4096:!!$a:b"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

// TestExchangeRejectsTampering runs the server side against a proof made
// with the wrong password and against a changed nonce.
func TestExchangeRejectsTampering(t *testing.T) {
	v, _ := NewVerifier("right")
	ex := NewExchange(v)
	first, err := ex.First("n,,n=,r=clientnonce")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ex.Final("c=biws,r=othernonce,p=AAAA"); err == nil {
		t.Fatal("a foreign nonce was accepted")
	}
	nonce, _, _ := strings.Cut(strings.TrimPrefix(first, "r="), ",")
	if _, err := ex.Final("c=biws,r=" + nonce + ",p=" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="); err != ErrWrongPassword {
		t.Fatal("a wrong proof was accepted")
	}
	if _, err := NewExchange(v).First("p=x,,n=,r=abc"); err == nil {
		t.Fatal("channel binding p= should be refused")
	}
}
