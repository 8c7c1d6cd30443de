// Package scram implements the server side of SCRAM-SHA-256 (RFC 5802,
// RFC 7677) as PostgreSQL uses it, and its password verifiers.
package scram

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Iterations is the PBKDF2 count for new verifiers (PostgreSQL's default).
const Iterations = 4096

// Verifier is a stored password: salt, iterations and the derived keys.
type Verifier struct {
	Salt       []byte
	Iterations int
	StoredKey  []byte
	ServerKey  []byte
}

// NewVerifier derives a verifier from a password with a fresh salt.
func NewVerifier(password string) (Verifier, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return Verifier{}, err
	}
	return derive(password, salt, Iterations)
}

func derive(password string, salt []byte, iter int) (Verifier, error) {
	salted, err := pbkdf2.Key(sha256.New, password, salt, iter, sha256.Size)
	if err != nil {
		return Verifier{}, err
	}
	clientKey := mac(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	return Verifier{Salt: salt, Iterations: iter, StoredKey: stored[:], ServerKey: mac(salted, "Server Key")}, nil
}

func mac(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// String renders PostgreSQL's form: SCRAM-SHA-256$iter:salt$stored:server.
func (v Verifier) String() string {
	b := base64.StdEncoding
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", v.Iterations, b.EncodeToString(v.Salt), b.EncodeToString(v.StoredKey), b.EncodeToString(v.ServerKey))
}

// Parse reads a verifier in PostgreSQL's form.
func Parse(s string) (Verifier, error) {
	rest, ok := strings.CutPrefix(s, "SCRAM-SHA-256$")
	if !ok {
		return Verifier{}, errors.New("not a SCRAM-SHA-256 verifier")
	}
	iterSalt, keys, ok := strings.Cut(rest, "$")
	iterS, saltS, ok2 := strings.Cut(iterSalt, ":")
	storedS, serverS, ok3 := strings.Cut(keys, ":")
	if !ok || !ok2 || !ok3 {
		return Verifier{}, errors.New("malformed SCRAM verifier")
	}
	iter, err := strconv.Atoi(iterS)
	if err != nil || iter < 1 {
		return Verifier{}, errors.New("bad iteration count")
	}
	b := base64.StdEncoding
	v := Verifier{Iterations: iter}
	if v.Salt, err = b.DecodeString(saltS); err != nil {
		return Verifier{}, err
	}
	if v.StoredKey, err = b.DecodeString(storedS); err != nil {
		return Verifier{}, err
	}
	if v.ServerKey, err = b.DecodeString(serverS); err != nil {
		return Verifier{}, err
	}
	return v, nil
}

// CheckPassword verifies a cleartext password against v.
func (v Verifier) CheckPassword(password string) bool {
	w, err := derive(password, v.Salt, v.Iterations)
	return err == nil && subtle.ConstantTimeCompare(w.StoredKey, v.StoredKey) == 1
}

// Mechanism names as PostgreSQL offers them.
const (
	Mechanism     = "SCRAM-SHA-256"
	MechanismPlus = "SCRAM-SHA-256-PLUS" // with tls-server-end-point channel binding
)

// Exchange is one server-side SCRAM-SHA-256 authentication.
type Exchange struct {
	v                      Verifier
	clientFirstBare, nonce string
	serverFirst            string
	// gs2Header is the client's "n,,", "y,," or "p=tls-server-end-point,,".
	gs2Header string
	// cbData is the TLS channel's binding data (the hash of the server's
	// certificate), nil when the connection is not over TLS.
	cbData []byte
	// plus is whether the client chose SCRAM-SHA-256-PLUS.
	plus bool
	// mock marks an exchange for a role that cannot log in: it runs to
	// the end like a real one and then fails as a wrong password would.
	mock bool
}

// NewExchange starts an exchange for a stored verifier. cbData is the
// connection's tls-server-end-point data (nil without TLS); plus is
// whether the client chose the -PLUS mechanism.
func NewExchange(v Verifier, cbData []byte, plus bool) *Exchange {
	return &Exchange{v: v, cbData: cbData, plus: plus}
}

// NewMockExchange starts an exchange for a role that does not exist (or
// may not log in): its salt is derived from the role name and a server
// secret, so repeated attempts see the same salt as for a real role, and
// it always ends as a wrong password, telling nothing about the role.
func NewMockExchange(secret []byte, role string, cbData []byte, plus bool) *Exchange {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte("weft mock SCRAM salt\x00" + role))
	sum := h.Sum(nil)
	v := Verifier{Salt: sum[:16], Iterations: Iterations, StoredKey: mac(sum, "stored"), ServerKey: mac(sum, "server")}
	return &Exchange{v: v, cbData: cbData, plus: plus, mock: true}
}

// First takes the client-first-message and returns the server-first-message.
func (e *Exchange) First(clientFirst string) (string, error) {
	// the user name is ignored, as PostgreSQL does (it comes from the
	// startup message)
	parts := strings.SplitN(clientFirst, ",", 3)
	if len(parts) != 3 || parts[1] != "" {
		return "", errors.New("unsupported SCRAM client-first-message")
	}
	if err := e.checkBindingFlag(parts[0]); err != nil {
		return "", err
	}
	e.gs2Header = parts[0] + ",,"
	e.clientFirstBare = parts[2]
	var clientNonce string
	for _, attr := range strings.Split(e.clientFirstBare, ",") {
		if v, ok := strings.CutPrefix(attr, "r="); ok {
			clientNonce = v
		}
	}
	if clientNonce == "" {
		return "", errors.New("SCRAM client nonce missing")
	}
	buf := make([]byte, 18)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	e.nonce = clientNonce + base64.RawStdEncoding.EncodeToString(buf)
	e.serverFirst = fmt.Sprintf("r=%s,s=%s,i=%d", e.nonce, base64.StdEncoding.EncodeToString(e.v.Salt), e.v.Iterations)
	return e.serverFirst, nil
}

// checkBindingFlag checks the gs2 channel-binding flag against the
// mechanism, as RFC 5802 and PostgreSQL do: "p=" only with -PLUS and
// only tls-server-end-point; "y" (the client could bind but thinks the
// server cannot) is a downgrade when the server offered -PLUS.
func (e *Exchange) checkBindingFlag(flag string) error {
	switch {
	case e.plus:
		if flag != "p=tls-server-end-point" || e.cbData == nil {
			return errors.New("SCRAM channel binding negotiation error: SCRAM-SHA-256-PLUS needs p=tls-server-end-point")
		}
	case flag == "n":
	case flag == "y":
		if e.cbData != nil {
			return errors.New("SCRAM channel binding negotiation error: the client supports channel binding, which the server offered")
		}
	default:
		return errors.New("SCRAM channel binding negotiation error: channel binding without SCRAM-SHA-256-PLUS")
	}
	return nil
}

// Final checks the client-final-message's channel binding and proof and
// returns the server-final-message; a wrong password is an error.
func (e *Exchange) Final(clientFinal string) (string, error) {
	i := strings.LastIndex(clientFinal, ",p=")
	if i < 0 {
		return "", errors.New("SCRAM proof missing")
	}
	withoutProof, proofB64 := clientFinal[:i], clientFinal[i+3:]
	if !strings.Contains(withoutProof, "r="+e.nonce) {
		return "", errors.New("SCRAM nonce mismatch")
	}
	if err := e.checkBinding(withoutProof); err != nil {
		return "", err
	}
	proof, err := base64.StdEncoding.DecodeString(proofB64)
	if err != nil || len(proof) != sha256.Size {
		return "", errors.New("malformed SCRAM proof")
	}
	authMessage := e.clientFirstBare + "," + e.serverFirst + "," + withoutProof
	signature := mac(e.v.StoredKey, authMessage)
	clientKey := make([]byte, len(proof))
	for k := range proof {
		clientKey[k] = proof[k] ^ signature[k]
	}
	stored := sha256.Sum256(clientKey)
	if subtle.ConstantTimeCompare(stored[:], e.v.StoredKey) != 1 || e.mock {
		return "", ErrWrongPassword
	}
	return "v=" + base64.StdEncoding.EncodeToString(mac(e.v.ServerKey, authMessage)), nil
}

// checkBinding checks the c= attribute: the gs2 header again, followed by
// the channel's binding data when the client bound to it.
func (e *Exchange) checkBinding(withoutProof string) error {
	want := []byte(e.gs2Header)
	if e.plus {
		want = append(want, e.cbData...)
	}
	for _, attr := range strings.Split(withoutProof, ",") {
		if v, ok := strings.CutPrefix(attr, "c="); ok {
			got, err := base64.StdEncoding.DecodeString(v)
			if err != nil || subtle.ConstantTimeCompare(got, want) != 1 {
				return errors.New("SCRAM channel binding check failed")
			}
			return nil
		}
	}
	return errors.New("SCRAM channel binding attribute missing")
}

// ErrWrongPassword is a failed proof.
var ErrWrongPassword = errors.New("wrong password")
