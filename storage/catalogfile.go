package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"

	"github.com/weftdb/weft/sql/sqlerr"
)

// catalog.json carries a checksum of the catalog:
//
//	{"format": 2, "crc32c": <CRC-32C of the catalog value's bytes>, "catalog": {…}}
//
// The checksum covers the "catalog" value exactly as written, so reading
// needs no canonical form. A catalog written before checksums is the bare
// catalog object; it still opens, and the next change rewrites it with a
// checksum.

const catalogFormat = 2

// encodeCatalog renders sc as the contents of catalog.json.
func encodeCatalog(sc *Catalog) ([]byte, error) {
	body, err := json.MarshalIndent(sc, "", " ")
	if err != nil {
		return nil, err
	}
	out := fmt.Appendf(nil, "{\"format\": %d, \"crc32c\": %d, \"catalog\": ", catalogFormat, crc32.Checksum(body, walCRC))
	out = append(out, body...)
	return append(out, "}\n"...), nil
}

// DecodeCatalog parses catalog.json; legacy reports a catalog without a
// checksum. Errors describe the damage (the caller names the file).
func DecodeCatalog(raw []byte) (sc *Catalog, legacy bool, err error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, false, fmt.Errorf("not a JSON object: %v", err)
	}
	body, hasBody := top["catalog"]
	sumRaw, hasSum := top["crc32c"]
	switch {
	case hasBody || hasSum:
		var sum uint32
		if !hasBody || !hasSum || json.Unmarshal(sumRaw, &sum) != nil {
			return nil, false, errors.New("its checksum or catalog field is damaged")
		}
		if got := crc32.Checksum(body, walCRC); got != sum {
			return nil, false, fmt.Errorf("checksum %08x, the file says %08x", got, sum)
		}
	case top["version"] != nil && top["next_oid"] != nil && top["wal_generation"] != nil:
		body, legacy = raw, true // from before checksums
	default:
		return nil, false, errors.New("not a catalog (no checksum, no version)")
	}
	sc = &Catalog{}
	if err := json.Unmarshal(body, sc); err != nil {
		return nil, false, fmt.Errorf("catalog does not parse: %v", err)
	}
	return sc, legacy, nil
}

// readCatalog reads dir's catalog.json (nil when there is none); legacy
// reports one without a checksum.
func readCatalog(dir string) (sc *Catalog, legacy bool, err error) {
	path := filepath.Join(dir, "catalog.json")
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, sqlerr.New(sqlerr.IOError, "could not read %s: %v", path, err)
	}
	sc, legacy, err = DecodeCatalog(raw)
	if err != nil {
		return nil, false, DataCorrupted("%s is damaged: %v", path, err)
	}
	return sc, legacy, nil
}
