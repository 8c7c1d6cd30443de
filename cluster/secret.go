package cluster

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/weftdb/weft/sql/sqlerr"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Workers authenticate their coordinator by a shared secret
// (docs/cluster.md "Authentication"). A fragment names the role it runs
// as, superuser included, so whoever may send a worker fragments may
// read every table: the worker answers only calls that carry the secret,
// as gRPC metadata on every call. The coordinator makes the secret on
// first use, a random file readable by its user only inside the data
// directory, which workers must read anyway; --cluster-secret-file names
// another file on either side.

// SecretFileName is the secret's file in the data directory.
const SecretFileName = "cluster_secret"

// secretMetadataKey is the gRPC metadata key the secret travels in.
const secretMetadataKey = "weft-cluster-secret"

// secretBytes is the length of a secret the coordinator makes.
const secretBytes = 32

// healthMethodPrefix names the gRPC health service's methods, which
// answer without the secret: they say only "serving", and probes of
// process supervisors (a load balancer, Kubernetes' grpc probe) cannot
// send metadata.
const healthMethodPrefix = "/grpc.health.v1.Health/"

// DefaultSecretFile is where the secret of the data directory dir lives.
func DefaultSecretFile(dir string) string { return filepath.Join(dir, SecretFileName) }

// LoadOrCreateSecret reads the secret at path, making a random one
// (mode 0600) when there is none: the coordinator's side.
func LoadOrCreateSecret(path string) ([]byte, error) {
	secret, err := ReadSecret(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return secret, err
	}
	raw := make([]byte, secretBytes)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("making the cluster secret: %w", err)
	}
	// hex, so that an operator can copy it into a file by hand
	text := []byte(hex.EncodeToString(raw) + "\n")
	tmp, err := os.CreateTemp(filepath.Dir(path), ".cluster_secret-*")
	if err != nil {
		return nil, fmt.Errorf("making the cluster secret: %w", err)
	}
	defer os.Remove(tmp.Name())
	// CreateTemp's file is 0600 from the first byte written
	_, werr := tmp.Write(text)
	if serr := tmp.Sync(); werr == nil {
		werr = serr
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, fmt.Errorf("making the cluster secret %s: %w", path, werr)
	}
	// a link never replaces a file: of two coordinators racing, both end
	// with the one that was linked first
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("making the cluster secret %s: %w", path, err)
	}
	return ReadSecret(path)
}

// ReadSecret reads the secret at path: its text without surrounding
// white space, which must not be empty.
func ReadSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the cluster secret: %w", err)
	}
	secret := []byte(strings.TrimSpace(string(b)))
	if len(secret) == 0 {
		return nil, fmt.Errorf("the cluster secret file %s is empty", path)
	}
	return secret, nil
}

// secretCredentials attach the secret to every call of a connection
// (a credentials.PerRPCCredentials).
type secretCredentials struct{ secret string }

func (c secretCredentials) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{secretMetadataKey: c.secret}, nil
}

// RequireTransportSecurity is false: workers speak plain gRPC (see
// docs/cluster.md for what that leaves open).
func (c secretCredentials) RequireTransportSecurity() bool { return false }

// WithSecret is the dial option that sends secret on every call.
func WithSecret(secret []byte) grpc.DialOption {
	return grpc.WithPerRPCCredentials(secretCredentials{secret: string(secret)})
}

// SecretSource gives a worker the secret to expect. It is asked again
// until it answers: a worker may start before its coordinator made the
// secret.
type SecretSource func() ([]byte, error)

// SecretFile is the source reading path.
func SecretFile(path string) SecretSource {
	return func() ([]byte, error) { return ReadSecret(path) }
}

// secretCheck is a worker's check of its callers.
type secretCheck struct {
	source SecretSource

	mu   sync.Mutex
	want *[sha256.Size]byte // the secret's hash, once read
	have []byte             // the secret, once read
}

// expected is the hash of the secret callers must send.
func (c *secretCheck) expected() (*[sha256.Size]byte, error) {
	if _, err := c.secret(); err != nil {
		return nil, err
	}
	return c.want, nil
}

// secret is the secret itself, read once: the worker sends it to its
// peers when a shuffle reads their map outputs.
func (c *secretCheck) secret() ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.want != nil {
		return c.have, nil
	}
	secret, err := c.source()
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(secret)
	c.want, c.have = &sum, secret
	return c.have, nil
}

// authorize reports whether ctx's call carries the secret. Hashes are
// compared, in constant time, so that neither the secret's bytes nor
// its length show in how long a refusal takes.
func (c *secretCheck) authorize(ctx context.Context, method string) error {
	if strings.HasPrefix(method, healthMethodPrefix) {
		return nil
	}
	want, err := c.expected()
	if err != nil {
		return status.Errorf(codes.Unauthenticated, "the worker has no cluster secret to check callers against (%v): it answers nobody", err)
	}
	md, _ := metadata.FromIncomingContext(ctx)
	got := md.Get(secretMetadataKey)
	if len(got) != 1 {
		return status.Error(codes.Unauthenticated, "the call carries no cluster secret")
	}
	sum := sha256.Sum256([]byte(got[0]))
	if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
		return status.Error(codes.Unauthenticated, "the call's cluster secret is not the worker's")
	}
	return nil
}

func (c *secretCheck) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := c.authorize(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (c *secretCheck) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := c.authorize(ss.Context(), info.FullMethod); err != nil {
		return err
	}
	return handler(srv, ss)
}

// refusedSecret turns a worker's Unauthenticated answer into the
// coordinator's error, nil for any other error.
func refusedSecret(addr string, err error) *sqlerr.Error {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.Unauthenticated {
		return nil
	}
	return sqlerr.New(sqlerr.InvalidAuthorization, "worker %s refused the coordinator's cluster secret: %s", addr, st.Message()).
		WithHint("The coordinator and its workers must share one secret: by default the file " + SecretFileName +
			" in the data directory, or the file --cluster-secret-file names on both.")
}
