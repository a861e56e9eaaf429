// Package whatsapptest is a local stand-in for the WhatsApp Cloud API that
// speaks its wire format: it takes sends on /{version}/{phone-number-id}/messages
// and records them, and it builds signed webhook deliveries as Meta sends
// them. Tests and the benchmark point a channel's api_base_url at it.
package whatsapptest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/omnichat/omnichat/channel/meta"
)

// Sent is one message the fake accepted.
type Sent struct {
	ID            string
	PhoneNumberID string
	To            string
	Text          string
	At            time.Time
}

// Server is the fake Cloud API.
type Server struct {
	// AccessToken, when set, must be the request's bearer token (else 401, code 190).
	AccessToken string
	// Fail, when set, may answer a send with an error instead: it returns
	// the HTTP status and the Graph error code (0 for none).
	Fail func(Sent) (status int, code int)
	// OnSend is called for every accepted send (the benchmark times them).
	OnSend func(Sent)

	srv  *http.Server
	ln   net.Listener
	seq  atomic.Int64
	mu   sync.Mutex
	sent []Sent
}

// Start listens on addr ("127.0.0.1:0" for any free port).
func Start(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{ln: ln}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{version}/{phone}/messages", s.send)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the base URL to use as a channel's api_base_url.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// Sends returns what was accepted so far.
func (s *Server) Sends() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent(nil), s.sent...)
}

func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if s.AccessToken != "" && r.Header.Get("Authorization") != "Bearer "+s.AccessToken {
		graphError(w, http.StatusUnauthorized, 190, "Error validating access token")
		return
	}
	var req struct {
		MessagingProduct string `json:"messaging_product"`
		To               string `json:"to"`
		Type             string `json:"type"`
		Text             struct {
			Body string `json:"body"`
		} `json:"text"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.MessagingProduct != "whatsapp" || req.To == "" {
		graphError(w, http.StatusBadRequest, 100, "Invalid parameter")
		return
	}
	m := Sent{
		ID:            "wamid.fake" + strconv.FormatInt(s.seq.Add(1), 10),
		PhoneNumberID: r.PathValue("phone"),
		To:            req.To,
		Text:          req.Text.Body,
		At:            time.Now(),
	}
	if s.Fail != nil {
		if status, code := s.Fail(m); status != 0 {
			graphError(w, status, code, "injected failure")
			return
		}
	}
	s.mu.Lock()
	s.sent = append(s.sent, m)
	s.mu.Unlock()
	if s.OnSend != nil {
		s.OnSend(m)
	}
	fmt.Fprintf(w, `{"messaging_product":"whatsapp","contacts":[{"input":%q,"wa_id":%q}],"messages":[{"id":%q}]}`, req.To, req.To, m.ID)
}

func graphError(w http.ResponseWriter, status, code int, msg string) {
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"message":%q,"type":"OAuthException","code":%d,"fbtrace_id":"fake"}}`, msg, code)
}

// Message is a customer's text message for a delivery.
type Message struct {
	From, Name, ID, Text string
	At                   time.Time
}

// Status is a delivery receipt for a message omnichat sent.
type Status struct {
	ID, Status, RecipientID string
	At                      time.Time
	ErrorCode               int
}

// Delivery builds a webhook body for the channel's phone number, as Meta
// sends it.
func Delivery(phoneNumberID string, msgs []Message, statuses []Status) []byte {
	type contact struct {
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
		WaID string `json:"wa_id"`
	}
	value := map[string]any{
		"messaging_product": "whatsapp",
		"metadata":          map[string]string{"display_phone_number": "15550000000", "phone_number_id": phoneNumberID},
	}
	var contacts []contact
	var messages []map[string]any
	for _, m := range msgs {
		c := contact{WaID: m.From}
		c.Profile.Name = m.Name
		contacts = append(contacts, c)
		messages = append(messages, map[string]any{
			"from": m.From, "id": m.ID, "timestamp": strconv.FormatInt(m.At.Unix(), 10),
			"type": "text", "text": map[string]string{"body": m.Text},
		})
	}
	if len(msgs) > 0 {
		value["contacts"] = contacts
		value["messages"] = messages
	}
	var sts []map[string]any
	for _, st := range statuses {
		v := map[string]any{"id": st.ID, "status": st.Status, "timestamp": strconv.FormatInt(st.At.Unix(), 10), "recipient_id": st.RecipientID}
		if st.ErrorCode != 0 {
			v["errors"] = []map[string]any{{"code": st.ErrorCode, "title": "error " + strconv.Itoa(st.ErrorCode)}}
		}
		sts = append(sts, v)
	}
	if len(statuses) > 0 {
		value["statuses"] = sts
	}
	body, _ := json.Marshal(map[string]any{
		"object": "whatsapp_business_account",
		"entry": []any{map[string]any{
			"id":      "waba-" + phoneNumberID,
			"changes": []any{map[string]any{"field": "messages", "value": value}},
		}},
	})
	return body
}

// Sign returns the X-Hub-Signature-256 header value for body.
func Sign(body []byte, appSecret string) string { return meta.SignatureValue(body, appSecret) }

// Post delivers body to an omnichat webhook URL, signed, as Meta does.
func Post(c *http.Client, webhookURL string, body []byte, appSecret string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, webhookURL, strings.NewReader(string(body)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(meta.SignatureHeader, Sign(body, appSecret))
	return c.Do(req)
}
