// Package loggen generates log lines in common formats from known templates,
// so that template mining can be measured against the truth.
package loggen

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Template is one kind of line a generator emits.
type Template struct {
	// Format has {field} placeholders for variable parts (see fields).
	Format string
	// Weight is the template's relative frequency.
	Weight int
}

// Set is a generator of one log format.
type Set struct {
	Name      string
	Templates []Template
	total     int
}

// Line is one generated line and the index of the template it came from.
type Line struct {
	Text     string
	Template int
}

// Generator draws lines from a set with a seeded source.
type Generator struct {
	set *Set
	r   *rand.Rand
	t   time.Time
}

// New returns a generator for set seeded with seed.
func New(set *Set, seed uint64) *Generator {
	return &Generator{set: set, r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		t: time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)}
}

// Next returns a line from a template chosen by weight.
func (g *Generator) Next() Line {
	if g.set.total == 0 {
		for _, t := range g.set.Templates {
			g.set.total += max(t.Weight, 1)
		}
	}
	n := g.r.IntN(g.set.total)
	for i, t := range g.set.Templates {
		n -= max(t.Weight, 1)
		if n < 0 {
			return Line{Text: g.Render(i), Template: i}
		}
	}
	panic("unreachable")
}

// Lines returns n lines.
func (g *Generator) Lines(n int) []Line {
	out := make([]Line, n)
	for i := range out {
		out[i] = g.Next()
	}
	return out
}

// Render fills template i's placeholders with fresh values.
func (g *Generator) Render(i int) string {
	g.t = g.t.Add(time.Duration(g.r.IntN(900)) * time.Millisecond)
	f := g.set.Templates[i].Format
	var b strings.Builder
	for {
		open := strings.IndexByte(f, '{')
		if open < 0 {
			b.WriteString(f)
			return b.String()
		}
		end := strings.IndexByte(f[open:], '}')
		if end < 0 {
			b.WriteString(f)
			return b.String()
		}
		name := f[open+1 : open+end]
		gen, ok := fields[name]
		if !ok {
			// Not a placeholder (e.g. a JSON brace): copy it through.
			b.WriteString(f[:open+1])
			f = f[open+1:]
			continue
		}
		b.WriteString(f[:open])
		b.WriteString(gen(g))
		f = f[open+end+1:]
	}
}

func (g *Generator) pick(pool []string) string { return pool[g.r.IntN(len(pool))] }

var (
	users = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
		"mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "root",
		"admin", "oracle", "postgres", "ubuntu", "test", "guest", "deploy", "git", "jenkins", "nagios"}
	words = []string{"connection", "reset", "by", "peer", "timeout", "while", "reading", "response", "from",
		"upstream", "the", "server", "refused", "broken", "pipe", "deadline", "exceeded", "context", "canceled",
		"no", "route", "to", "host", "unexpected", "EOF", "invalid", "token", "permission", "denied"}
	pathWords  = []string{"api", "v1", "users", "orders", "static", "img", "cart", "items", "search", "login", "assets", "js", "css", "health"}
	methods    = []string{"GET", "GET", "GET", "POST", "PUT", "DELETE", "PATCH"}
	statuses   = []string{"200", "200", "200", "201", "204", "301", "302", "304", "400", "401", "403", "404", "500", "502", "503"}
	agents     = []string{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "curl/8.4.0", "Go-http-client/1.1", "kube-probe/1.31", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1", "python-requests/2.32.3", "Prometheus/2.53.0"}
	namespaces = []string{"default", "kube-system", "shop", "payments", "monitoring", "ingress-nginx"}
	apps       = []string{"web", "api", "worker", "cart", "checkout", "redis", "postgres", "frontend"}
	kinds      = []string{"Pod", "Node", "Service", "ConfigMap", "Secret", "Deployment", "Endpoints"}
	reasons    = []string{"Scheduled", "Pulled", "Created", "Started", "Killing", "BackOff", "Unhealthy"}
	hosts      = []string{"web-a", "web-b", "db-primary", "bastion", "worker-c", "edge-east", "ci-runner"}
	servers    = []string{"shop.example.com", "api.example.com", "www.example.org", "static.example.net", "admin.example.com"}
	leases     = []string{"kube-controller-manager", "kube-scheduler", "cert-manager-controller", "ingress-controller-leader", "vigil-agent", "cluster-autoscaler"}
	states     = []string{"NEW", "PAID", "SHIPPED", "CANCELLED", "RETURNED", "ON_HOLD"}
	classes    = []string{"OrderService", "PaymentClient", "CartController", "InventoryRepository", "CheckoutFacade", "ShippingAdapter", "PriceCalculator", "UserResolver", "AuditLog", "RetryTemplate", "MessageListener", "TokenFilter"}
	jmethods   = []string{"process", "charge", "submit", "findById", "execute", "handle", "doFilter", "resolve", "apply", "invoke", "onMessage", "lambda$run$0"}
	procs      = []string{"java", "postgres", "node", "python3", "chrome", "mysqld", "redis-server"}
	rpcs       = []string{"orders.OrderService/GetOrder", "orders.OrderService/ListOrders", "users.UserService/GetUser", "payments.Gateway/Charge", "inventory.Stock/Reserve", "search.Index/Query"}
	jobs       = []string{"reindex", "send-digest", "expire-carts", "sync-prices", "rollup-metrics", "cleanup-sessions", "rotate-keys"}
	tags       = []string{"\"nightly\"", "\"eu\"", "\"us\"", "\"priority\"", "\"retry\"", "\"bulk\"", "\"canary\""}
	tables     = []string{"orders", "users", "carts", "payments", "stock", "sessions"}
	containers = []string{"app", "sidecar", "istio-proxy", "init-db", "migrate", "nginx"}
	ifaces     = []string{"eth0", "ens3", "veth1a2b", "cni0", "flannel.1", "docker0"}
)

