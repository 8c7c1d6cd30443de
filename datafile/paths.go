package datafile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/weftdb/weft/sql/sqlerr"
)

// InsideDir resolves rel inside dir with every symbolic link followed
// and fails unless the result stays inside dir: a link in the files
// directory must not lead a reader or writer out of it. A path that does
// not exist yet (a file COPY TO will create) is resolved through its
// longest existing prefix.
func InsideDir(dir, rel string) (string, error) {
	if filepath.IsAbs(rel) || strings.Contains(filepath.ToSlash(rel), "..") {
		return "", outside(rel)
	}
	root, err := realDir(dir)
	if err != nil {
		return "", err
	}
	real, err := evalExistingPrefix(filepath.Join(root, rel))
	if err != nil {
		return "", sqlerr.New(sqlerr.UndefinedFile, "could not resolve file %q: %v", rel, err)
	}
	if !within(root, real) {
		return "", outside(rel)
	}
	return real, nil
}

func outside(rel string) error {
	return sqlerr.New(sqlerr.InsufficientPrivilege, "file %q must be relative to the files directory and stay inside it", rel)
}

// realDir is the files directory itself, absolute and without links.
func realDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", sqlerr.New(sqlerr.UndefinedFile, "files directory %q: %v", dir, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", sqlerr.New(sqlerr.UndefinedFile, "files directory %q: %v", dir, err)
	}
	return real, nil
}

// evalExistingPrefix follows the links of the longest existing prefix of
// an absolute path and appends the rest, which has no links because it
// does not exist.
func evalExistingPrefix(p string) (string, error) {
	rest := ""
	for cur := p; ; {
		real, err := filepath.EvalSymlinks(cur)
		if err == nil {
			return filepath.Join(real, rest), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return "", err
		}
		// a dangling link is a name that exists: follow it no further
		if fi, lerr := os.Lstat(cur); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			target, rerr := os.Readlink(cur)
			if rerr != nil {
				return "", rerr
			}
			if !filepath.IsAbs(target) {
				target = filepath.Join(parent, target)
			}
			return evalExistingPrefix(filepath.Join(target, rest))
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}

// within reports whether path is root or below it.
func within(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
