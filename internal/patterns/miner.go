package patterns

import (
	"cmp"
	"encoding/binary"
	"hash/maphash"
	"slices"
	"strings"
)

// Options tune a Miner. Zero values take the defaults.
type Options struct {
	// MergeValues is how many distinct words at one position, with the rest
	// of the template equal, make that position variable (default 4). Fewer
	// distinct words stay separate templates ("Accepted …" vs "Failed …").
	MergeValues int
	// MaxTemplatesPerLength bounds the templates of one token count; beyond
	// it a new line joins its most similar template (default 2000).
	MaxTemplatesPerLength int
	// MaxCache bounds the cache of masked lines already seen (default 100000).
	MaxCache int
	// MaxTokens bounds the tokens of a template; the rest become one wildcard (default 64).
	MaxTokens int
}

func (o *Options) defaults() {
	if o.MergeValues <= 1 {
		o.MergeValues = 4
	}
	if o.MaxTemplatesPerLength <= 0 {
		o.MaxTemplatesPerLength = 2000
	}
	if o.MaxCache <= 0 {
		o.MaxCache = 100_000
	}
	if o.MaxTokens <= 0 {
		o.MaxTokens = 64
	}
}

// ID identifies a template. When templates merge, the merged-away id
// resolves to the surviving one (Miner.Resolve).
type ID = int32

type cluster struct {
	tokens []string // nil once merged into another
	count  int64
	sample string
}

type holeGroup struct {
	values  []string
	members []ID
	done    bool
}

// Miner groups lines into templates online. It is not safe for concurrent use.
//
// A line is masked (Mask), split into tokens, and looked up in a cache of
// masked lines. On a miss it joins the first template of the same length that
// matches it (equal tokens, or a wildcard in the template); otherwise it
// starts a new template. Templates that are equal except at one position are
// merged once that position has shown MergeValues distinct words: the words
// that vary freely (user names, hosts, methods) become wildcards, while
// constant alternatives that are few stay apart.
type Miner struct {
	opts     Options
	seed     maphash.Seed
	cache    map[string]ID
	clusters []cluster
	parent   []ID
	byLen    map[int][]ID
	exact    map[string]ID
	holes    map[uint64]*holeGroup
	buf      []byte
	toks     []string
	// OnMerge, when set, is called when template from merges into template to.
	OnMerge func(from, to ID)
	// OnWiden, when set, is called when a template's text gets more wildcards.
	OnWiden func(id ID)
}

// NewMiner returns an empty miner.
func NewMiner(opts Options) *Miner {
	opts.defaults()
	return &Miner{
		opts:  opts,
		seed:  maphash.MakeSeed(),
		cache: map[string]ID{},
		byLen: map[int][]ID{},
		exact: map[string]ID{},
		holes: map[uint64]*holeGroup{},
	}
}

// Add mines one log entry and returns its template's id at this moment
// (it may later merge into another; see Resolve).
func (m *Miner) Add(line string) ID {
	m.buf = Mask(m.buf, line)
	id, ok := m.cache[string(m.buf)]
	if !ok {
		masked := string(m.buf)
		id = m.place(Split(m.toks[:0], masked, m.opts.MaxTokens))
		if len(m.cache) >= m.opts.MaxCache {
			clear(m.cache)
		}
		m.cache[masked] = id
	}
	id = m.Resolve(id)
	c := &m.clusters[id]
	c.count++
	if c.sample == "" {
		c.sample = strings.Clone(firstLine(line))
	}
	return id
}

func firstLine(s string) string {
	if len(s) > 1024 {
		s = s[:1024]
	}
	return s
}

// Split returns the tokens of a masked line (at most max; the rest joins into a wildcard).
func Split(dst []string, masked string, max int) []string {
	for masked != "" {
		if max > 0 && len(dst) == max-1 {
			if strings.IndexByte(masked, ' ') >= 0 {
				return append(dst, Wildcard)
			}
		}
		i := strings.IndexByte(masked, ' ')
		if i < 0 {
			dst = append(dst, masked)
			break
		}
		if i > 0 {
			dst = append(dst, masked[:i])
		}
		masked = masked[i+1:]
	}
	return dst
}

// Resolve follows merges to the template that holds id now.
func (m *Miner) Resolve(id ID) ID {
	root := id
	for m.parent[root] != root {
		root = m.parent[root]
	}
	for m.parent[id] != root {
		next := m.parent[id]
		m.parent[id] = root
		id = next
	}
	return root
}

func matches(tmpl, toks []string) bool {
	for i, t := range tmpl {
		if t != toks[i] && t != Wildcard && !globMatch(t, toks[i]) {
			return false
		}
	}
	return true
}

// compatible reports whether two templates describe overlapping lines: at
// every position the tokens are equal or one is a wildcard or covers the
// other, and at least half the positions are equal.
func compatible(a, b []string) bool {
	eq := 0
	for i, t := range a {
		switch u := b[i]; {
		case t == u:
			eq++
		case t == Wildcard || u == Wildcard || globMatch(t, u) || globMatch(u, t):
		default:
			return false
		}
	}
	return 2*eq >= len(a)
}

