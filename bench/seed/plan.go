package seed

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// The generator is a pure function of (Options.Seed, contact index): every
// table's rows of a contact can be produced again, in any order and on any
// goroutine, and they agree. Times are microseconds since the Unix epoch (the
// precision Postgres keeps), so no value is rounded on the way in.

const (
	micro  = int64(1)
	second = 1_000_000 * micro
	minute = 60 * second
	hour   = 60 * minute
	day    = 24 * hour
)

// Directions of messages, as stored.
const (
	dirIn   = 'i'
	dirOut  = 'o'
	dirNote = 'n'
)

var platforms = []string{"webchat", "whatsapp", "messenger", "instagram", "telegram", "viber"}

// replyWindow is the platforms' 24-hour reply window (channel.Platform.ReplyWindow).
func replyWindow(platform string) bool {
	return platform == "messenger" || platform == "instagram" || platform == "whatsapp"
}

var openStatuses = []struct {
	name   string
	weight float64
}{
	{"rep_needed", 0.20},
	{"pending", 0.12},
	{"soon", 0.08},
	{"overdue", 0.15},
	{"answered", 0.35},
	{"snoozed", 0.10},
}

// Tags is the vocabulary sessions are tagged from (the first ones most often).
var Tags = []string{"billing", "shipping", "refund", "bug", "account", "sales", "vip", "complaint", "feedback", "urgent", "returns", "partnership"}

var closeStatuses = []string{"", "resolved", "resolved", "resolved", "no_reply", "spam", "duplicate"}

var firstNames = []string{
	"Anna", "Ben", "Carla", "David", "Elena", "Felix", "Greta", "Hugo", "Ines", "Jonas", "Karin", "Luca", "Maria",
	"Nina", "Oscar", "Paula", "Quentin", "Rosa", "Samir", "Tara", "Uwe", "Vera", "Walter", "Xenia", "Yusuf", "Zoe",
	"Amir", "Bianca", "Chen", "Dmitri", "Emma", "Farah", "Gustav", "Hana", "Igor", "Julia", "Kenji", "Lena", "Marco",
	"Noor", "Olga", "Pedro", "Rania", "Sven", "Tomasz", "Ursula", "Viktor", "Wen", "Yara", "Zofia", "Aisha", "Bruno",
	"Clara", "Diego", "Eva", "Fatima", "Georg", "Helena", "Ivan", "Jana", "Kasia", "Leon", "Mila", "Nils", "Omar",
	"Petra", "Rafael", "Sofia", "Theo", "Ulla", "Valentina", "William", "Yasmin", "Adam", "Beatriz", "Cyril", "Daria",
	"Emil", "Frida", "Gabriel", "Hiroshi", "Irena", "Jakub", "Klara", "Lars", "Magda", "Nadia", "Oliver", "Priya",
}

var lastNames = []string{
	"Kowalski", "Novak", "Schmidt", "Garcia", "Rossi", "Dubois", "Jensen", "Silva", "Kim", "Nakamura", "Ivanova", "Horvat",
	"Papadopoulos", "Yilmaz", "Nielsen", "Fischer", "Moreau", "Costa", "Lopez", "Andersson", "Bauer", "Weber", "Meyer",
	"Wagner", "Becker", "Hoffmann", "Schulz", "Koch", "Richter", "Klein", "Wolf", "Schroeder", "Neumann", "Schwarz",
	"Zimmermann", "Braun", "Krueger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner", "Krause", "Meier", "Lehmann",
	"Schmid", "Schulze", "Maier", "Koehler", "Herrmann", "Walter", "Mayer", "Huber", "Kaiser", "Fuchs", "Peters", "Lang",
	"Scholz", "Moeller", "Weiss", "Jung", "Hahn", "Vogel", "Friedrich", "Keller", "Guenther", "Frank", "Berger", "Winkler",
	"Roth", "Beck", "Lorenz", "Baumann", "Franke", "Albrecht", "Schuster", "Simon", "Ludwig", "Boehm", "Winter", "Kraus",
	"Martin", "Schumacher", "Kraemer", "Vogt", "Stein", "Jaeger", "Otto", "Sommer", "Gross", "Seidel", "Heinrich", "Brandt",
	"Haas", "Schreiber", "Graf", "Dietrich", "Ziegler", "Kuhn", "Pohl", "Engel", "Horn", "Busch", "Bergmann", "Thomas",
	"Voigt", "Sauer", "Arnold", "Wolff", "Pfeiffer", "Tanaka", "Suzuki", "Sato", "Wang", "Li", "Zhang", "Liu", "Chen",
	"Singh", "Kumar", "Sharma", "Patel", "Khan", "Ali", "Ahmed", "Hassan", "Santos", "Oliveira", "Pereira", "Ferreira",
	"Rodrigues", "Martins", "Sousa", "Gomes", "Ribeiro", "Carvalho", "Almeida", "Lopes", "Marques", "Fernandes", "Moura",
}

