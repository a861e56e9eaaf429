package api

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/omnichat/omnichat/db"
	"github.com/omnichat/omnichat/db/dbsqlc"
	"github.com/omnichat/omnichat/realtime"
)

// streamBuffer is how many events a stream may fall behind before it is
// dropped; its client reconnects and reloads, which is better than holding
// every other stream back.
const streamBuffer = 1024

type streamEvent struct {
	typ  string
	data []byte
}

type stream struct {
	events chan streamEvent
	// dropped is closed when the stream fell too far behind.
	dropped chan struct{}
	once    sync.Once
}

func newStream() *stream {
	return &stream{events: make(chan streamEvent, streamBuffer), dropped: make(chan struct{})}
}

// offer queues ev without blocking, dropping a stream that cannot keep up.
func (st *stream) offer(ev streamEvent) {
	select {
	case st.events <- ev:
	default:
		st.once.Do(func() { close(st.dropped) })
	}
}

type agentStream struct {
	*stream
	p *principal
}

type visitorStream struct {
	*stream
	contact uuid.UUID
}

// brokerLanes is how many notifications the broker works on at once. One
// conversation's notifications always take the same lane, so they reach
// streams in the order they were committed.
const brokerLanes = 8

// broker fans database notifications out to the open event streams: it
// loads each changed object once, then gives every stream what its owner may
// see of it.
type broker struct {
	s        *Server
	listener *realtime.Listener
	lanes    [brokerLanes]chan realtime.Notification
	teams    channelTeams

	mu       sync.RWMutex
	agents   map[*agentStream]struct{}
	visitors map[uuid.UUID]map[*visitorStream]struct{}
}

func newBroker(s *Server) *broker {
	b := &broker{s: s, agents: map[*agentStream]struct{}{}, visitors: map[uuid.UUID]map[*visitorStream]struct{}{}}
	for i := range b.lanes {
		b.lanes[i] = make(chan realtime.Notification, 1024)
	}
	return b
}

// run works the lanes until ctx ends.
func (b *broker) run(ctx context.Context) {
	for _, lane := range b.lanes {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case n := <-lane:
					b.handle(n)
				}
			}
		}()
	}
}

// dispatch hands a notification to its conversation's lane (a full lane
// holds the listener back rather than dropping anything).
func (b *broker) dispatch(n realtime.Notification) {
	if n.Type == realtime.Reset {
		b.handle(n)
		return
	}
	key := n.ContactID
	if key == "" {
		key = n.SessionID
	}
	h := fnv.New32a()
	h.Write([]byte(key))
	b.lanes[h.Sum32()%brokerLanes] <- n
}

// channelTeams caches the team each channel routes to, for messages no
// session has adopted yet; a change shows within channelTeamTTL.
type channelTeams struct {
	mu sync.Mutex
	m  map[uuid.UUID]channelTeam
}

type channelTeam struct {
	team uuid.NullUUID
	at   time.Time
}

const channelTeamTTL = 5 * time.Second

func (c *channelTeams) get(ctx context.Context, s *Server, id uuid.UUID) (uuid.NullUUID, error) {
	c.mu.Lock()
	if e, ok := c.m[id]; ok && time.Since(e.at) < channelTeamTTL {
		c.mu.Unlock()
		return e.team, nil
	}
	c.mu.Unlock()
	ch, err := s.q.ChannelGet(ctx, s.Pool, id)
	if err != nil {
		return uuid.NullUUID{}, err
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[uuid.UUID]channelTeam{}
	}
	c.m[id] = channelTeam{ch.TeamID, time.Now()}
	c.mu.Unlock()
	return ch.TeamID, nil
}

func (b *broker) addAgent(p *principal) *agentStream {
	st := &agentStream{stream: newStream(), p: p}
	b.mu.Lock()
	b.agents[st] = struct{}{}
	b.mu.Unlock()
	b.gauge("agent", 1)
	return st
}

func (b *broker) removeAgent(st *agentStream) {
	b.mu.Lock()
	delete(b.agents, st)
	b.mu.Unlock()
	b.gauge("agent", -1)
}

// addVisitor registers a visitor's stream and reports whether it is their
// first open one here.
func (b *broker) addVisitor(contact uuid.UUID) (*visitorStream, bool) {
	st := &visitorStream{stream: newStream(), contact: contact}
	b.mu.Lock()
	set := b.visitors[contact]
	if set == nil {
		set = map[*visitorStream]struct{}{}
		b.visitors[contact] = set
	}
	set[st] = struct{}{}
	first := len(set) == 1
	b.mu.Unlock()
	b.gauge("visitor", 1)
	return st, first
}

// removeVisitor unregisters a stream and reports whether it was their last.
func (b *broker) removeVisitor(st *visitorStream) bool {
	b.mu.Lock()
	set := b.visitors[st.contact]
	delete(set, st)
	last := len(set) == 0
	if last {
		delete(b.visitors, st.contact)
	}
	b.mu.Unlock()
	b.gauge("visitor", -1)
	return last
}

func (b *broker) gauge(audience string, d float64) {
	if b.s.Metrics != nil {
		b.s.Metrics.StreamClients.WithLabelValues(audience).Add(d)
	}
}

func (b *broker) delivered(audience, typ string) {
	if b.s.Metrics != nil {
		b.s.Metrics.EventsDelivered.WithLabelValues(audience, typ).Inc()
	}
}

// handle is called for every notification, in commit order.
func (b *broker) handle(n realtime.Notification) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var err error
	switch n.Type {
	case realtime.Reset:
		b.broadcast(streamEvent{typ: realtime.Reset, data: []byte(`{}`)})
	case realtime.MessageCreated, realtime.MessageUpdated:
		err = b.message(ctx, n)
	case realtime.SessionUpdated, realtime.SessionWarning, realtime.SupportInvited:
		err = b.session(ctx, n)
	}
	if err != nil && !db.IsNotFound(err) {
		b.s.log.Warn("event not delivered", "type", n.Type, "err", err)
	}
}

