package exec

import (
	"crypto/md5"
	cryptorand "crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
	"time"

	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// extensionFunctions are the functions of the extensions Weft provides
// natively (uuid-ossp and pgcrypto's commonly used ones), always
// available; CREATE EXTENSION of those extensions only records them.
func extensionFunctions() []*ScalarDef {
	volatileUUID := func(name string, gen func() (types.Datum, error)) *ScalarDef {
		return &ScalarDef{Name: name, Volatile: true, Resolve: func(args []types.T) ([]types.T, types.T, Kernel, error) {
			if len(args) != 0 {
				return nil, types.T{}, nil, NoSuchFunction(name, args)
			}
			return nil, types.UUIDT, rowKernel(types.UUIDT, func([]types.Datum) (types.Datum, error) { return gen() }), nil
		}}
	}
	constUUID := func(name, text string) *ScalarDef {
		u, _ := types.ParseUUID(text)
		return sig(name, nil, types.UUIDT, func([]types.Datum) (types.Datum, error) { return u, nil })
	}
	nameBased := func(name string, version byte, h func() hash.Hash) *ScalarDef {
		return sig(name, []types.T{types.UUIDT, textT}, types.UUIDT, func(ds []types.Datum) (types.Datum, error) {
			return nameUUID(ds[0].([]byte), ds[1].(string), version, h()), nil
		})
	}
	return []*ScalarDef{
		volatileUUID("uuid_generate_v4", randomUUID),
		volatileUUID("uuid_generate_v1", timeUUID),
		volatileUUID("uuid_generate_v1mc", timeUUID),
		constUUID("uuid_nil", "00000000-0000-0000-0000-000000000000"),
		constUUID("uuid_ns_dns", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
		constUUID("uuid_ns_url", "6ba7b811-9dad-11d1-80b4-00c04fd430c8"),
		constUUID("uuid_ns_oid", "6ba7b812-9dad-11d1-80b4-00c04fd430c8"),
		constUUID("uuid_ns_x500", "6ba7b814-9dad-11d1-80b4-00c04fd430c8"),
		nameBased("uuid_generate_v3", 3, md5.New),
		nameBased("uuid_generate_v5", 5, sha1.New),
		overloads("digest",
			sig("digest", []types.T{types.ByteaT, textT}, types.ByteaT, digest),
			sig("digest", []types.T{textT, textT}, types.ByteaT, digest)),
		sig("encode", []types.T{types.ByteaT, textT}, textT, encodeBytes),
		sig("decode", []types.T{textT, textT}, types.ByteaT, decodeText),
		{Name: "gen_random_bytes", Volatile: true, Resolve: func(args []types.T) ([]types.T, types.T, Kernel, error) {
			if len(args) != 1 || !castableAll(args, []types.T{types.Int4T}) {
				return nil, types.T{}, nil, NoSuchFunction("gen_random_bytes", args)
			}
			return []types.T{types.Int4T}, types.ByteaT, rowKernel(types.ByteaT, randomBytes), nil
		}},
	}
}

// randomUUID is a version 4 (random) UUID of RFC 4122's variant.
func randomUUID() (types.Datum, error) {
	b := make([]byte, 16)
	if _, err := cryptorand.Read(b); err != nil {
		return nil, err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return b, nil
}

// timeUUID is a version 1 UUID: the time in 100 ns steps since the
// Gregorian reform, a random clock sequence and a random node with the
// multicast bit set (uuid_generate_v1mc's form: no MAC address leaks).
func timeUUID() (types.Datum, error) {
	b := make([]byte, 16)
	if _, err := cryptorand.Read(b[8:]); err != nil {
		return nil, err
	}
	const gregorianToUnix = 122192928000000000 // 100 ns steps from 1582-10-15 to 1970-01-01
	ts := uint64(time.Now().UnixNano()/100) + gregorianToUnix
	binary.BigEndian.PutUint32(b[0:4], uint32(ts))
	binary.BigEndian.PutUint16(b[4:6], uint16(ts>>32))
	binary.BigEndian.PutUint16(b[6:8], uint16(ts>>48)&0x0fff|0x1000)
	b[8] = b[8]&0x3f | 0x80
	b[10] |= 0x01 // multicast: not a real MAC address
	return b, nil
}

// nameUUID is a name-based UUID (version 3 with MD5, 5 with SHA-1) of
// name in namespace ns, as RFC 4122 section 4.3 builds it.
func nameUUID(ns []byte, name string, version byte, h hash.Hash) []byte {
	h.Write(ns)
	h.Write([]byte(name))
	b := h.Sum(nil)[:16]
	b[6] = b[6]&0x0f | version<<4
	b[8] = b[8]&0x3f | 0x80
	return b
}

// digest is pgcrypto's digest(data, type).
func digest(ds []types.Datum) (types.Datum, error) {
	var data []byte
	switch v := ds[0].(type) {
	case string:
		data = []byte(v)
	case []byte:
		data = v
	}
	var h hash.Hash
	switch strings.ToLower(ds[1].(string)) {
	case "md5":
		h = md5.New()
	case "sha1":
		h = sha1.New()
	case "sha224":
		h = sha256.New224()
	case "sha256":
		h = sha256.New()
	case "sha384":
		h = sha512.New384()
	case "sha512":
		h = sha512.New()
	default:
		return nil, sqlerr.New(sqlerr.InvalidParameter, "Cannot use \"%s\": No such hash algorithm", ds[1].(string))
	}
	h.Write(data)
	return h.Sum(nil), nil
}

// randomBytes is pgcrypto's gen_random_bytes(n), 1 to 1024 bytes.
func randomBytes(ds []types.Datum) (types.Datum, error) {
	n := ds[0].(int64)
	if n < 1 || n > 1024 {
		return nil, sqlerr.New(sqlerr.InvalidParameter, "Length not in range")
	}
	b := make([]byte, n)
	if _, err := cryptorand.Read(b); err != nil {
		return nil, err
	}
	return b, nil
}

// encodeBytes is encode(bytea, format): hex, base64 (lines of 76
// characters, as PostgreSQL writes it) or escape.
func encodeBytes(ds []types.Datum) (types.Datum, error) {
	b := ds[0].([]byte)
	switch strings.ToLower(ds[1].(string)) {
	case "hex":
		return hex.EncodeToString(b), nil
	case "base64":
		s := base64.StdEncoding.EncodeToString(b)
		var out strings.Builder
		for len(s) > 76 {
			out.WriteString(s[:76])
			out.WriteByte('\n')
			s = s[76:]
		}
		out.WriteString(s)
		return out.String(), nil
	case "escape":
		var out strings.Builder
		for _, c := range b {
			switch {
			case c == 0 || c >= 0x80:
				fmt.Fprintf(&out, "\\%03o", c)
			case c == '\\':
				out.WriteString(`\\`)
			default:
				out.WriteByte(c)
			}
		}
		return out.String(), nil
	}
	return nil, sqlerr.New(sqlerr.InvalidParameter, "unrecognized encoding: \"%s\"", ds[1].(string))
}

// decodeText is decode(text, format), encode's inverse.
func decodeText(ds []types.Datum) (types.Datum, error) {
	s := ds[0].(string)
	switch strings.ToLower(ds[1].(string)) {
	case "hex":
		b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
		if err != nil {
			return nil, sqlerr.New(sqlerr.InvalidParameter, "invalid hexadecimal data")
		}
		return b, nil
	case "base64":
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
		if err != nil {
			return nil, sqlerr.New(sqlerr.InvalidParameter, "invalid base64 data")
		}
		return b, nil
	case "escape":
		return types.Parse(types.ByteaT, s)
	}
	return nil, sqlerr.New(sqlerr.InvalidParameter, "unrecognized encoding: \"%s\"", ds[1].(string))
}
