package engine

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
)

// authSecretSize is the length of the secret mock authentication derives
// fake salts from.
const authSecretSize = 32

// AuthSecret is the server secret SCRAM mock authentication derives the
// salts of unknown roles from. A data directory keeps it (auth_secret),
// so a role that does not exist shows the same salt across restarts, as
// one that exists does; an in-memory database makes one per Open.
func (db *DB) AuthSecret() ([]byte, error) {
	db.authMu.Lock()
	defer db.authMu.Unlock()
	if db.authSecret != nil {
		return db.authSecret, nil
	}
	secret, err := db.loadAuthSecret()
	if err != nil {
		return nil, err
	}
	db.authSecret = secret
	return secret, nil
}

func (db *DB) loadAuthSecret() ([]byte, error) {
	fresh := make([]byte, authSecretSize)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	if db.store == nil {
		return fresh, nil
	}
	path := filepath.Join(db.store.Dir(), "auth_secret")
	if b, err := os.ReadFile(path); err == nil && len(b) == authSecretSize {
		return b, nil
	}
	// readable by the server's user only, from the first byte written
	tmp := path + ".tmp"
	os.Remove(tmp)
	if err := os.WriteFile(tmp, fresh, 0o600); err != nil {
		return nil, fmt.Errorf("storing the authentication secret: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("storing the authentication secret: %w", err)
	}
	return fresh, nil
}