// globMatch reports whether a template token with wildcards inside it (e.g.
// "<*>:<*>") matches a token: a wildcard stands for one or more bytes or
// wildcards; literal bytes match only literal bytes (never a wildcard in s).
func globMatch(pattern, s string) bool {
	if !strings.Contains(pattern, Wildcard) || len(pattern) > 256 || len(s) > 1024 {
		return false
	}
	const (
		star     = -1 // zero or more units
		any      = -2 // exactly one unit
		wildUnit = -3 // a wildcard inside s
	)
	var pbuf, sbuf [64]int
	units := func(dst []int, t string, isPattern bool) []int {
		for i := 0; i < len(t); {
			if strings.HasPrefix(t[i:], Wildcard) {
				if isPattern {
					dst = append(dst, any, star)
				} else {
					dst = append(dst, wildUnit)
				}
				i += len(Wildcard)
				continue
			}
			dst = append(dst, int(t[i]))
			i++
		}
		return dst
	}
	p := units(pbuf[:0], pattern, true)
	u := units(sbuf[:0], s, false)
	pi, si, starP, starS := 0, 0, -1, 0
	for si < len(u) {
		switch {
		case pi < len(p) && p[pi] == star:
			starP, starS = pi, si
			pi++
		case pi < len(p) && (p[pi] == any || p[pi] == u[si]):
			pi++
			si++
		case starP >= 0:
			starS++
			pi, si = starP+1, starS
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == star {
		pi++
	}
	return pi == len(p)
}

// place finds or creates the template for tokens.
func (m *Miner) place(toks []string) ID {
	n := lenKey(toks)
	if id, ok := m.exact[strings.Join(toks, " ")]; ok {
		return m.Resolve(id)
	}
	for _, id := range m.byLen[n] {
		if matches(m.clusters[id].tokens, toks) {
			return id
		}
	}
	if len(m.byLen[n]) >= m.opts.MaxTemplatesPerLength {
		return m.joinMostSimilar(toks)
	}
	id := m.newCluster(cloneTokens(toks))
	m.registerHoles(id)
	return m.Resolve(id)
}

func cloneTokens(toks []string) []string {
	// One backing string for all tokens of a template.
	joined := strings.Join(toks, " ")
	return Split(make([]string, 0, len(toks)), joined, 0)
}

func (m *Miner) newCluster(toks []string) ID {
	id := ID(len(m.clusters))
	m.clusters = append(m.clusters, cluster{tokens: toks})
	m.parent = append(m.parent, id)
	m.byLen[lenKey(toks)] = append(m.byLen[lenKey(toks)], id)
	m.exact[strings.Join(toks, " ")] = id
	return id
}

// joinMostSimilar widens the most similar template of the same length to cover toks.
func (m *Miner) joinMostSimilar(toks []string) ID {
	best, bestSim := ID(-1), -1
	for _, id := range m.byLen[lenKey(toks)] {
		sim := 0
		for i, t := range m.clusters[id].tokens {
			if t == toks[i] {
				sim++
			}
		}
		if sim > bestSim {
			best, bestSim = id, sim
		}
	}
	c := &m.clusters[best]
	wider := make([]string, len(toks))
	for i, t := range c.tokens {
		if t == toks[i] {
			wider[i] = t
		} else {
			wider[i] = Wildcard
		}
	}
	m.retemplate(best, wider)
	return m.Resolve(best)
}

func (m *Miner) holeKey(toks []string, p int) uint64 {
	var h maphash.Hash
	h.SetSeed(m.seed)
	var b [4]byte
	binary.LittleEndian.PutUint16(b[:2], uint16(len(toks)))
	binary.LittleEndian.PutUint16(b[2:], uint16(p))
	h.Write(b[:])
	for i, t := range toks {
		if i == p {
			h.WriteByte(0)
			continue
		}
		h.WriteString(t)
		h.WriteByte(' ')
	}
	return h.Sum64()
}

// registerHoles records, for every constant position of a template, the
// template's word there among templates equal elsewhere, merging them once
// enough distinct words have been seen.
func (m *Miner) registerHoles(id ID) {
	toks := m.clusters[id].tokens
	for p, t := range toks {
		if t == Wildcard || t == MoreLines {
			continue
		}
		if m.clusters[id].tokens == nil {
			return // merged meanwhile
		}
		toks = m.clusters[id].tokens
		k := m.holeKey(toks, p)
		g := m.holes[k]
		if g == nil {
			if len(m.holes) >= 64*m.opts.MaxCache {
				clear(m.holes) // bounded memory: forget old candidates
			}
			g = &holeGroup{}
			m.holes[k] = g
		}
		if g.done {
			continue
		}
		g.members = append(g.members, id)
		seen := false
		for _, v := range g.values {
			if v == t {
				seen = true
				break
			}
		}
		if !seen {
			g.values = append(g.values, t)
		}
		if len(g.values) >= m.opts.MergeValues {
			g.done = true
			m.mergeGroup(g.members, p)
			return
		}
	}
}

// mergeGroup merges templates that differ at position p into one.
func (m *Miner) mergeGroup(members []ID, p int) {
	root := m.Resolve(members[0])
	wider := append([]string(nil), m.clusters[root].tokens...)
	wider[p] = Wildcard
	for _, id := range members[1:] {
		id = m.Resolve(id)
		if id == root {
			continue
		}
		for i, t := range m.clusters[id].tokens {
			if t != wider[i] {
				wider[i] = Wildcard
			}
		}
		m.union(id, root)
	}
	m.retemplate(root, wider)
}

// union merges template from into to.
func (m *Miner) union(from, to ID) {
	f := &m.clusters[from]
	t := &m.clusters[to]
	t.count += f.count
	if t.sample == "" {
		t.sample = f.sample
	}
	delete(m.exact, strings.Join(f.tokens, " "))
	m.removeLen(from, lenKey(f.tokens))
	f.tokens, f.sample, f.count = nil, "", 0
	m.parent[from] = to
	if m.OnMerge != nil {
		m.OnMerge(from, to)
	}
}

// lenKey groups templates by token count, and apart whether they end in
// MoreLines, so a wildcard never stands for the marker of more lines.
func lenKey(toks []string) int {
	k := 2 * len(toks)
	if len(toks) > 0 && toks[len(toks)-1] == MoreLines {
		k++
	}
	return k
}

func (m *Miner) removeLen(id ID, n int) {
	ids := m.byLen[n]
	for i, x := range ids {
		if x == id {
			ids[i] = ids[len(ids)-1]
			m.byLen[n] = ids[:len(ids)-1]
			return
		}
	}
}

// retemplate gives template id a wider template, absorbing every template of
// the same length that the wider one now covers.
func (m *Miner) retemplate(id ID, wider []string) {
	wider = cloneTokens(wider)
	// A wider template may already exist: join it instead.
	for _, other := range m.byLen[lenKey(wider)] {
		if other != id && matches(m.clusters[other].tokens, wider) {
			m.union(id, other)
			return
		}
	}
	old := strings.Join(m.clusters[id].tokens, " ")
	delete(m.exact, old)
	m.clusters[id].tokens = wider
	key := strings.Join(wider, " ")
	if other, ok := m.exact[key]; ok && other != id {
		m.union(other, id)
	}
	m.exact[key] = id
	if m.OnWiden != nil {
		m.OnWiden(id)
	}
	// Absorb the templates the wider one covers, and those that generalise the
	// same lines along other positions (host fixed here, user fixed there).
	for changed := true; changed; {
		changed = false
		for _, other := range append([]ID(nil), m.byLen[lenKey(wider)]...) {
			ot := m.clusters[other].tokens
			if other == id || ot == nil {
				continue
			}
			if matches(wider, ot) {
				m.union(other, id)
				continue
			}
			if compatible(wider, ot) {
				for i, t := range ot {
					if t != wider[i] {
						wider[i] = Wildcard
					}
				}
				m.union(other, id)
				changed = true
			}
		}
		if changed {
			delete(m.exact, key)
			wider = cloneTokens(wider)
			m.clusters[id].tokens = wider
			key = strings.Join(wider, " ")
			if other, ok := m.exact[key]; ok && other != id {
				m.union(other, id)
			}
			m.exact[key] = id
		}
	}
	m.registerHoles(id)
}

// Template is one mined template.
type Template struct {
	ID     ID
	Tokens []string
	Count  int64
	Sample string
}

// Text is the template as one line.
func (t Template) Text() string { return strings.Join(t.Tokens, " ") }

// Templates returns the current templates, most frequent first.
func (m *Miner) Templates() []Template {
	out := make([]Template, 0, len(m.exact))
	for id := range m.clusters {
		c := &m.clusters[id]
		if c.tokens == nil {
			continue
		}
		out = append(out, Template{ID: ID(id), Tokens: c.tokens, Count: c.count, Sample: c.sample})
	}
	sortTemplates(out)
	return out
}

// Template returns the current template that id resolves to.
func (m *Miner) Template(id ID) Template {
	id = m.Resolve(id)
	c := &m.clusters[id]
	return Template{ID: id, Tokens: c.tokens, Count: c.count, Sample: c.sample}
}

// Len is the number of live templates.
func (m *Miner) Len() int { return len(m.exact) }

// Restore adds a known template (e.g. loaded from storage) and returns its id.
func (m *Miner) Restore(template string, count int64, sample string) ID {
	toks := Split(nil, template, m.opts.MaxTokens)
	if id, ok := m.exact[strings.Join(toks, " ")]; ok {
		return id
	}
	id := m.newCluster(cloneTokens(toks))
	m.clusters[id].count = count
	m.clusters[id].sample = sample
	return id
}

// sortTemplates orders most frequent first; ties by id for a stable order.
func sortTemplates(ts []Template) {
	slices.SortFunc(ts, func(a, b Template) int {
		if a.Count != b.Count {
			return cmp.Compare(b.Count, a.Count)
		}
		return cmp.Compare(a.ID, b.ID)
	})
}
