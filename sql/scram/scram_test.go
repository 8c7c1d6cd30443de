package scram

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
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
	ex := NewExchange(v, nil, false)
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
	if _, err := NewExchange(v, nil, false).First("p=x,,n=,r=abc"); err == nil {
		t.Fatal("channel binding p= should be refused")
	}
}

// clientFinal computes a client's final message for password over the
// server's first message, binding cbind (the gs2 header and any data).
func clientFinal(t *testing.T, password, clientFirstBare, serverFirst string, cbind []byte) string {
	t.Helper()
	var nonce, salt string
	iter := 0
	for _, attr := range strings.Split(serverFirst, ",") {
		switch {
		case strings.HasPrefix(attr, "r="):
			nonce = attr[2:]
		case strings.HasPrefix(attr, "s="):
			salt = attr[2:]
		case strings.HasPrefix(attr, "i="):
			iter, _ = strconv.Atoi(attr[2:])
		}
	}
	rawSalt, err := base64.StdEncoding.DecodeString(salt)
	if err != nil {
		t.Fatal(err)
	}
	salted, err := pbkdf2.Key(sha256.New, password, rawSalt, iter, sha256.Size)
	if err != nil {
		t.Fatal(err)
	}
	clientKey := mac(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	withoutProof := "c=" + base64.StdEncoding.EncodeToString(cbind) + ",r=" + nonce
	sig := mac(stored[:], clientFirstBare+","+serverFirst+","+withoutProof)
	proof := make([]byte, len(clientKey))
	for i := range proof {
		proof[i] = clientKey[i] ^ sig[i]
	}
	return withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)
}

// TestChannelBinding runs whole exchanges with and without
// SCRAM-SHA-256-PLUS; only a client bound to the same channel passes.
func TestChannelBinding(t *testing.T) {
	v, _ := NewVerifier("pw")
	cb := []byte("hash of the server certificate")
	cases := []struct {
		name      string
		cbData    []byte // the server's channel
		plus      bool
		flag      string
		bound     []byte // what the client binds after the gs2 header
		password  string
		firstFail bool
		ok        bool
	}{
		{"plain, no TLS", nil, false, "n", nil, "pw", false, true},
		{"plain over TLS, client cannot bind", cb, false, "n", nil, "pw", false, true},
		{"PLUS, same channel", cb, true, "p=tls-server-end-point", cb, "pw", false, true},
		{"PLUS, other channel", cb, true, "p=tls-server-end-point", []byte("another certificate"), "pw", false, false},
		{"PLUS, wrong password", cb, true, "p=tls-server-end-point", cb, "nope", false, false},
		{"PLUS without p=", cb, true, "n", nil, "pw", true, false},
		{"y while the server offered PLUS", cb, false, "y", nil, "pw", true, false},
		{"y without TLS", nil, false, "y", nil, "pw", false, true},
		{"p= without PLUS", cb, false, "p=tls-server-end-point", cb, "pw", true, false},
		{"PLUS with another binding type", cb, true, "p=tls-unique", cb, "pw", true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ex := NewExchange(v, c.cbData, c.plus)
			bare := "n=,r=clientnonce"
			first, err := ex.First(c.flag + ",," + bare)
			if (err != nil) != c.firstFail {
				t.Fatalf("first: %v", err)
			}
			if err != nil {
				return
			}
			_, err = ex.Final(clientFinal(t, c.password, bare, first, append([]byte(c.flag+",,"), c.bound...)))
			if (err == nil) != c.ok {
				t.Errorf("final: %v, want ok=%v", err, c.ok)
			}
		})
	}
}

// TestMockExchange: an unknown role sees a stable salt of its own and
// fails at the end whatever it sends.
func TestMockExchange(t *testing.T) {
	secret := []byte("server secret")
	salt := func(secret []byte, role string) string {
		first, err := NewMockExchange(secret, role, nil, false).First("n,,n=,r=abc")
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(first, ",")[1]
	}
	if salt(secret, "ghost") != salt(secret, "ghost") {
		t.Error("the mock salt changes between attempts")
	}
	if salt(secret, "ghost") == salt(secret, "other") || salt(secret, "ghost") == salt([]byte("another secret"), "ghost") {
		t.Error("the mock salt does not depend on the role and the secret")
	}
	ex := NewMockExchange(secret, "ghost", nil, false)
	first, _ := ex.First("n,,n=,r=abc")
	for _, pw := range []string{"", "pw", "ghost"} {
		if _, err := ex.Final(clientFinal(t, pw, "n=,r=abc", first, []byte("n,,"))); err != ErrWrongPassword {
			t.Errorf("password %q: %v, want ErrWrongPassword", pw, err)
		}
	}
}
