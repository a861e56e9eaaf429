package channel

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseSettingsFillsDefaults(t *testing.T) {
	s, err := ParseSettings([]byte(`{"warn_after_seconds": 60, "overdue_after_seconds": 120}`))
	require.NoError(t, err)
	require.Equal(t, time.Minute, s.WarnAfter())
	require.Equal(t, 2*time.Minute, s.OverdueAfter())
	require.Equal(t, 24*time.Hour, s.AutoCloseAfter(), "unset settings keep their defaults")
	require.Equal(t, "manual", s.Assignment)
	d, err := ParseSettings(nil)
	require.NoError(t, err)
	require.Equal(t, DefaultSettings(), d)
	require.Equal(t, 3*time.Minute, d.WarnAfter())
	require.Equal(t, 5*time.Minute, d.OverdueAfter())
}

func TestParseSettingsRejects(t *testing.T) {
	for raw, field := range map[string]string{
		`{"warn_after_seconds": -1}`:                                "warn_after_seconds",
		`{"warn_after_seconds": 300, "overdue_after_seconds": 200}`: "overdue_after_seconds",
		`{"auto_reply_after_seconds": 60}`:                          "auto_reply_text",
		`{"assignment": "random"}`:                                  "assignment",
		`{"auto_close_after_seconds": 99999999}`:                    "auto_close_after_seconds",
	} {
		_, err := ParseSettings([]byte(raw))
		var fe *FieldError
		require.True(t, errors.As(err, &fe), raw)
		require.Equal(t, field, fe.Field, raw)
	}
	_, err := ParseSettings([]byte(`{"warn_after_seconds": "soon"}`))
	require.Error(t, err)
}

func TestReplyWindow(t *testing.T) {
	require.Equal(t, 24*time.Hour, Messenger.ReplyWindow())
	require.Equal(t, 24*time.Hour, WhatsApp.ReplyWindow())
	require.Zero(t, WebChat.ReplyWindow())
	require.Zero(t, Telegram.ReplyWindow())
	require.False(t, Platform("fax").Valid())
}
