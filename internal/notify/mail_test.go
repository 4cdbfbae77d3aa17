package notify

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"vigil/test/smtptest"
)

var png = []byte("\x89PNG\r\n\x1a\n" + strings.Repeat("graph-bytes", 50))

func testMail() Mail {
	return Mail{
		To:          []string{"Ops Team <ops@example.com>", "dev@example.com"},
		Subject:     "[ALERT] CPU high on web-1 — café",
		Text:        "CPU is 93%\nline two",
		HTML:        `<p>CPU is <b>93%</b></p><img src="cid:graph.png">`,
		Inline:      []Attachment{{Name: "graph.png", ContentType: "image/png", Data: png}},
		Attachments: []Attachment{{Name: "data.csv", ContentType: "text/csv", Data: []byte("t,v\n1,2\n")}},
	}
}

func checkReceived(t *testing.T, m smtptest.Message) {
	t.Helper()
	if m.Subject != "[ALERT] CPU high on web-1 — café" {
		t.Errorf("subject %q", m.Subject)
	}
	if m.From != "vigil@example.com" || len(m.To) != 2 || m.To[0] != "ops@example.com" {
		t.Errorf("envelope from %q to %q", m.From, m.To)
	}
	if !strings.Contains(m.Text, "CPU is 93%\r\nline two") {
		t.Errorf("text %q", m.Text)
	}
	if !strings.Contains(m.HTML, `src="cid:graph.png"`) {
		t.Errorf("html %q", m.HTML)
	}
	var gotPNG, gotCSV bool
	for _, p := range m.Parts {
		switch {
		case p.ContentType == "image/png" && p.ContentID == "graph.png" && bytes.Equal(p.Data, png):
			gotPNG = true
		case p.Filename == "data.csv" && string(p.Data) == "t,v\n1,2\n":
			gotCSV = true
		}
	}
	if !gotPNG || !gotCSV {
		t.Errorf("inline png %v, csv attachment %v; parts %+v", gotPNG, gotCSV, m.Parts)
	}
}

func TestSendMailPlain(t *testing.T) {
	s := smtptest.Start(t)
	cfg := SMTPConfig{Host: s.Host, Port: s.Port, From: "vigil <vigil@example.com>", TLS: "none"}
	if err := SendMail(context.Background(), cfg, testMail()); err != nil {
		t.Fatal(err)
	}
	checkReceived(t, s.Wait(t, 5*time.Second, func(smtptest.Message) bool { return true }))
}

func TestSendMailSTARTTLSWithAuth(t *testing.T) {
	s := smtptest.StartWithOptions(t, smtptest.Options{TLS: "starttls", Username: "u", Password: "p"})
	cfg := SMTPConfig{Host: s.Host, Port: s.Port, From: "vigil@example.com", Username: "u", Password: "p", InsecureSkipVerify: true}
	if err := SendMail(context.Background(), cfg, testMail()); err != nil {
		t.Fatal(err)
	}
	m := s.Wait(t, 5*time.Second, func(smtptest.Message) bool { return true })
	checkReceived(t, m)
	if m.Auth != "u" {
		t.Errorf("authenticated as %q", m.Auth)
	}
	cfg.Password = "wrong"
	if err := SendMail(context.Background(), cfg, testMail()); err == nil || !strings.Contains(err.Error(), "auth") {
		t.Errorf("wrong password: err %v", err)
	}
	// Certificates are verified unless told otherwise.
	cfg.Password, cfg.InsecureSkipVerify = "p", false
	if err := SendMail(context.Background(), cfg, testMail()); err == nil {
		t.Error("self-signed certificate accepted without InsecureSkipVerify")
	}
}

func TestSendMailImplicitTLS(t *testing.T) {
	s := smtptest.StartWithOptions(t, smtptest.Options{TLS: "tls"})
	cfg := SMTPConfig{Host: s.Host, Port: s.Port, From: "vigil@example.com", TLS: "tls", InsecureSkipVerify: true}
	if err := SendMail(context.Background(), cfg, testMail()); err != nil {
		t.Fatal(err)
	}
	checkReceived(t, s.Wait(t, 5*time.Second, func(smtptest.Message) bool { return true }))
}

func TestSendMailRefusesStartTLSWhenNotOffered(t *testing.T) {
	s := smtptest.Start(t)
	cfg := SMTPConfig{Host: s.Host, Port: s.Port, From: "vigil@example.com"} // default starttls
	if err := SendMail(context.Background(), cfg, testMail()); err == nil {
		t.Fatal("sent in clear although STARTTLS was required")
	}
	if n := len(s.Messages()); n != 0 {
		t.Fatalf("%d messages delivered", n)
	}
}

func TestSendMailContextCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	// 192.0.2.1 (TEST-NET-1) never answers.
	err := SendMail(ctx, SMTPConfig{Host: "192.0.2.1", Port: 25, From: "a@b.c", TLS: "none"}, testMail())
	if err == nil {
		t.Fatal("no error")
	}
}

func TestBuildRejectsBadInput(t *testing.T) {
	now := time.Now()
	cases := map[string]func(*Mail){
		"no recipients":    func(m *Mail) { m.To = nil },
		"bad recipient":    func(m *Mail) { m.To = []string{"not an address"} },
		"header injection": func(m *Mail) { m.Subject = "x\r\nBcc: evil@example.com" },
		"invalid utf8":     func(m *Mail) { m.Text = "bad \xff" },
		"empty body":       func(m *Mail) { m.Text, m.HTML = "", "" },
		"bad inline name":  func(m *Mail) { m.Inline[0].Name = "a>b" },
		"bad content type": func(m *Mail) { m.Attachments[0].ContentType = "///" },
		"huge":             func(m *Mail) { m.Attachments[0].Data = make([]byte, 30<<20) },
		"too many rcpt":    func(m *Mail) { m.To = make([]string, 101) },
	}
	for name, mod := range cases {
		m := testMail()
		mod(&m)
		if _, err := Build("vigil@example.com", m, now); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := Build("bad from", testMail(), now); err == nil {
		t.Error("bad from accepted")
	}
	if err := SendMail(context.Background(), SMTPConfig{}, testMail()); err == nil {
		t.Error("no host accepted")
	}
}

func TestBuildRoundTrip(t *testing.T) {
	for _, m := range []Mail{
		{To: []string{"a@b.c"}, Subject: "text only", Text: "hello"},
		{To: []string{"a@b.c"}, Subject: "html only", HTML: "<p>hi</p>"},
		testMail(),
	} {
		raw, err := Build("v@b.c", m, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		got, err := smtptest.Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v\n%s", m.Subject, err, raw)
		}
		if got.Subject != m.Subject || strings.ReplaceAll(strings.TrimRight(got.Text, "\r\n"), "\r\n", "\n") != m.Text || strings.TrimRight(got.HTML, "\r\n") != m.HTML {
			t.Errorf("round trip of %q: got subject %q text %q html %q", m.Subject, got.Subject, got.Text, got.HTML)
		}
	}
}