var mailDomains = []string{"gmail.com", "outlook.com", "yahoo.com", "example.com", "example.org", "mail.de", "proton.me", "icloud.com"}

var words = []string{
	"hello", "hi", "thanks", "order", "my", "the", "a", "is", "not", "working", "please", "help", "refund", "delivery",
	"package", "arrived", "yet", "when", "will", "it", "be", "shipped", "account", "login", "password", "reset", "card",
	"charged", "twice", "invoice", "address", "change", "cancel", "subscription", "plan", "upgrade", "price", "discount",
	"code", "broken", "damaged", "return", "label", "tracking", "number", "today", "tomorrow", "week", "still", "waiting",
	"answer", "sorry", "for", "trouble", "we", "checked", "your", "request", "sent", "email", "again", "could", "you",
	"confirm", "that", "great", "perfect", "ok", "sure", "no", "yes", "問題", "merci", "danke", "gracias", "size", "color",
	"exchange", "store", "app", "crash", "update", "version", "phone", "screen", "bill", "payment", "failed", "bank",
}

// contactPlan is everything about one contact: its identity and its sessions,
// oldest first (only the last one may be open).
type contactPlan struct {
	index          int
	id             uuid.UUID
	channel        int
	platformUserID string
	name           string
	email          string
	phone          string
	createdAt      int64
	sessions       []sessionPlan
	inTotal        int
	firstIn        int64
	lastIn         int64
	lastSeen       int64
	online         bool
}

type sessionPlan struct {
	id            uuid.UUID
	team          int // -1: no team
	status        string
	owner         int // agent index, -1: none
	members       []int
	supporters    []int
	tags          []string
	important     bool
	inCount       int
	waitingSince  int64 // 0: none
	windowExpires int64
	snoozedUntil  int64
	firstResponse int64
	lastMessageID int64
	lastActivity  int64
	openedAt      int64
	closedAt      int64
	closeStatus   string
	version       int64
	firstMsgID    int64
	msgs          []msgPlan
	events        []eventPlan
}

type msgPlan struct {
	dir    byte
	auto   bool
	failed bool
	sender int // agent index, -1: none
	sentAt int64
}

type eventPlan struct {
	typ   string
	actor int // agent index, -1: none
	data  string
	at    int64
}

// gen holds what the generator derives once from Options.
type gen struct {
	seed         uint64
	now          int64
	sessions     int
	meanMessages float64
	pOpen        float64 // chance a contact's latest session is open
	channelCDF   []float64
	channelTeam  []int   // team of each channel, -1: routed to no team
	teamPool     [][]int // agents who take sessions of each team, repeated by weight
	allPool      []int   // agents who take sessions of unrouted channels
	agents       int
	teams        int

	// Filled by layout: contact j has sessions [sessStart[j], sessStart[j+1])
	// and messages [msgStart[j], msgStart[j+1]) (offsets from msgBase).
	contacts  int
	sessStart []int32
	msgStart  []int64
	lastK     int // session count of the last contact (truncated to reach Sessions)
	msgBase   int64
}

