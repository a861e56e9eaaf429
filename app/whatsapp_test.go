package app

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/omnichat/omnichat/channel/whatsapp/whatsapptest"
	"github.com/omnichat/omnichat/workflows"
)

const waSecret = "wa-app-secret"

type waChannel struct {
	ID         string `json:"id"`
	WebhookURL string `json:"webhook_url"`
}

func newWhatsAppChannel(t *testing.T, st *Stack, admin *apiClient, fake *whatsapptest.Server) waChannel {
	t.Helper()
	var ch waChannel
	require.Equal(t, http.StatusCreated, admin.do("POST", "/api/v1/channels", map[string]any{
		"platform": "whatsapp", "name": "WhatsApp",
		"credentials": map[string]string{
			"phone_number_id": "106540352242922", "access_token": "wa-token", "app_secret": waSecret,
			"verify_token": "wa-verify", "api_base_url": fake.URL(),
		},
	}, &ch))
	ch.WebhookURL = st.URL() + "/webhooks/whatsapp/" + ch.ID
	return ch
}

func TestWhatsAppRoundTrip(t *testing.T) {
	st := startStack(t)
	admin := st.login(t, adminEmail, adminPassword)
	fake, err := whatsapptest.Start("127.0.0.1:0")
	require.NoError(t, err)
	defer fake.Close()
	fake.AccessToken = "wa-token"
	ch := newWhatsAppChannel(t, st, admin, fake)

	// Meta's subscription check.
	resp, err := http.Get(ch.WebhookURL + "?hub.mode=subscribe&hub.verify_token=wa-verify&hub.challenge=1158201444")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "1158201444", string(body))
	resp, err = http.Get(ch.WebhookURL + "?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)

	msg := whatsapptest.Message{From: "16505551234", Name: "Sheena Nelson", ID: "wamid.in-" + uuid.NewString(), Text: "Does it come in another color?", At: time.Now()}
	delivery := whatsapptest.Delivery("106540352242922", []whatsapptest.Message{msg}, nil)

	// A forged signature is refused and stores nothing.
	req, _ := http.NewRequest("POST", ch.WebhookURL, bytes.NewReader(delivery))
	req.Header.Set("X-Hub-Signature-256", whatsapptest.Sign(delivery, "not-the-secret"))
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Empty(t, admin.sessions(""))

	// Delivered twice (Meta retries): one message, one session.
	for range 2 {
		resp, err = whatsapptest.Post(http.DefaultClient, ch.WebhookURL, delivery, waSecret)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	var sessions []sessionView
	eventually(t, 20*time.Second, "the session", func() bool { sessions = admin.sessions(""); return len(sessions) == 1 })
	s := admin.waitStatus(sessions[0].ID, workflows.StatusRepNeeded)
	require.Equal(t, "Sheena Nelson", s.Contact.Name)
	require.Equal(t, 1, s.Contact.TotalMessages)

	// The agent's reply reaches the platform, once.
	var reply messageView
	require.Equal(t, http.StatusCreated, admin.do("POST", "/api/v1/sessions/"+s.ID+"/messages", map[string]string{"text": "Yes: blue and green.", "client_id": "wa-r1"}, &reply))
	var sent []whatsapptest.Sent
	eventually(t, 20*time.Second, "the send at the platform", func() bool { sent = fake.Sends(); return len(sent) == 1 })
	require.Equal(t, "16505551234", sent[0].To)
	require.Equal(t, "Yes: blue and green.", sent[0].Text)
	var m struct {
		Status            string `json:"status"`
		PlatformMessageID string `json:"platform_message_id"`
	}
	eventually(t, 20*time.Second, "the reply marked sent", func() bool {
		var p page[map[string]any]
		admin.do("GET", "/api/v1/sessions/"+s.ID+"/messages", nil, &p)
		last := p.Items[len(p.Items)-1]
		m.Status, _ = last["status"].(string)
		m.PlatformMessageID, _ = last["platform_message_id"].(string)
		return m.Status == "sent"
	})
	require.Equal(t, sent[0].ID, m.PlatformMessageID)

	// Receipts, read before delivered: the status only moves forward.
	receipts := whatsapptest.Delivery("106540352242922", nil, []whatsapptest.Status{
		{ID: sent[0].ID, Status: "read", RecipientID: "16505551234", At: time.Now()},
		{ID: sent[0].ID, Status: "delivered", RecipientID: "16505551234", At: time.Now()},
	})
	resp, err = whatsapptest.Post(http.DefaultClient, ch.WebhookURL, receipts, waSecret)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var final page[map[string]any]
	require.Equal(t, http.StatusOK, admin.do("GET", "/api/v1/sessions/"+s.ID+"/messages", nil, &final))
	require.Equal(t, "seen", final.Items[len(final.Items)-1]["status"])

	// A body that is not WhatsApp's, correctly signed: 400, nothing stored.
	bad := []byte(`{"entry": "nope"`)
	resp, err = whatsapptest.Post(http.DefaultClient, ch.WebhookURL, bad, waSecret)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	resp, err = whatsapptest.Post(http.DefaultClient, st.URL()+"/webhooks/messenger/"+ch.ID, delivery, waSecret)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "the platform in the URL must be the channel's")
}

// A receipt that overtakes the send it reports waits for it.
func TestWhatsAppReceiptBeforeSendIsRecorded(t *testing.T) {
	st := startStack(t)
	admin := st.login(t, adminEmail, adminPassword)
	fake, err := whatsapptest.Start("127.0.0.1:0")
	require.NoError(t, err)
	defer fake.Close()
	ch := newWhatsAppChannel(t, st, admin, fake)
	// The fake tells omnichat "delivered" before answering the send.
	fake.OnSend = func(m whatsapptest.Sent) {
		body := whatsapptest.Delivery("106540352242922", nil, []whatsapptest.Status{{ID: m.ID, Status: "delivered", RecipientID: m.To, At: time.Now()}})
		resp, err := whatsapptest.Post(http.DefaultClient, ch.WebhookURL, body, waSecret)
		if err == nil {
			resp.Body.Close()
		}
	}
	delivery := whatsapptest.Delivery("106540352242922", []whatsapptest.Message{{From: "447700900123", Name: "Ian", ID: "wamid.in-" + uuid.NewString(), Text: "hi", At: time.Now()}}, nil)
	resp, err := whatsapptest.Post(http.DefaultClient, ch.WebhookURL, delivery, waSecret)
	require.NoError(t, err)
	resp.Body.Close()
	var sessions []sessionView
	eventually(t, 20*time.Second, "the session", func() bool { sessions = admin.sessions(""); return len(sessions) == 1 })
	require.Equal(t, http.StatusCreated, admin.do("POST", "/api/v1/sessions/"+sessions[0].ID+"/messages", map[string]string{"text": "hello"}, nil))
	eventually(t, 20*time.Second, "the reply delivered", func() bool {
		var p page[map[string]any]
		admin.do("GET", "/api/v1/sessions/"+sessions[0].ID+"/messages", nil, &p)
		return p.Items[len(p.Items)-1]["status"] == "delivered"
	})
}
