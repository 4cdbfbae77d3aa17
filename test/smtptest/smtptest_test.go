package smtptest

import (
	"net/smtp"
	"strings"
	"testing"
	"time"
)

const sample = "From: a@b.c\r\nTo: d@e.f\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: multipart/related; boundary=\"XX\"\r\n\r\n" +
	"--XX\r\nContent-Type: multipart/alternative; boundary=\"YY\"\r\n\r\n" +
	"--YY\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nhello =\r\nworld=3D\r\n" +
	"--YY\r\nContent-Type: text/html\r\n\r\n<p>hi</p>\r\n--YY--\r\n" +
	"--XX\r\nContent-Type: image/png; name=\"g.png\"\r\nContent-Transfer-Encoding: base64\r\nContent-ID: <g.png>\r\n\r\naGVs\r\nbG8=\r\n--XX--\r\n"

func TestParse(t *testing.T) {
	m, err := Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "café" || !strings.HasPrefix(m.Text, "hello world=") || !strings.Contains(m.HTML, "<p>hi</p>") {
		t.Fatalf("parsed %+v", m)
	}
	if len(m.Parts) != 3 || m.Parts[2].ContentID != "g.png" || m.Parts[2].Filename != "g.png" || string(m.Parts[2].Data) != "hello" {
		t.Fatalf("parts %+v", m.Parts)
	}
	for _, bad := range []string{"", "no header line", "Content-Type: ;;;\r\n\r\nx", "Content-Type: multipart/mixed; boundary=Z\r\n\r\n--Z\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!\r\n--Z--\r\n"} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q): no error", bad)
		}
	}
}

func TestServerReceivesAndWaits(t *testing.T) {
	s := Start(t)
	errc := make(chan error, 1)
	go func() {
		time.Sleep(100 * time.Millisecond)
		errc <- smtp.SendMail(s.Addr(), nil, "a@b.c", []string{"x@y.z", "w@y.z"}, []byte(sample))
	}()
	defer func() {
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}()
	m := s.Wait(t, 5*time.Second, func(m Message) bool { return m.Subject == "café" })
	if m.From != "a@b.c" || len(m.To) != 2 || m.To[1] != "w@y.z" {
		t.Fatalf("envelope %q %q", m.From, m.To)
	}
	if len(s.Messages()) != 1 {
		t.Fatalf("%d messages", len(s.Messages()))
	}
}

func TestServerRequiresAuthWhenConfigured(t *testing.T) {
	s := StartWithOptions(t, Options{TLS: "starttls", Username: "u", Password: "p"})
	err := smtp.SendMail(s.Addr(), nil, "a@b.c", []string{"x@y.z"}, []byte(sample))
	if err == nil {
		t.Fatal("sent without auth")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("Subject: x\r\n\r\nbody"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		_, _ = Parse(raw) // must not panic or loop
	})
}