func newRand(seed uint64, a, b uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed^(a*0x9e3779b97f4a7c15), b*0xbf58476d1ce4e5b9+a))
}

func randUUID(r *rand.Rand) uuid.UUID {
	var u uuid.UUID
	hi, lo := r.Uint64(), r.Uint64()
	for i := range 8 {
		u[i] = byte(hi >> (56 - 8*i))
		u[8+i] = byte(lo >> (56 - 8*i))
	}
	u[6] = (u[6] & 0x0f) | 0x40
	u[8] = (u[8] & 0x3f) | 0x80
	return u
}

// expInt draws an exponential duration with the given mean.
func expInt(r *rand.Rand, mean int64) int64 {
	return int64(r.ExpFloat64() * float64(mean))
}

// counts draws a contact's session count and each session's message count
// from their own stream, so that layout can compute them cheaply.
func (g *gen) counts(j int, dst []int) []int {
	r := newRand(g.seed, 1, uint64(j))
	k := 1
	if r.Float64() < 0.002 {
		k = 10 + r.IntN(30) // a regular: many earlier sessions
	} else {
		for k < 12 && r.Float64() < 0.38 {
			k++
		}
	}
	dst = dst[:0]
	q := 0.0
	if g.meanMessages > 1 {
		q = (g.meanMessages - 1) / g.meanMessages
	}
	maxN := int(10*g.meanMessages) + 1
	for range k {
		n := 1
		if q > 0 {
			// 1 + geometric with mean meanMessages-1
			n = 1 + int(math.Floor(math.Log(1-r.Float64())/math.Log(q)))
			n = min(n, maxN)
		}
		dst = append(dst, n)
	}
	return dst
}

// layout assigns sessions and message ids to contacts until Sessions is reached.
func (g *gen) layout() (messages int64) {
	g.sessStart = []int32{0}
	g.msgStart = []int64{0}
	var ns []int
	total := 0
	for total < g.sessions {
		ns = g.counts(len(g.sessStart)-1, ns)
		if total+len(ns) > g.sessions {
			ns = ns[:g.sessions-total]
		}
		g.lastK = len(ns)
		total += len(ns)
		for _, n := range ns {
			messages += int64(n)
		}
		g.sessStart = append(g.sessStart, int32(total))
		g.msgStart = append(g.msgStart, messages)
	}
	g.contacts = len(g.sessStart) - 1
	return messages
}

func (g *gen) pick(r *rand.Rand, pool []int) int {
	return pool[r.IntN(len(pool))]
}

// contact builds contact j's full plan.
func (g *gen) contact(j int) contactPlan {
	var ns []int
	ns = g.counts(j, ns)
	if j == g.contacts-1 {
		ns = ns[:g.lastK]
	}
	r := newRand(g.seed, 2, uint64(j))
	cp := contactPlan{index: j, id: randUUID(r)}
	u := r.Float64()
	for i, c := range g.channelCDF {
		if u < c || i == len(g.channelCDF)-1 {
			cp.channel = i
			break
		}
	}
	platform := platforms[cp.channel%len(platforms)]
	g.identity(r, &cp, platform)

	k := len(ns)
	lastOpen := r.Float64() < g.pOpen
	end := g.now - 10*minute
	var openStart int64
	if lastOpen {
		openStart = g.now - min(72*hour, 5*minute+expInt(r, 8*hour))
		end = openStart - 30*minute
	}
	start := g.now - 90*day
	nClosed := k
	if lastOpen {
		nClosed--
	}
	starts := make([]int64, 0, k)
	for range nClosed {
		starts = append(starts, start+int64(r.Float64()*float64(end-start)))
	}
	sortInt64(starts)
	if lastOpen {
		starts = append(starts, openStart)
	}
	msgID := g.msgBase + g.msgStart[j]
	cp.sessions = make([]sessionPlan, k)
	for i := range k {
		next := g.now
		if i+1 < k {
			next = starts[i+1]
		}
		open := lastOpen && i == k-1
		sp := &cp.sessions[i]
		g.session(r, sp, cp.channel, platform, ns[i], starts[i], next, open, msgID)
		msgID += int64(ns[i])
		for _, m := range sp.msgs {
			if m.dir == dirIn {
				cp.inTotal++
				if cp.firstIn == 0 {
					cp.firstIn = m.sentAt
				}
				cp.lastIn = m.sentAt
			}
		}
	}
	cp.createdAt = cp.sessions[0].openedAt
	last := cp.sessions[k-1]
	cp.lastSeen = last.lastActivity
	cp.online = last.status != "closed" && g.now-last.lastActivity < 10*minute
	return cp
}