func hexs(g *Generator, n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.r.IntN(16)]
	}
	return string(b)
}

func b64(g *Generator, n int) string {
	const a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := make([]byte, n)
	for i := range b {
		b[i] = a[g.r.IntN(len(a))]
	}
	return string(b)
}

func ip(g *Generator) string {
	return fmt.Sprintf("%d.%d.%d.%d", 10+g.r.IntN(200), g.r.IntN(256), g.r.IntN(256), 1+g.r.IntN(254))
}

func urlPath(g *Generator) string {
	var b strings.Builder
	for range 1 + g.r.IntN(4) {
		b.WriteString("/" + g.pick(pathWords))
	}
	if g.r.IntN(2) == 0 {
		fmt.Fprintf(&b, "/%d", g.r.IntN(100000))
	}
	if g.r.IntN(4) == 0 {
		fmt.Fprintf(&b, "?page=%d&sort=%s", g.r.IntN(50), g.pick([]string{"asc", "desc"}))
	}
	return b.String()
}

func freeText(g *Generator, min, max int) string {
	n := min + g.r.IntN(max-min+1)
	ws := make([]string, n)
	for i := range ws {
		ws[i] = g.pick(words)
	}
	return strings.Join(ws, " ")
}

func dur(g *Generator) string {
	switch g.r.IntN(4) {
	case 0:
		return fmt.Sprintf("%dµs", g.r.IntN(1000))
	case 1:
		return fmt.Sprintf("%.3fms", g.r.Float64()*900)
	case 2:
		return fmt.Sprintf("%.1fs", g.r.Float64()*60)
	}
	return fmt.Sprintf("%dm%ds", 1+g.r.IntN(10), g.r.IntN(60))
}

func list(g *Generator, pool []string, sep string) string {
	n := 1 + g.r.IntN(4)
	out := make([]string, n)
	for i := range out {
		out[i] = g.pick(pool)
	}
	return strings.Join(out, sep)
}

// frame is a stack frame of the application or of a library.
func frame(g *Generator) string {
	if g.r.IntN(4) == 0 {
		return g.pick([]string{"org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:590)",
			"org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:195)",
			"org.springframework.aop.framework.ReflectiveMethodInvocation.proceed(ReflectiveMethodInvocation.java:184)",
			"jdk.internal.reflect.DirectMethodHandleAccessor.invoke(Unknown Source)"})
	}
	c := g.pick(classes)
	return "com.example.shop." + c + "." + g.pick(jmethods) + "(" + c + ".java:" + fmt.Sprint(10+g.r.IntN(500)) + ")"
}

func uuid(g *Generator) string {
	return hexs(g, 8) + "-" + hexs(g, 4) + "-4" + hexs(g, 3) + "-a" + hexs(g, 3) + "-" + hexs(g, 12)
}

func podName(g *Generator) string {
	return g.pick(apps) + "-" + hexs(g, 9) + "-" + b64(g, 5)[:5]
}

