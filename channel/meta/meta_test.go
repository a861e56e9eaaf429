package meta

import (
	"encoding/hex"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/omnichat/omnichat/channel"
)

// fixtures is the shared folder of real platform payloads.
var fixtures = filepath.Join("..", "..", "..", "shared", "fixtures", "channels")

func TestVerifyWithMetasSignatureVector(t *testing.T) {
	body, err := os.ReadFile(filepath.Join(fixtures, "meta_common", "signed_body_whatsapp_text.json"))
	if os.IsNotExist(err) {
		t.Skip("../shared/fixtures is not beside the checkout")
	}
	require.NoError(t, err)
	h := http.Header{}
	h.Set(SignatureHeader, "sha256=8850ae3eada080b3e32144159b52d1b1efe8a54e7cd6d7ec6538d3509310d086")
	require.NoError(t, Verify(h, body, "holdout-meta-app-secret-1"))
	require.ErrorIs(t, Verify(h, body, "another-secret"), channel.ErrUnauthenticated)
	require.ErrorIs(t, Verify(h, append(body, ' '), "holdout-meta-app-secret-1"), channel.ErrUnauthenticated, "the raw bytes are signed")
	h.Set(SignatureHeader, "sha1=abc")
	require.ErrorIs(t, Verify(h, body, "holdout-meta-app-secret-1"), channel.ErrUnauthenticated)
	require.ErrorIs(t, Verify(http.Header{}, body, "holdout-meta-app-secret-1"), channel.ErrUnauthenticated)
	require.ErrorIs(t, Verify(h, body, ""), channel.ErrUnauthenticated, "a channel without a secret accepts nothing")
}

func TestHandshake(t *testing.T) {
	q := url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"tok"}, "hub.challenge": {"42"}}
	c, ok := Handshake(q, "tok")
	require.True(t, ok)
	require.Equal(t, "42", c)
	_, ok = Handshake(q, "other")
	require.False(t, ok)
	_, ok = Handshake(q, "")
	require.False(t, ok)
}

func TestClassifyGraphErrors(t *testing.T) {
	body, err := os.ReadFile(filepath.Join(fixtures, "meta_common", "error_expired_token_190_463.json"))
	if err == nil {
		ge := ParseError(400, body)
		require.Equal(t, 190, ge.Code)
		require.Equal(t, 463, ge.ErrorSubcode)
		se := Classify(400, ge.Code, ge.ErrorSubcode)
		require.Equal(t, channel.ReasonTokenExpired, se.Reason)
		require.True(t, se.Resendable)
		require.False(t, se.Temporary)
	}
	cases := []struct {
		status, code, sub int
		reason            string
		resendable, temp  bool
	}{
		{400, 10, 2018278, channel.ReasonWindowExpired, true, false},
		{200, 131047, 0, channel.ReasonWindowExpired, true, false},
		{429, 130429, 0, channel.ReasonRateLimited, true, true},
		{400, 131026, 0, channel.ReasonUserUnavailable, true, false},
		{400, 551, 0, channel.ReasonUserUnavailable, true, false},
		{400, 100, 0, channel.ReasonBadFormat, false, false},
		{503, 0, 0, channel.ReasonPlatformUnavailable, true, true},
	}
	for _, c := range cases {
		se := Classify(c.status, c.code, c.sub)
		require.Equal(t, c.reason, se.Reason, "%d/%d", c.code, c.sub)
		require.Equal(t, c.resendable, se.Resendable, "%d/%d", c.code, c.sub)
		require.Equal(t, c.temp, se.Temporary, "%d/%d", c.code, c.sub)
	}
	require.Contains(t, ParseError(502, []byte("<html>")).Message, "HTTP 502")
}

// FuzzVerify: no input panics, and only the right signature passes.
func FuzzVerify(f *testing.F) {
	if body, err := os.ReadFile(filepath.Join(fixtures, "meta_common", "signed_body_whatsapp_text.json")); err == nil {
		f.Add(body, "sha256=8850ae3eada080b3e32144159b52d1b1efe8a54e7cd6d7ec6538d3509310d086", "holdout-meta-app-secret-1")
	}
	f.Add([]byte(`{}`), "sha256=zz", "s")
	f.Add([]byte{}, "", "")
	f.Fuzz(func(t *testing.T, body []byte, sig, secret string) {
		h := http.Header{}
		h.Set(SignatureHeader, sig)
		err := Verify(h, body, secret)
		// Meta writes the "sha256=" prefix in lower case; the hex digest may
		// come in either case: it is the bytes that must match.
		hexSig, prefixed := strings.CutPrefix(sig, "sha256=")
		want := secret != "" && prefixed && strings.EqualFold(hexSig, hex.EncodeToString(Sign(body, secret)))
		if (err == nil) != want {
			t.Fatalf("Verify(%q, %q) = %v, want ok=%v", sig, secret, err, want)
		}
	})
}
