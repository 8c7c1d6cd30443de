package types

import (
	"net/netip"
	"strings"

	"github.com/weftdb/weft/sql/sqlerr"
)

// ParseInet reads an inet value (an address with an optional /bits
// netmask) and returns PostgreSQL's text form: the netmask is left out
// when it covers the whole address.
func ParseInet(s string) (Datum, error) {
	p, err := InetPrefix(s)
	if err != nil {
		return nil, err
	}
	return FormatInet(p), nil
}

// InetPrefix parses inet text into an address and its netmask length
// (host bits are kept, as inet does).
func InetPrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	bad := sqlerr.New(sqlerr.InvalidText, "invalid input syntax for type inet: \"%s\"", s)
	addrText, bitsText, hasBits := strings.Cut(s, "/")
	addr, err := netip.ParseAddr(addrText)
	if err != nil || addr.Zone() != "" {
		return netip.Prefix{}, bad
	}
	bits := addr.BitLen()
	if hasBits {
		p, err := netip.ParsePrefix(addr.String() + "/" + bitsText)
		if err != nil {
			return netip.Prefix{}, bad
		}
		bits = p.Bits()
	}
	return netip.PrefixFrom(addr, bits), nil
}

// FormatInet prints an address with its netmask unless that is full.
func FormatInet(p netip.Prefix) string {
	if p.Bits() == p.Addr().BitLen() {
		return p.Addr().String()
	}
	return p.Addr().String() + "/" + itoa(p.Bits())
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [4]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// CompareInet orders inet values as PostgreSQL does: IPv4 before IPv6,
// then by network, then netmask length, then the whole address.
func CompareInet(a, b string) int {
	pa, errA := InetPrefix(a)
	pb, errB := InetPrefix(b)
	if errA != nil || errB != nil {
		return strings.Compare(a, b)
	}
	if c := pa.Addr().BitLen() - pb.Addr().BitLen(); c != 0 {
		return c
	}
	na, nb := pa.Masked().Addr(), pb.Masked().Addr()
	minBits := min(pa.Bits(), pb.Bits())
	ma, _ := na.Prefix(minBits)
	mb, _ := nb.Prefix(minBits)
	if c := ma.Addr().Compare(mb.Addr()); c != 0 {
		return c
	}
	if c := pa.Bits() - pb.Bits(); c != 0 {
		return c
	}
	return pa.Addr().Compare(pb.Addr())
}