var fields = map[string]func(g *Generator) string{
	"hdfsts":  func(g *Generator) string { return g.t.Format("060102 150405") },
	"clfts":   func(g *Generator) string { return g.t.Format("02/Jan/2006:15:04:05 -0700") },
	"ngxts":   func(g *Generator) string { return g.t.Format("2006/01/02 15:04:05") },
	"klogts":  func(g *Generator) string { return g.t.Format("0102 15:04:05.000000") },
	"iso":     func(g *Generator) string { return g.t.Format("2006-01-02T15:04:05.000Z07:00") },
	"javats":  func(g *Generator) string { return g.t.Format("2006-01-02 15:04:05,000") },
	"systs":   func(g *Generator) string { return g.t.Format("Jan _2 15:04:05") },
	"sparkts": func(g *Generator) string { return g.t.Format("06/01/02 15:04:05") },
	"pid":     func(g *Generator) string { return fmt.Sprint(1 + g.r.IntN(32000)) },
	"tid":     func(g *Generator) string { return fmt.Sprintf("%7d", 1+g.r.IntN(40000)) },
	"n":       func(g *Generator) string { return fmt.Sprint(g.r.IntN(5000)) },
	"small":   func(g *Generator) string { return fmt.Sprint(g.r.IntN(3)) },
	"line":    func(g *Generator) string { return fmt.Sprint(20 + g.r.IntN(900)) },
	"size":    func(g *Generator) string { return fmt.Sprint(g.r.IntN(67108864)) },
	"float":   func(g *Generator) string { return fmt.Sprintf("%.2f", g.r.Float64()*1000) },
	"f":       func(g *Generator) string { return fmt.Sprintf("%d.0", g.r.IntN(200)) },
	"ip":      ip,
	"port":    func(g *Generator) string { return fmt.Sprint(1024 + g.r.IntN(64000)) },
	"blk":     func(g *Generator) string { return fmt.Sprintf("blk_%s%d", g.pick([]string{"", "-"}), g.r.Int64()) },
	"uuid":    uuid,
	"hdfspath": func(g *Generator) string {
		return fmt.Sprintf("/user/root/rand/_temporary/_task_%d_%04d_m_%06d_0/part-%05d", g.r.IntN(1e9), g.r.IntN(9999), g.r.IntN(999999), g.r.IntN(99999))
	},
	"datapath": func(g *Generator) string {
		return fmt.Sprintf("/mnt/hadoop/dfs/data/current/subdir%d/blk_%d", g.r.IntN(64), g.r.Int64())
	},
	"method":  func(g *Generator) string { return g.pick(methods) },
	"status":  func(g *Generator) string { return g.pick(statuses) },
	"urlpath": urlPath,
	"referer": func(g *Generator) string {
		return g.pick([]string{"-", "-", "https://shop.example.com/", "https://www.google.com/"})
	},
	"ua":        func(g *Generator) string { return g.pick(agents) },
	"srv":       func(g *Generator) string { return g.pick(servers) },
	"user":      func(g *Generator) string { return g.pick(users) },
	"host":      func(g *Generator) string { return g.pick(hosts) },
	"ns":        func(g *Generator) string { return g.pick(namespaces) },
	"pod":       podName,
	"uid":       uuid,
	"kind":      func(g *Generator) string { return g.pick(kinds) },
	"kindlower": func(g *Generator) string { return strings.ToLower(g.pick(kinds)) + "s" },
	"reason":    func(g *Generator) string { return g.pick(reasons) },
	"freetext":  func(g *Generator) string { return freeText(g, 1, 7) },
	"lease":     func(g *Generator) string { return g.pick(leases) },
	"container": func(g *Generator) string { return g.pick(containers) },
	"podlist": func(g *Generator) string {
		return list(g, []string{"\"default/web-1\"", "\"shop/cart-0\"", "\"kube-system/coredns-2\"", "\"payments/api-7\""}, ", ")
	},
	"dur":      dur,
	"cachekey": func(g *Generator) string { return fmt.Sprintf("session:%s", hexs(g, 16)) },
	"sql": func(g *Generator) string {
		return fmt.Sprintf("SELECT * FROM %s WHERE id = %d", g.pick(tables), g.r.IntN(99999))
	},
	"rpc":     func(g *Generator) string { return g.pick(rpcs) },
	"job":     func(g *Generator) string { return g.pick(jobs) },
	"taglist": func(g *Generator) string { return list(g, tags, ",") },
	"thread":  func(g *Generator) string { return fmt.Sprintf("http-nio-8080-exec-%d", 1+g.r.IntN(200)) },
	"amount":  func(g *Generator) string { return fmt.Sprintf("%d.%02d", g.r.IntN(2000), g.r.IntN(100)) },
	"state":   func(g *Generator) string { return g.pick(states) },
	"frame": func(g *Generator) string {
		c := g.pick(classes)
		return "com.example.shop." + c + "." + g.pick(jmethods) + "(" + c + ".java:" + fmt.Sprint(10+g.r.IntN(500)) + ")"
	},
	"springpkg": func(g *Generator) string {
		return g.pick([]string{"org.springframework.web.servlet.FrameworkServlet.service", "org.apache.catalina.core.ApplicationFilterChain.doFilter", "org.springframework.aop.framework.ReflectiveMethodInvocation.proceed", "jdk.internal.reflect.DirectMethodHandleAccessor.invoke"})
	},
	"b64":       func(g *Generator) string { return b64(g, 43) },
	"uptime":    func(g *Generator) string { return fmt.Sprintf("%12.6f", g.r.Float64()*float64(g.r.IntN(4)*40000+100)) },
	"proc":      func(g *Generator) string { return g.pick(procs) },
	"iface":     func(g *Generator) string { return g.pick(ifaces) },
	"sparkhost": func(g *Generator) string { return fmt.Sprintf("mesos-slave-%02d", g.r.IntN(40)) },
	"attempt": func(g *Generator) string {
		return fmt.Sprintf("attempt_%d_%04d_m_%06d_%d", 201706000000+g.r.IntN(999999), g.r.IntN(9999), g.r.IntN(999), g.r.IntN(3))
	},
	"rpcname":    func(g *Generator) string { return g.pick(rpcs) },
	"jobname":    func(g *Generator) string { return g.pick(jobs) },
	"errtext":    func(g *Generator) string { return freeText(g, 2, 6) },
	"leasename":  func(g *Generator) string { return g.pick(leases) },
	"podname":    podName,
	"kindplural": func(g *Generator) string { return strings.ToLower(g.pick(kinds)) + "s" },
}
