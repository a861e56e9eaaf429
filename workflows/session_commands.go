package workflows

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"
)

// registerCommands wires each agent-command signal to the change it makes.
// A command names the session it was meant for: one that reaches a later
// session of the same contact (the earlier one closed meanwhile) is ignored.
func (r *sessionRun) registerCommands(ctx workflow.Context) {
	r.commands = []commandChannel{
		command(ctx, SignalOwner, r.owner),
		command(ctx, SignalJoin, r.joinCmd),
		command(ctx, SignalLeave, r.leaveCmd),
		command(ctx, SignalSupporters, r.supporters),
		command(ctx, SignalTags, r.tags),
		command(ctx, SignalImportant, r.important),
		command(ctx, SignalSnooze, r.snooze),
		command(ctx, SignalResend, r.resend),
		// Last: a close is applied after whatever came with it.
		command(ctx, SignalDone, r.done),
	}
}

// command builds a commandChannel that decodes T and applies it when it is
// meant for this session and the session is open.
func command[T interface{ sessionID() string }](ctx workflow.Context, name string, apply func(T, time.Time)) commandChannel {
	return commandChannel{
		ch: workflow.GetSignalChannel(ctx, name),
		apply: func(ctx workflow.Context, c workflow.ReceiveChannel) {
			var v T
			c.Receive(ctx, &v)
			apply(v, workflow.Now(ctx))
		},
	}
}

func (c AgentCommand) sessionID() string      { return c.SessionID }
func (c OwnerCommand) sessionID() string      { return c.SessionID }
func (c SupportersCommand) sessionID() string { return c.SessionID }
func (c DoneCommand) sessionID() string       { return c.SessionID }
func (c TagsCommand) sessionID() string       { return c.SessionID }
func (c ImportantCommand) sessionID() string  { return c.SessionID }
func (c SnoozeCommand) sessionID() string     { return c.SessionID }
func (c ResendCommand) sessionID() string     { return c.SessionID }

// accepts reports whether a command may change this session.
func (r *sessionRun) accepts(sessionID string) bool {
	return !r.st.Closed && (sessionID == "" || sessionID == r.st.SessionID)
}

func (r *sessionRun) joinCmd(c AgentCommand, now time.Time) {
	if !r.accepts(c.SessionID) {
		return
	}
	if r.st.join(c.AgentID) {
		r.event("session.joined", c.AgentID, nil, now)
	}
}

func (r *sessionRun) leaveCmd(c AgentCommand, now time.Time) {
	if !r.accepts(c.SessionID) {
		return
	}
	if r.st.leave(c.AgentID) {
		r.event("session.left", c.AgentID, nil, now)
	}
}

// owner gives the session to an agent, or moves it to a team's queue.
func (r *sessionRun) owner(c OwnerCommand, now time.Time) {
	if !r.accepts(c.SessionID) {
		return
	}
	data := map[string]string{"from_owner_id": r.st.OwnerID, "from_team_id": r.st.TeamID}
	if c.Note != "" {
		data["note"] = c.Note
	}
	switch {
	case c.AgentID != "":
		if c.AgentID == r.st.OwnerID && (c.TeamID == "" || c.TeamID == r.st.TeamID) {
			return
		}
		r.st.OwnerID = c.AgentID
		if !slices.Contains(r.st.MemberIDs, c.AgentID) {
			r.st.MemberIDs = append(r.st.MemberIDs, c.AgentID)
		}
		if c.TeamID != "" {
			r.st.TeamID = c.TeamID
		}
		data["to_owner_id"] = c.AgentID
		data["to_team_id"] = r.st.TeamID
		r.event("session.owner_changed", c.ActorID, data, now)
	case c.TeamID != "":
		// Into the team's queue: nobody owns it until someone there takes it.
		r.st.TeamID = c.TeamID
		r.st.OwnerID = ""
		r.st.MemberIDs = nil
		data["to_team_id"] = c.TeamID
		r.event("session.transferred", c.ActorID, data, now)
	}
}

func (r *sessionRun) supporters(c SupportersCommand, now time.Time) {
	if !r.accepts(c.SessionID) {
		return
	}
	for _, id := range c.Add {
		if id == "" || slices.Contains(r.st.SupporterIDs, id) {
			continue
		}
		r.st.SupporterIDs = append(r.st.SupporterIDs, id)
		r.event("support.invited", c.ActorID, map[string]string{"agent_id": id}, now)
	}
	for _, id := range c.Remove {
		if i := slices.Index(r.st.SupporterIDs, id); i >= 0 {
			r.st.SupporterIDs = slices.Delete(r.st.SupporterIDs, i, i+1)
			r.event("support.removed", c.ActorID, map[string]string{"agent_id": id}, now)
		}
	}
}

func (r *sessionRun) tags(c TagsCommand, now time.Time) {
	if !r.accepts(c.SessionID) {
		return
	}
	tags := NormalizeTags(c.Tags)
	if slices.Equal(tags, r.st.Tags) {
		return
	}
	r.st.Tags = tags
	r.event("session.tagged", c.ActorID, map[string]string{"tags": strings.Join(tags, ",")}, now)
}

func (r *sessionRun) important(c ImportantCommand, now time.Time) {
	if !r.accepts(c.SessionID) || r.st.Important == c.Value {
		return
	}
	r.st.Important = c.Value
	r.event("session.important", c.ActorID, map[string]string{"value": boolString(c.Value)}, now)
}

func (r *sessionRun) snooze(c SnoozeCommand, now time.Time) {
	if !r.accepts(c.SessionID) {
		return
	}
	if c.Until.After(now) {
		r.st.SnoozedUntil = timePtr(c.Until)
		r.event("session.snoozed", c.ActorID, map[string]string{"until": c.Until.UTC().Format(time.RFC3339)}, now)
	} else if r.st.SnoozedUntil != nil {
		r.st.SnoozedUntil = nil
		r.event("session.snooze_ended", c.ActorID, nil, now)
	}
}

// resend queues a failed message for another delivery; the main loop
// marks it sending and hands it to the sender.
func (r *sessionRun) resend(c ResendCommand, now time.Time) {
	if !r.accepts(c.SessionID) || c.MessageID <= 0 {
		return
	}
	r.resends = append(r.resends, c)
	r.event("message.resent", c.ActorID, map[string]string{"message_id": strconv.FormatInt(c.MessageID, 10)}, now)
}

func (r *sessionRun) done(c DoneCommand, now time.Time) {
	if !r.accepts(c.SessionID) {
		return
	}
	status := c.CloseStatus
	if status == "" {
		status = CloseStatusDone
	}
	r.close(status, c.ActorID, now)
}

// NormalizeTags trims, drops empty and repeated tags (case-insensitively) and
// bounds their number, keeping the given order.
func NormalizeTags(in []string) []string {
	out := []string{}
	for _, t := range in {
		t = strings.TrimSpace(t)
		if t == "" || len(out) == maxTags {
			continue
		}
		if slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, t) }) {
			continue
		}
		out = append(out, t)
	}
	return out
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
