package api

import (
	"encoding/json"
	"errors"
	"html"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/omnichat/omnichat/channel"
	"github.com/omnichat/omnichat/db"
	"github.com/omnichat/omnichat/db/dbsqlc"
)

type createChannelRequest struct {
	Platform    string            `json:"platform" binding:"required"`
	Name        string            `json:"name" binding:"required,max=200"`
	TeamID      string            `json:"team_id" binding:"omitempty,uuid"`
	Credentials map[string]string `json:"credentials" binding:"max=20"`
	Settings    json.RawMessage   `json:"settings"`
}

func (s *Server) createChannel(c *gin.Context) {
	var req createChannelRequest
	if err := bind(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	platform := channel.Platform(req.Platform)
	if !platform.Valid() {
		s.fail(c, invalidField("platform", "must be one of messenger, instagram, whatsapp, telegram, viber, webchat"))
		return
	}
	settings, err := parseSettings(req.Settings)
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := checkCredentials(platform, req.Credentials); err != nil {
		s.fail(c, err)
		return
	}
	team, err := s.teamRef(c, req.TeamID)
	if err != nil {
		s.fail(c, err)
		return
	}
	sealed, err := s.sealCredentials(req.Credentials)
	if err != nil {
		s.fail(c, err)
		return
	}
	raw, _ := json.Marshal(settings)
	ch, err := s.q.ChannelCreate(c, s.Pool, dbsqlc.ChannelCreateParams{
		Platform: string(platform), Name: req.Name, TeamID: team, Settings: raw, Credentials: sealed,
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, s.toChannel(ch))
}

type updateChannelRequest struct {
	Name        *string           `json:"name" binding:"omitempty,max=200"`
	TeamID      *string           `json:"team_id"`
	Credentials map[string]string `json:"credentials" binding:"max=20"`
	Settings    json.RawMessage   `json:"settings"`
	Active      *bool             `json:"active"`
}

// updateChannel changes what the request names. Settings given are merged
// over the stored ones; new sessions and each session's next run use them.
func (s *Server) updateChannel(c *gin.Context) {
	var req updateChannelRequest
	if err := bind(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	ch, err := s.channel(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	params := dbsqlc.ChannelUpdateParams{ID: ch.ID, Name: ch.Name, TeamID: ch.TeamID, Settings: ch.Settings, Active: ch.Active}
	if req.Name != nil {
		params.Name = *req.Name
	}
	if req.Active != nil {
		params.Active = *req.Active
	}
	if req.TeamID != nil {
		if params.TeamID, err = s.teamRef(c, *req.TeamID); err != nil {
			s.fail(c, err)
			return
		}
	}
	if len(req.Settings) > 0 {
		merged, err := mergeJSON(ch.Settings, req.Settings)
		if err != nil {
			s.fail(c, invalidField("settings", "must be a JSON object"))
			return
		}
		set, err := parseSettings(merged)
		if err != nil {
			s.fail(c, err)
			return
		}
		params.Settings, _ = json.Marshal(set)
	}
	var sealed []byte
	if req.Credentials != nil {
		if err := checkCredentials(channel.Platform(ch.Platform), req.Credentials); err != nil {
			s.fail(c, err)
			return
		}
		if sealed, err = s.sealCredentials(req.Credentials); err != nil {
			s.fail(c, err)
			return
		}
	}
	err = db.InTx(c, s.Pool, func(tx pgx.Tx) error {
		if ch, err = s.q.ChannelUpdate(c, tx, params); err != nil {
			return err
		}
		if sealed != nil {
			if err := s.q.ChannelSetCredentials(c, tx, dbsqlc.ChannelSetCredentialsParams{ID: ch.ID, Credentials: sealed}); err != nil {
				return err
			}
			ch.Credentials = sealed
		}
		return nil
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, s.toChannel(ch))
}

func (s *Server) listChannels(c *gin.Context) {
	chs, err := s.q.ChannelList(c, s.Pool)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := listJSON[channelJSON]{Items: make([]channelJSON, 0, len(chs))}
	for _, ch := range chs {
		out.Items = append(out.Items, s.toChannel(ch))
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) getChannel(c *gin.Context) {
	ch, err := s.channel(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, s.toChannel(ch))
}

func (s *Server) channel(c *gin.Context) (dbsqlc.Channel, error) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return dbsqlc.Channel{}, notFound("channel")
	}
	ch, err := s.q.ChannelGet(c, s.Pool, id)
	if db.IsNotFound(err) {
		return ch, notFound("channel")
	}
	return ch, err
}

func (s *Server) teamRef(c *gin.Context, id string) (uuid.NullUUID, error) {
	if id == "" {
		return uuid.NullUUID{}, nil
	}
	tid, err := uuid.Parse(id)
	if err != nil {
		return uuid.NullUUID{}, invalidField("team_id", "must be an id")
	}
	if _, err := s.q.TeamGet(c, s.Pool, tid); db.IsNotFound(err) {
		return uuid.NullUUID{}, invalidField("team_id", "is not a team")
	} else if err != nil {
		return uuid.NullUUID{}, err
	}
	return uuid.NullUUID{UUID: tid, Valid: true}, nil
}

func parseSettings(raw json.RawMessage) (channel.Settings, error) {
	set, err := channel.ParseSettings(raw)
	var fe *channel.FieldError
	switch {
	case errors.As(err, &fe):
		return set, invalidField("settings."+fe.Field, fe.Reason)
	case err != nil:
		return set, invalidField("settings", "must be an object of known settings with values of the right types")
	}
	return set, nil
}

// checkCredentials requires what the platform needs and checks api_base_url.
func checkCredentials(p channel.Platform, creds map[string]string) error {
	var errs []FieldError
	for _, alts := range p.RequiredCredentials() {
		found := false
		for _, k := range alts {
			if strings.TrimSpace(creds[k]) != "" {
				found = true
			}
		}
		if !found {
			errs = append(errs, FieldError{"credentials." + alts[0], "is required for " + string(p)})
		}
	}
	if base, ok := creds["api_base_url"]; ok {
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, FieldError{"credentials.api_base_url", "must be an http(s) URL"})
		}
	}
	if len(errs) > 0 {
		return invalid(errs...)
	}
	return nil
}

func (s *Server) sealCredentials(creds map[string]string) ([]byte, error) {
	if len(creds) == 0 {
		return nil, nil
	}
	return s.Secrets.SealJSON(creds)
}

// credentials opens a channel's stored credentials.
func (s *Server) credentials(ch dbsqlc.Channel) (channel.Credentials, error) {
	creds := channel.Credentials{}
	if len(ch.Credentials) == 0 {
		return creds, nil
	}
	err := s.Secrets.OpenJSON(ch.Credentials, &creds)
	return creds, err
}

func (s *Server) toChannel(ch dbsqlc.Channel) channelJSON {
	set, _ := channel.ParseSettings(ch.Settings)
	out := channelJSON{
		ID: ch.ID.String(), Platform: ch.Platform, Name: ch.Name, TeamID: nullUUID(ch.TeamID), Settings: set,
		CredentialsSet: []string{}, Active: ch.Active, Healthy: ch.Healthy, HealthError: ch.HealthError, CreatedAt: ch.CreatedAt.UTC(),
	}
	if creds, err := s.credentials(ch); err == nil {
		for k := range creds {
			out.CredentialsSet = append(out.CredentialsSet, k)
		}
		sort.Strings(out.CredentialsSet)
	}
	base := strings.TrimRight(s.PublicURL, "/")
	if channel.Platform(ch.Platform).UsesWebhooks() {
		out.WebhookURL = base + "/webhooks/" + ch.Platform + "/" + ch.ID.String()
	} else {
		out.WidgetSnippet = `<script src="` + html.EscapeString(base) + `/widget.js" data-channel="` + ch.ID.String() + `" async></script>`
	}
	return out
}

// mergeJSON lays the keys of patch over base (both JSON objects).
func mergeJSON(base, patch json.RawMessage) (json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	if len(base) > 0 {
		if err := json.Unmarshal(base, &m); err != nil {
			return nil, err
		}
	}
	var p map[string]json.RawMessage
	if err := json.Unmarshal(patch, &p); err != nil {
		return nil, err
	}
	for k, v := range p {
		m[k] = v
	}
	return json.Marshal(m)
}

func itoa(i int) string { return strconv.Itoa(i) }
