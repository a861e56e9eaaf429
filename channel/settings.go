package channel

import (
	"encoding/json"
	"fmt"
	"time"
)

// Settings are a channel's per-session rules: response-time thresholds,
// automatic messages and how sessions are assigned. The zero value is not
// meaningful; start from DefaultSettings.
type Settings struct {
	WarnAfterSeconds      int    `json:"warn_after_seconds"`
	OverdueAfterSeconds   int    `json:"overdue_after_seconds"`
	AutoCloseAfterSeconds int    `json:"auto_close_after_seconds"`
	Greeting              string `json:"greeting"`
	AutoReplyAfterSeconds int    `json:"auto_reply_after_seconds"`
	AutoReplyText         string `json:"auto_reply_text"`
	ClosingMessage        string `json:"closing_message"`
	// RequireCloseStatus makes "done" refuse to close without a close status.
	RequireCloseStatus bool `json:"require_close_status"`
	// CloseStatuses, when not empty, is the list agents choose a close status from.
	CloseStatuses []string `json:"close_statuses"`
	Assignment    string   `json:"assignment"`
}

// DefaultSettings are the settings of a channel created without any.
func DefaultSettings() Settings {
	return Settings{
		WarnAfterSeconds:      180,
		OverdueAfterSeconds:   300,
		AutoCloseAfterSeconds: 86400,
		Assignment:            "manual",
		CloseStatuses:         []string{},
	}
}

// ParseSettings reads settings JSON over the defaults, so a channel stores
// only what differs, and validates the result.
func ParseSettings(raw []byte) (Settings, error) {
	s := DefaultSettings()
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &s); err != nil {
			return Settings{}, fmt.Errorf("settings: %w", err)
		}
	}
	if s.CloseStatuses == nil {
		s.CloseStatuses = []string{}
	}
	return s, s.Validate()
}

// FieldError names an invalid settings field.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Validate reports the first setting that cannot work.
func (s Settings) Validate() error {
	const maxSeconds = 90 * 24 * 3600
	checks := []struct {
		field string
		v     int
	}{
		{"warn_after_seconds", s.WarnAfterSeconds},
		{"overdue_after_seconds", s.OverdueAfterSeconds},
		{"auto_close_after_seconds", s.AutoCloseAfterSeconds},
		{"auto_reply_after_seconds", s.AutoReplyAfterSeconds},
	}
	for _, c := range checks {
		if c.v < 0 || c.v > maxSeconds {
			return &FieldError{c.field, fmt.Sprintf("must be between 0 and %d", maxSeconds)}
		}
	}
	if s.WarnAfterSeconds > 0 && s.OverdueAfterSeconds > 0 && s.OverdueAfterSeconds <= s.WarnAfterSeconds {
		return &FieldError{"overdue_after_seconds", "must be greater than warn_after_seconds"}
	}
	if s.AutoReplyAfterSeconds > 0 && s.AutoReplyText == "" {
		return &FieldError{"auto_reply_text", "is required when auto_reply_after_seconds is set"}
	}
	switch s.Assignment {
	case "manual", "round_robin", "least_busy":
	default:
		return &FieldError{"assignment", "must be manual, round_robin or least_busy"}
	}
	for _, text := range []struct{ field, v string }{
		{"greeting", s.Greeting}, {"auto_reply_text", s.AutoReplyText}, {"closing_message", s.ClosingMessage},
	} {
		if len(text.v) > MaxTextBytes {
			return &FieldError{text.field, fmt.Sprintf("longer than %d bytes", MaxTextBytes)}
		}
	}
	return nil
}

// WarnAfter is the wait after which a session is "soon"; zero disables it.
func (s Settings) WarnAfter() time.Duration { return seconds(s.WarnAfterSeconds) }

// OverdueAfter is the wait after which a session is "overdue"; zero disables it.
func (s Settings) OverdueAfter() time.Duration { return seconds(s.OverdueAfterSeconds) }

// AutoCloseAfter is the inactivity after which a session closes; zero disables it.
func (s Settings) AutoCloseAfter() time.Duration { return seconds(s.AutoCloseAfterSeconds) }

// AutoReplyAfter is how long a customer waits for a first agent reply before
// the automatic reply; zero disables it.
func (s Settings) AutoReplyAfter() time.Duration { return seconds(s.AutoReplyAfterSeconds) }

func seconds(n int) time.Duration { return time.Duration(n) * time.Second }
