package secret

import (
	"bytes"
	"testing"
)

func TestSealOpen(t *testing.T) {
	b, err := NewBox(NewKey())
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte(`{"access_token":"EAAB..."}`)
	sealed := b.Seal(msg)
	if bytes.Contains(sealed, []byte("EAAB")) {
		t.Fatal("sealed value contains the plaintext")
	}
	got, err := b.Open(sealed)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if bytes.Equal(b.Seal(msg), sealed) {
		t.Fatal("two seals of one value are equal: nonce reused")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := b.Open(sealed); err == nil {
		t.Fatal("a tampered value opened")
	}
	other, _ := NewBox(NewKey())
	if _, err := other.Open(b.Seal(msg)); err == nil {
		t.Fatal("opened with another key")
	}
}

func TestNewBoxRejectsShortKey(t *testing.T) {
	if _, err := NewBox("short"); err == nil {
		t.Fatal("a 5-character key was accepted")
	}
	if _, err := NewBox("a long enough passphrase"); err != nil {
		t.Fatal(err)
	}
}
