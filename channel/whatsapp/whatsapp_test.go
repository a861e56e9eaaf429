package whatsapp

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omnichat/omnichat/channel"
	"github.com/omnichat/omnichat/channel/whatsapp/whatsapptest"
)

var fixtures = filepath.Join("..", "..", "..", "shared", "fixtures", "channels")

func fixture(t testing.TB, name string) []byte {
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if os.IsNotExist(err) {
		t.Skip("../shared/fixtures is not beside the checkout")
	}
	require.NoError(t, err)
	return b
}

func TestParseFixtures(t *testing.T) {
	a := &Adapter{}
	in, err := a.Parse(fixture(t, "whatsapp/webhook_text_message.json"), nil)
	require.NoError(t, err)
	require.Len(t, in.Messages, 1)
	m := in.Messages[0]
	require.NotEmpty(t, m.PlatformMessageID)
	require.NotEmpty(t, m.From)
	require.NotEmpty(t, m.Text)
	require.False(t, m.SentAt.IsZero())

	in, err = a.Parse(fixture(t, "whatsapp/webhook_image_message.json"), channel.Credentials{"phone_number_id": "106540352242922"})
	require.NoError(t, err)
	require.Len(t, in.Messages, 1)
	require.Equal(t, "Taj Mahal", in.Messages[0].Text)
	require.Equal(t, "Sheena Nelson", in.Messages[0].FromName)
	require.Equal(t, time.Unix(1744344496, 0), in.Messages[0].SentAt)
	require.Equal(t, []channel.Attachment{{URL: "whatsapp-media:1003383421387256", ContentType: "image/jpeg"}}, in.Messages[0].Attachments)

	// Another phone number's events are not this channel's.
	in, err = a.Parse(fixture(t, "whatsapp/webhook_image_message.json"), channel.Credentials{"phone_number_id": "999"})
	require.NoError(t, err)
	require.Empty(t, in.Messages)
	require.Equal(t, 1, in.Skipped)

	for file, want := range map[string]string{
		"whatsapp/webhook_status_sent.json":      "sent",
		"whatsapp/webhook_status_delivered.json": "delivered",
		"whatsapp/webhook_status_read.json":      "seen",
		"whatsapp/webhook_status_failed.json":    "failed",
	} {
		in, err := a.Parse(fixture(t, file), nil)
		require.NoError(t, err, file)
		require.Len(t, in.Statuses, 1, file)
		require.Equal(t, want, in.Statuses[0].Status, file)
		if want == "failed" {
			require.NotEmpty(t, in.Statuses[0].FailureReason)
		}
	}

	_, err = a.Parse([]byte(`{"object":`), nil)
	require.ErrorIs(t, err, channel.ErrMalformed)
	in, err = a.Parse([]byte(`{"object":"page","entry":[]}`), nil)
	require.NoError(t, err, "another object is acknowledged, not an error")
	require.Equal(t, 1, in.Skipped)
}

func TestSendTextAndErrors(t *testing.T) {
	fake, err := whatsapptest.Start("127.0.0.1:0")
	require.NoError(t, err)
	defer fake.Close()
	fake.AccessToken = "tok"
	a := &Adapter{}
	out := channel.Outbound{Recipient: "16505551234", Text: "hello", Credentials: channel.Credentials{
		"phone_number_id": "106540352242922", "access_token": "tok", "api_base_url": fake.URL(),
	}}
	d, err := a.Send(context.Background(), out)
	require.NoError(t, err)
	require.Equal(t, "sent", d.Status)
	sent := fake.Sends()
	require.Len(t, sent, 1)
	require.Equal(t, whatsapptest.Sent{ID: d.PlatformMessageID, PhoneNumberID: "106540352242922", To: "16505551234", Text: "hello", At: sent[0].At}, sent[0])

	out.Credentials["access_token"] = "expired"
	_, err = a.Send(context.Background(), out)
	se, ok := channel.AsSendError(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, channel.ReasonTokenExpired, se.Reason)

	out.Credentials["access_token"] = "tok"
	fake.Fail = func(whatsapptest.Sent) (int, int) { return http.StatusTooManyRequests, 130429 }
	_, err = a.Send(context.Background(), out)
	se, _ = channel.AsSendError(err)
	require.True(t, se.Temporary, "rate limits are retried")

	fake.Close()
	_, err = a.Send(context.Background(), out)
	se, _ = channel.AsSendError(err)
	require.True(t, se.Temporary)
	require.Equal(t, channel.ReasonPlatformUnavailable, se.Reason)
	require.False(t, errors.Is(err, channel.ErrMalformed))
}

// FuzzParse: no delivery makes the parser panic, and what it returns is usable.
func FuzzParse(f *testing.F) {
	for _, name := range []string{
		"whatsapp/webhook_text_message.json", "whatsapp/webhook_image_message.json",
		"whatsapp/webhook_status_sent.json", "whatsapp/webhook_status_failed.json",
		"whatsapp/webhook_status_read.json", "meta_common/signed_body_whatsapp_text.json",
	} {
		if b, err := os.ReadFile(filepath.Join(fixtures, name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[{"id":"x","from":"1","type":"location"}]}}]}]}`))
	a := &Adapter{}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := a.Parse(body, nil)
		if err != nil {
			if !errors.Is(err, channel.ErrMalformed) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		for _, m := range in.Messages {
			if m.PlatformMessageID == "" || m.From == "" {
				t.Fatalf("a message without ids: %+v", m)
			}
		}
		for _, s := range in.Statuses {
			if s.PlatformMessageID == "" || s.Status == "" {
				t.Fatalf("a status without id: %+v", s)
			}
		}
	})
}

// BenchmarkParse reads one text message delivery.
func BenchmarkParse(b *testing.B) {
	body := whatsapptest.Delivery("106540352242922", []whatsapptest.Message{{From: "16505551234", Name: "N", ID: "wamid.x", Text: "Does it come in another color?", At: time.Now()}}, nil)
	a := &Adapter{}
	creds := channel.Credentials{"phone_number_id": "106540352242922"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Parse(body, creds); err != nil {
			b.Fatal(err)
		}
	}
}