func (b *broker) broadcast(ev streamEvent) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for st := range b.agents {
		st.offer(ev)
	}
	for _, set := range b.visitors {
		for st := range set {
			st.offer(ev)
		}
	}
}

func (b *broker) message(ctx context.Context, n realtime.Notification) error {
	b.mu.RLock()
	contactID, _ := uuid.Parse(n.ContactID)
	wanted := len(b.agents) > 0 || len(b.visitors[contactID]) > 0
	b.mu.RUnlock()
	if !wanted {
		return nil
	}
	m, err := b.s.q.MessageGet(ctx, b.s.Pool, n.MessageID)
	if err != nil {
		return err
	}
	sc, err := b.messageScope(ctx, m)
	if err != nil {
		return err
	}
	names := b.s.agentNames(ctx, []dbsqlc.Message{m})
	agentData, err := json.Marshal(toMessage(m, names[m.SenderID.UUID]))
	if err != nil {
		return err
	}
	ev := streamEvent{typ: n.Type, data: agentData}
	b.mu.RLock()
	defer b.mu.RUnlock()
	for st := range b.agents {
		if st.p.canSee(sc) {
			st.offer(ev)
			b.delivered("agent", n.Type)
		}
	}
	if m.Direction == "in" || m.Direction == "out" {
		if set := b.visitors[m.ContactID]; len(set) > 0 {
			data, err := json.Marshal(toVisitorMessage(m, names[m.SenderID.UUID]))
			if err != nil {
				return err
			}
			for st := range set {
				st.offer(streamEvent{typ: n.Type, data: data})
				b.delivered("visitor", n.Type)
			}
		}
	}
	return nil
}

// messageScope is who may see a message: its session's people, or, before
// a session has adopted it, the team of its channel.
func (b *broker) messageScope(ctx context.Context, m dbsqlc.Message) (scope, error) {
	if m.SessionID.Valid {
		s, err := b.s.q.SessionGet(ctx, b.s.Pool, m.SessionID.UUID)
		if err != nil {
			return scope{}, err
		}
		return sessionScope(s), nil
	}
	team, err := b.teams.get(ctx, b.s, m.ChannelID)
	if err != nil {
		return scope{}, err
	}
	return scope{teamID: team}, nil
}

func (b *broker) session(ctx context.Context, n realtime.Notification) error {
	b.mu.RLock()
	none := len(b.agents) == 0
	b.mu.RUnlock()
	if none {
		return nil
	}
	id, err := uuid.Parse(n.SessionID)
	if err != nil {
		return err
	}
	v, err := b.s.q.SessionView(ctx, b.s.Pool, id)
	if err != nil {
		return err
	}
	reads, err := b.s.q.SessionReadList(ctx, b.s.Pool, id)
	if err != nil {
		return err
	}
	row := sessionRow{Session: v.Session, Contact: v.Contact, LastDirection: v.LastDirection, LastText: v.LastText, LastSentAt: v.LastSentAt, LastSenderID: v.LastSenderID}
	sc := sessionScope(v.Session)
	now := time.Now()
	b.mu.RLock()
	defer b.mu.RUnlock()
	for st := range b.agents {
		if !st.p.canSee(sc) {
			continue
		}
		if n.Type == realtime.SupportInvited && st.p.id().String() != n.AgentID {
			continue
		}
		row.Unread = unreadFor(v.Session, reads, st.p.id())
		sj := toSession(row, now)
		var payload any = sj
		switch n.Type {
		case realtime.SessionWarning:
			sj.Warning = n.Level
			payload = sj
		case realtime.SupportInvited:
			payload = gin.H{"session_id": sj.ID, "agent_id": n.AgentID, "session": sj}
		}
		data, err := json.Marshal(payload)
		if err != nil {
			return err
		}
		st.offer(streamEvent{typ: n.Type, data: data})
		b.delivered("agent", n.Type)
	}
	return nil
}

// agentEvents streams the signed-in agent's events.
func (s *Server) agentEvents(c *gin.Context) {
	st := s.broker.addAgent(me(c))
	defer s.broker.removeAgent(st)
	s.serveStream(c, st.stream)
}

// serveStream writes a stream's events as Server-Sent Events until the
// client goes away or the stream is dropped.
func (s *Server) serveStream(c *gin.Context, st *stream) {
	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
	c.Status(http.StatusOK)
	rc := http.NewResponseController(c.Writer)
	write := func(format string, args ...any) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if _, err := fmt.Fprintf(c.Writer, format, args...); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	// writeQueued writes ev and whatever else is already queued behind it,
	// then flushes once: a busy stream costs one write per burst, not one per
	// event.
	writeQueued := func(ev streamEvent) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
		for n := len(st.events); ; n-- {
			if _, err := fmt.Fprintf(c.Writer, "event: %s\ndata: %s\n\n", ev.typ, ev.data); err != nil {
				return false
			}
			if n <= 0 {
				break
			}
			ev = <-st.events
		}
		return rc.Flush() == nil
	}
	if !write("retry: 2000\n: connected\n\n") {
		return
	}
	tick := time.NewTicker(s.KeepAlive)
	defer tick.Stop()
	for {
		select {
		case <-c.Request.Context().Done():
			return
		case <-st.dropped:
			write("event: %s\ndata: {}\n\n", realtime.Reset)
			return
		case ev := <-st.events:
			if !writeQueued(ev) {
				return
			}
		case <-tick.C:
			if !write(": ping\n\n") {
				return
			}
		}
	}
}
