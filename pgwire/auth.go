package pgwire

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/sql/scram"
	"github.com/weftdb/weft/sql/sqlerr"
)

// Authentication methods.
const (
	AuthTrust    = "trust"
	AuthPassword = "password"      // cleartext, checked against the verifier
	AuthSCRAM    = "scram-sha-256" // SCRAM-SHA-256 (and -PLUS over TLS)
)

// authenticate runs the configured method for c.user. On failure the
// client gets 28P01 (or 28000 under trust) and the connection ends. A
// role that does not exist, may not log in, has no password or one past
// VALID UNTIL goes through the same exchange as a real one and fails at
// its end with the same message as a wrong password, so a client cannot
// tell which roles exist.
func (c *conn) authenticate() error {
	method := c.srv.cfg.Auth
	role, ok := c.srv.db.Role(c.user)
	if method == "" || method == AuthTrust {
		return c.trust(role, ok)
	}
	usable := ok && !role.Predefined && role.Login && role.Verifier != "" &&
		(role.ValidUntil == nil || time.Now().Before(*role.ValidUntil))
	var v scram.Verifier
	if usable {
		var err error
		if v, err = scram.Parse(role.Verifier); err != nil {
			c.srv.logf("role %s has an unreadable verifier: %v", c.user, err)
			usable = false
		}
	}
	switch method {
	case AuthPassword:
		return c.cleartext(v, usable)
	case AuthSCRAM:
		return c.scram(v, usable)
	}
	return fmt.Errorf("unknown authentication method %q", method)
}

// trust needs no password, but still an existing role that may log in,
// as in PostgreSQL.
func (c *conn) trust(role catalog.Role, ok bool) error {
	if !ok || role.Predefined {
		return c.fatal(sqlerr.New(sqlerr.InvalidAuthorization, "role \"%s\" does not exist", c.user))
	}
	if !role.Login {
		return c.fatal(sqlerr.New(sqlerr.InvalidAuthorization, "role \"%s\" is not permitted to log in", c.user))
	}
	return nil
}

func (c *conn) fatal(e *sqlerr.Error) error {
	c.sendError(e)
	c.backend.Flush()
	return e
}

func (c *conn) authFailed() error {
	return c.fatal(sqlerr.New(sqlerr.InvalidPassword, "password authentication failed for user \"%s\"", c.user))
}

// cleartext asks for the password and checks it.
func (c *conn) cleartext(v scram.Verifier, usable bool) error {
	c.backend.Send(&pgproto3.AuthenticationCleartextPassword{})
	if err := c.backend.Flush(); err != nil {
		return err
	}
	c.backend.SetAuthType(pgproto3.AuthTypeCleartextPassword)
	msg, err := c.backend.Receive()
	if err != nil {
		return err
	}
	pw, ok := msg.(*pgproto3.PasswordMessage)
	if !ok || !usable || !v.CheckPassword(pw.Password) {
		return c.authFailed()
	}
	return nil
}

// scram runs SCRAM-SHA-256, offering SCRAM-SHA-256-PLUS first when the
// connection is over TLS (as PostgreSQL does).
func (c *conn) scram(v scram.Verifier, usable bool) error {
	cbData := c.channelBindingData()
	mechs := []string{scram.Mechanism}
	if cbData != nil {
		mechs = []string{scram.MechanismPlus, scram.Mechanism}
	}
	c.backend.Send(&pgproto3.AuthenticationSASL{AuthMechanisms: mechs})
	if err := c.backend.Flush(); err != nil {
		return err
	}
	c.backend.SetAuthType(pgproto3.AuthTypeSASL)
	msg, err := c.backend.Receive()
	if err != nil {
		return err
	}
	first, ok := msg.(*pgproto3.SASLInitialResponse)
	if !ok || !slices.Contains(mechs, first.AuthMechanism) {
		return c.fatal(sqlerr.New(sqlerr.ProtocolViolation, "client selected an invalid SASL authentication mechanism"))
	}
	plus := first.AuthMechanism == scram.MechanismPlus
	var ex *scram.Exchange
	if usable {
		ex = scram.NewExchange(v, cbData, plus)
	} else {
		secret, err := c.srv.db.AuthSecret()
		if err != nil {
			return err
		}
		ex = scram.NewMockExchange(secret, c.user, cbData, plus)
	}
	serverFirst, err := ex.First(string(first.Data))
	if err != nil {
		return c.fatal(sqlerr.New(sqlerr.ProtocolViolation, "malformed SCRAM message: %v", err))
	}
	c.backend.Send(&pgproto3.AuthenticationSASLContinue{Data: []byte(serverFirst)})
	if err := c.backend.Flush(); err != nil {
		return err
	}
	c.backend.SetAuthType(pgproto3.AuthTypeSASLContinue)
	msg, err = c.backend.Receive()
	if err != nil {
		return err
	}
	final, ok := msg.(*pgproto3.SASLResponse)
	if !ok {
		return c.authFailed()
	}
	serverFinal, err := ex.Final(string(final.Data))
	if err != nil {
		if !errors.Is(err, scram.ErrWrongPassword) {
			c.srv.logf("SCRAM exchange with %s failed: %v", c.user, err)
		}
		return c.authFailed()
	}
	c.backend.Send(&pgproto3.AuthenticationSASLFinal{Data: []byte(serverFinal)})
	return nil
}

// channelBindingData is tls-server-end-point (RFC 5929) for the server's
// certificate: its hash under the hash of its signature algorithm, SHA-256
// for MD5 and SHA-1. nil without TLS, or when the certificate's algorithm
// names no hash (Ed25519), as in PostgreSQL, which then offers no -PLUS.
func (c *conn) channelBindingData() []byte {
	if !c.tls || c.srv.cfg.TLS == nil || len(c.srv.cfg.TLS.Certificates) != 1 {
		return nil
	}
	return endPointHash(c.srv.cfg.TLS.Certificates[0])
}

func endPointHash(cert tls.Certificate) []byte {
	if len(cert.Certificate) == 0 {
		return nil
	}
	leaf := cert.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil
		}
	}
	var h crypto.Hash
	switch leaf.SignatureAlgorithm {
	case x509.MD5WithRSA, x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.DSAWithSHA1,
		x509.SHA256WithRSA, x509.SHA256WithRSAPSS, x509.ECDSAWithSHA256, x509.DSAWithSHA256:
		h = crypto.SHA256
	case x509.SHA384WithRSA, x509.SHA384WithRSAPSS, x509.ECDSAWithSHA384:
		h = crypto.SHA384
	case x509.SHA512WithRSA, x509.SHA512WithRSAPSS, x509.ECDSAWithSHA512:
		h = crypto.SHA512
	default:
		return nil
	}
	d := h.New()
	d.Write(cert.Certificate[0])
	return d.Sum(nil)
}