func (g *gen) identity(r *rand.Rand, cp *contactPlan, platform string) {
	first := firstNames[r.IntN(len(firstNames))]
	last := lastNames[zipf(r, len(lastNames))]
	n := strconv.Itoa(cp.index)
	phone := func() string {
		return "+" + strconv.Itoa(1+r.IntN(98)) + strconv.FormatInt(1_000_000_000+r.Int64N(8_999_999_999), 10)
	}
	switch platform {
	case "webchat":
		cp.platformUserID = "visitor-" + cp.id.String()
		if r.Float64() < 0.6 {
			cp.name = first + " " + last
			cp.email = lowerASCII(first) + "." + lowerASCII(last) + n + "@" + mailDomains[r.IntN(len(mailDomains))]
		}
	case "whatsapp", "viber":
		cp.name = first + " " + last
		cp.phone = phone()
		cp.platformUserID = cp.phone[1:] + "-" + n
	default:
		cp.name = first + " " + last
		cp.platformUserID = strconv.FormatUint(r.Uint64()>>8, 10) + "-" + n
		if r.Float64() < 0.1 {
			cp.phone = phone()
		}
		if r.Float64() < 0.1 {
			cp.email = lowerASCII(first) + n + "@" + mailDomains[r.IntN(len(mailDomains))]
		}
	}
}

