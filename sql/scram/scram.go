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

// Exchange is one server-side SCRAM-SHA-256 authentication.
type Exchange struct {
	v                      Verifier
	clientFirstBare, nonce string
	serverFirst            string
}

// NewExchange starts an exchange for a stored verifier.
func NewExchange(v Verifier) *Exchange { return &Exchange{v: v} }

// First takes the client-first-message and returns the server-first-message.
func (e *Exchange) First(clientFirst string) (string, error) {
	// gs2 header: "n,," (no channel binding) or "y,,"; the user name is
	// ignored, as PostgreSQL does (it comes from the startup message)
	parts := strings.SplitN(clientFirst, ",", 3)
	if len(parts) != 3 || (parts[0] != "n" && parts[0] != "y") {
		return "", errors.New("unsupported SCRAM client-first-message")
	}
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

// Final checks the client-final-message's proof and returns the
// server-final-message; a wrong password is an error.
func (e *Exchange) Final(clientFinal string) (string, error) {
	i := strings.LastIndex(clientFinal, ",p=")
	if i < 0 {
		return "", errors.New("SCRAM proof missing")
	}
	withoutProof, proofB64 := clientFinal[:i], clientFinal[i+3:]
	if !strings.Contains(withoutProof, "r="+e.nonce) {
		return "", errors.New("SCRAM nonce mismatch")
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
	if subtle.ConstantTimeCompare(stored[:], e.v.StoredKey) != 1 {
		return "", ErrWrongPassword
	}
	return "v=" + base64.StdEncoding.EncodeToString(mac(e.v.ServerKey, authMessage)), nil
}

// ErrWrongPassword is a failed proof.
var ErrWrongPassword = errors.New("wrong password")
