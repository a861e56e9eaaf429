// Package secret seals channel credentials at rest with AES-256-GCM.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// version prefixes every sealed value so that the format (and key) can change later.
const version byte = 1

// Box seals and opens values with one key.
type Box struct {
	aead cipher.AEAD
}

// NewKey returns a fresh random key, base64-encoded, for OMNICHAT_SECRET_KEY.
func NewKey() string {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.StdEncoding.EncodeToString(k)
}

// NewBox builds a Box from key: 32 bytes in standard base64 (what NewKey
// makes), or else any passphrase of at least 16 characters, stretched with
// SHA-256.
func NewBox(key string) (*Box, error) {
	raw, err := base64.StdEncoding.DecodeString(key)
	if err != nil || len(raw) != 32 {
		if len(key) < 16 {
			return nil, errors.New("secret key: want 32 bytes in base64 or a passphrase of at least 16 characters")
		}
		sum := sha256.Sum256([]byte(key))
		raw = sum[:]
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext; the result carries its version and nonce.
func (b *Box) Seal(plaintext []byte) []byte {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	out := append([]byte{version}, nonce...)
	return b.aead.Seal(out, nonce, plaintext, []byte{version})
}

// Open decrypts what Seal produced with the same key.
func (b *Box) Open(sealed []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < 1+n || sealed[0] != version {
		return nil, fmt.Errorf("secret: not a sealed value")
	}
	pt, err := b.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte{version})
	if err != nil {
		return nil, errors.New("secret: cannot open (wrong key or tampered value)")
	}
	return pt, nil
}

// SealJSON seals v's JSON encoding.
func (b *Box) SealJSON(v any) ([]byte, error) {
	pt, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return b.Seal(pt), nil
}

// OpenJSON opens what SealJSON sealed into v.
func (b *Box) OpenJSON(sealed []byte, v any) error {
	pt, err := b.Open(sealed)
	if err != nil {
		return err
	}
	return json.Unmarshal(pt, v)
}
