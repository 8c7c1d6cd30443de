package pgwire

import (
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/weftdb/weft/sql/scram"
	"github.com/weftdb/weft/sql/sqlerr"
)

// Authentication methods.
const (
	AuthTrust    = "trust"
	AuthPassword = "password"      // cleartext, checked against the verifier
	AuthSCRAM    = "scram-sha-256" // SCRAM-SHA-256
)

// authenticate runs the configured method for c.user. On failure the
// client gets 28P01 and the connection ends.
func (c *conn) authenticate() error {
	method := c.srv.cfg.Auth
	fatal := func(e *sqlerr.Error) error {
		c.sendError(e)
		c.backend.Flush()
		return e
	}
	failed := func() error {
		return fatal(sqlerr.New(sqlerr.InvalidPassword, "password authentication failed for user \"%s\"", c.user))
	}
	role, ok := c.srv.db.Role(c.user)
	if method == "" || method == AuthTrust {
		// trust still needs a role that may log in, as in PostgreSQL
		if !ok || role.Predefined {
			return fatal(sqlerr.New(sqlerr.InvalidAuthorization, "role \"%s\" does not exist", c.user))
		}
		if !role.Login {
			return fatal(sqlerr.New(sqlerr.InvalidAuthorization, "role \"%s\" is not permitted to log in", c.user))
		}
		return nil
	}
	expired := role.ValidUntil != nil && time.Now().After(*role.ValidUntil)
	if !ok || !role.Login || role.Verifier == "" || expired {
		// answer like a wrong password: do not tell which roles exist
		if method == AuthSCRAM {
			c.backend.Send(&pgproto3.AuthenticationSASL{AuthMechanisms: []string{"SCRAM-SHA-256"}})
			c.backend.Flush()
			c.backend.SetAuthType(pgproto3.AuthTypeSASL)
			c.backend.Receive()
		}
		return failed()
	}
	v, err := scram.Parse(role.Verifier)
	if err != nil {
		return failed()
	}
	switch method {
	case AuthPassword:
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
		if !ok || !v.CheckPassword(pw.Password) {
			return failed()
		}
		return nil
	case AuthSCRAM:
		c.backend.Send(&pgproto3.AuthenticationSASL{AuthMechanisms: []string{"SCRAM-SHA-256"}})
		if err := c.backend.Flush(); err != nil {
			return err
		}
		c.backend.SetAuthType(pgproto3.AuthTypeSASL)
		msg, err := c.backend.Receive()
		if err != nil {
			return err
		}
		first, ok := msg.(*pgproto3.SASLInitialResponse)
		if !ok || first.AuthMechanism != "SCRAM-SHA-256" {
			return failed()
		}
		ex := scram.NewExchange(v)
		serverFirst, err := ex.First(string(first.Data))
		if err != nil {
			return failed()
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
			return failed()
		}
		serverFinal, err := ex.Final(string(final.Data))
		if err != nil {
			if !errors.Is(err, scram.ErrWrongPassword) {
				c.srv.logf("SCRAM exchange with %s failed: %v", c.user, err)
			}
			return failed()
		}
		c.backend.Send(&pgproto3.AuthenticationSASLFinal{Data: []byte(serverFinal)})
		return nil
	}
	return fmt.Errorf("unknown authentication method %q", method)
}