// zipf draws an index in [0, n) with the first ones most likely.
func zipf(r *rand.Rand, n int) int {
	return min(n-1, int(math.Floor(math.Pow(float64(n)+1, r.Float64())))-1)
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func sortInt64(a []int64) {
	for i := 1; i < len(a); i++ {
		for k := i; k > 0 && a[k] < a[k-1]; k-- {
			a[k], a[k-1] = a[k-1], a[k]
		}
	}
}

// session fills one session: status, people, tags, then its messages, whose
// shape follows the status (a waiting customer wrote last, an answered one
// was answered by an agent last).
func (g *gen) session(r *rand.Rand, sp *sessionPlan, ch int, platform string, n int, opened, next int64, open bool, firstMsgID int64) {
	sp.id = randUUID(r)
	sp.openedAt = opened
	sp.firstMsgID = firstMsgID
	sp.team = g.channelTeam[ch]
	if r.Float64() < 0.02 && g.teams > 1 {
		sp.team = r.IntN(g.teams) // transferred to another team
	}
	pool := g.allPool
	if sp.team >= 0 && len(g.teamPool[sp.team]) > 0 {
		pool = g.teamPool[sp.team]
	}

	assigned, hasOwner := true, true
	if open {
		u := r.Float64()
		for _, s := range openStatuses {
			if u < s.weight {
				sp.status = s.name
				break
			}
			u -= s.weight
		}
		if sp.status == "" {
			sp.status = "answered"
		}
		switch sp.status {
		case "rep_needed":
			assigned, hasOwner = false, false
		case "soon", "overdue":
			assigned = r.Float64() < 0.3
			hasOwner = assigned
		case "answered":
			hasOwner = r.Float64() < 0.9
		case "snoozed":
			hasOwner = r.Float64() < 0.8
		}
	} else {
		sp.status = "closed"
		assigned = r.Float64() < 0.8
		hasOwner = assigned && r.Float64() < 0.95
	}
	if assigned {
		a := g.pick(r, pool)
		sp.members = append(sp.members, a)
		if hasOwner {
			sp.owner = a
		} else {
			sp.owner = -1
		}
		for extra := 0; extra < 2 && r.Float64() < 0.15; extra++ {
			if b := g.pick(r, pool); !containsInt(sp.members, b) {
				sp.members = append(sp.members, b)
			}
		}
	} else {
		sp.owner = -1
	}
	if u := r.Float64(); u < 0.05 {
		for range 1 + r.IntN(2) {
			if s := r.IntN(g.agents); !containsInt(sp.members, s) && !containsInt(sp.supporters, s) {
				sp.supporters = append(sp.supporters, s)
			}
		}
	}
	if r.Float64() < 0.3 {
		nt := 1
		if u := r.Float64(); u < 0.05 {
			nt = 3
		} else if u < 0.3 {
			nt = 2
		}
		for range nt {
			t := Tags[zipf(r, len(Tags))]
			if !containsString(sp.tags, t) {
				sp.tags = append(sp.tags, t)
			}
		}
	}
	sp.important = r.Float64() < 0.03

	// Messages: directions first, then times that fit before the next session.
	sp.msgs = make([]msgPlan, n)
	prev := byte(dirIn)
	for i := range sp.msgs {
		m := &sp.msgs[i]
		m.sender = -1
		switch {
		case i == 0:
			m.dir = dirIn
		case !assigned:
			m.dir = dirIn
			if i == 1 && r.Float64() < 0.5 {
				m.dir, m.auto = dirOut, true // greeting or automatic reply
			}
		default:
			u := r.Float64()
			switch prev {
			case dirIn:
				m.dir = pickDir(u, 0.40, 0.55)
			case dirOut:
				m.dir = pickDir(u, 0.70, 0.25)
			default:
				m.dir = pickDir(u, 0.40, 0.60)
			}
		}
		prev = m.dir
	}
	if n == 1 && sp.status == "answered" {
		// A lone message is the customer's: they are still waiting.
		sp.status = "pending"
	}
	last := &sp.msgs[n-1]
	switch sp.status {
	case "rep_needed", "pending", "soon", "overdue":
		last.dir, last.auto = dirIn, false
	case "answered":
		last.dir, last.auto = dirOut, false
	}
	for i := range sp.msgs {
		m := &sp.msgs[i]
		if (m.dir == dirOut && !m.auto) || m.dir == dirNote {
			if len(sp.members) == 0 {
				m.dir, m.auto = dirIn, false
				continue
			}
			m.sender = sp.members[0]
			if len(sp.members) > 1 && r.Float64() < 0.3 {
				m.sender = sp.members[1+r.IntN(len(sp.members)-1)]
			}
			if m.dir == dirNote && len(sp.supporters) > 0 && r.Float64() < 0.5 {
				m.sender = sp.supporters[0]
			}
			m.failed = m.dir == dirOut && r.Float64() < 0.01
		}
	}

	// Times: gaps drawn, then squeezed into the room before the next session.
	room := next - opened
	if !open {
		room = room * 6 / 10
	} else {
		room = max(room-5*second, second)
	}
	gaps := make([]int64, n)
	var sum int64
	for i := 1; i < n; i++ {
		mean := 2 * minute
		if sp.msgs[i].dir != sp.msgs[i-1].dir {
			mean = 4 * minute
		}
		gaps[i] = 1*second + expInt(r, mean)
		sum += gaps[i]
	}
	if sum > room && sum > 0 {
		f := float64(room) / float64(sum)
		for i := range gaps {
			gaps[i] = int64(float64(gaps[i]) * f)
		}
	}
	t := opened
	for i := range sp.msgs {
		t += gaps[i]
		if i > 0 && t <= sp.msgs[i-1].sentAt {
			t = sp.msgs[i-1].sentAt + 1
		}
		sp.msgs[i].sentAt = t
	}
	sp.lastActivity = sp.msgs[n-1].sentAt
	sp.lastMessageID = firstMsgID + int64(n) - 1

	// What the workflow derives from the messages.
	var trailingIn int64
	for _, m := range sp.msgs {
		switch {
		case m.dir == dirIn:
			sp.inCount++
			if trailingIn == 0 {
				trailingIn = m.sentAt
			}
			if replyWindow(platform) {
				sp.windowExpires = m.sentAt + day
			}
		case m.dir == dirOut && !m.auto:
			trailingIn = 0
			if sp.firstResponse == 0 {
				sp.firstResponse = m.sentAt
			}
		}
	}
	sp.waitingSince = trailingIn
	if sp.status == "snoozed" {
		sp.snoozedUntil = g.now + 30*minute + int64(r.Float64()*float64(48*hour))
	}
	if !open {
		delay := 24 * hour // auto-close after a day of inactivity
		if sp.owner >= 0 && r.Float64() < 0.6 {
			delay = 1*minute + expInt(r, 20*minute)
			sp.closeStatus = closeStatuses[r.IntN(len(closeStatuses))]
		}
		sp.closedAt = min(sp.lastActivity+delay, sp.lastActivity+(next-sp.lastActivity)*9/10, g.now-second)
		sp.closedAt = max(sp.closedAt, sp.lastActivity)
	}

	// Audit trail.
	sp.events = append(sp.events, eventPlan{typ: "session.opened", actor: -1, at: opened})
	for _, a := range sp.members {
		sp.events = append(sp.events, eventPlan{typ: "session.joined", actor: a, at: opened + 30*second})
	}
	if len(sp.tags) > 0 {
		sp.events = append(sp.events, eventPlan{typ: "session.tagged", actor: sp.owner, data: `{"tags":"` + joinStrings(sp.tags) + `"}`, at: opened + minute})
	}
	switch sp.status {
	case "soon", "overdue":
		sp.events = append(sp.events, eventPlan{typ: "session.warning", actor: -1, data: `{"level":"soon"}`, at: sp.waitingSince + 3*minute})
		if sp.status == "overdue" {
			sp.events = append(sp.events, eventPlan{typ: "session.warning", actor: -1, data: `{"level":"overdue"}`, at: sp.waitingSince + 5*minute})
		}
	case "snoozed":
		sp.events = append(sp.events, eventPlan{typ: "session.snoozed", actor: sp.owner, data: `{"until":"` + rfc3339(sp.snoozedUntil) + `"}`, at: sp.lastActivity})
	case "closed":
		actor := -1
		if sp.closeStatus != "" {
			actor = sp.owner
		}
		sp.events = append(sp.events, eventPlan{typ: "session.closed", actor: actor, data: `{"close_status":"` + sp.closeStatus + `"}`, at: sp.closedAt})
	}
	sp.version = int64(n + len(sp.events))
}

func rfc3339(us int64) string {
	return time.UnixMicro(us).UTC().Format(time.RFC3339)
}

func pickDir(u, pIn, pOut float64) byte {
	switch {
	case u < pIn:
		return dirIn
	case u < pIn+pOut:
		return dirOut
	default:
		return dirNote
	}
}

func containsInt(a []int, v int) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

func containsString(a []string, v string) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

func joinStrings(a []string) string {
	s := ""
	for i, x := range a {
		if i > 0 {
			s += ","
		}
		s += x
	}
	return s
}

// messageText is a message's text, drawn from its own stream (by id) so that
// plans need not carry it.
func (g *gen) messageText(id int64, dir byte, auto bool) string {
	if auto {
		return "Thanks for your message! An agent will be with you shortly."
	}
	r := newRand(g.seed, 3, uint64(id))
	n := 3 + r.IntN(25)
	if dir == dirNote {
		n = 3 + r.IntN(10)
	}
	b := make([]byte, 0, n*7)
	for i := range n {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, words[r.IntN(len(words))]...)
	}
	if dir == dirIn && r.Float64() < 0.3 {
		b = append(b, '?')
	}
	return string(b)
}
