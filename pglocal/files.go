package pglocal

import (
	"io"
	"os"
	"path/filepath"
)

// When we run as root, the folders we write our small files into belong to
// the server user. These helpers keep a compromised server account from
// turning those writes into root writes elsewhere: reads refuse a symlink in
// place of the file, and writes go to a fresh file (O_EXCL, so never through
// a planted link) that is renamed over the old one.

const maxOwnFile = 16 << 20

func readOwnFile(name string) ([]byte, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxOwnFile))
}

// writeFileAs replaces name with data, owned by acct.
func writeFileAs(name string, data []byte, perm os.FileMode, acct *account) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := chownPath(tmp, acct); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, name); err != nil {
		return err
	}
	ok = true
	return nil
}
