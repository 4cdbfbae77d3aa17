// Package smtptest runs a real SMTP server on loopback for tests and keeps
// every message it receives, parsed into its MIME parts.
package smtptest

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one received mail.
type Message struct {
	From    string
	To      []string
	Subject string
	Raw     []byte
	// Text and HTML are the decoded text/plain and text/html bodies.
	Text, HTML string
	// Parts are every leaf MIME part, decoded.
	Parts []Part
	// Auth is the user name the client authenticated as ("" when it did not).
	Auth string
}

// Part is one leaf MIME part.
type Part struct {
	ContentType string
	Filename    string
	ContentID   string // without the angle brackets
	Data        []byte
}

// Options configure StartWithOptions.
type Options struct {
	// TLS is "" (plain, with STARTTLS offered when a certificate is set), "starttls" or "tls".
	TLS string
	// Certificate for STARTTLS/TLS; a self-signed one is generated when empty.
	Certificate *tls.Certificate
	// Username and Password, when set, are required before MAIL.
	Username, Password string
}

// Server is a running test SMTP server.
type Server struct {
	Host string
	Port int

	opts Options
	srv  *smtp.Server
	mu   sync.Mutex
	msgs []Message
	cond chan struct{} // closed and replaced on every new message
}

// Start runs a plain SMTP server (AUTH PLAIN accepted with any credentials) until the test ends.
func Start(t testing.TB) *Server {
	return StartWithOptions(t, Options{})
}

// StartWithOptions runs a server with TLS or required credentials.
func StartWithOptions(t testing.TB, o Options) *Server {
	t.Helper()
	s := &Server{opts: o, cond: make(chan struct{})}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = o.TLS == ""
	srv.MaxMessageBytes = 32 << 20
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	logger := testLogger{t: t, mu: new(sync.Mutex), closed: new(bool)}
	srv.ErrorLog = logger
	if o.TLS != "" {
		cert := o.Certificate
		if cert == nil {
			c, err := SelfSigned()
			if err != nil {
				t.Fatal(err)
			}
			cert = &c
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12}
	}
	var ln net.Listener
	var err error
	if o.TLS == "tls" {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", srv.TLSConfig)
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	s.srv = srv
	addr := ln.Addr().(*net.TCPAddr)
	s.Host, s.Port = addr.IP.String(), addr.Port
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		logger.mu.Lock()
		*logger.closed = true
		logger.mu.Unlock()
		_ = srv.Close()
	})
	return s
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, fmt.Sprint(s.Port)) }

// Messages returns every message received so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Wait returns the first message (received before or during the wait) that
// match accepts, failing the test after timeout.
func (s *Server) Wait(t testing.TB, timeout time.Duration, match func(Message) bool) Message {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		msgs, ch := s.msgs, s.cond
		s.mu.Unlock()
		for _, m := range msgs {
			if match(m) {
				return m
			}
		}
		select {
		case <-ch:
		case <-deadline.C:
			var subj []string
			for _, m := range msgs {
				subj = append(subj, m.Subject)
			}
			t.Fatalf("smtptest: no matching message within %s; received %d: %q", timeout, len(msgs), subj)
			return Message{}
		}
	}
}

func (s *Server) add(m Message) {
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	close(s.cond)
	s.cond = make(chan struct{})
	s.mu.Unlock()
}

type session struct {
	s    *Server
	auth string
	from string
	to   []string
}

func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		o := ss.s.opts
		if o.Username != "" && (username != o.Username || password != o.Password) {
			return errors.New("invalid credentials")
		}
		ss.auth = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.Username != "" && ss.auth == "" {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := Parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: "unparseable message: " + err.Error()}
	}
	m.From, m.To, m.Auth = ss.from, ss.to, ss.auth
	ss.s.add(m)
	return nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

// Parse decodes a raw RFC 5322 message into its subject, bodies and leaf parts.
func Parse(raw []byte) (Message, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, fmt.Errorf("read message: %w", err)
	}
	m := Message{Raw: raw}
	dec := new(mime.WordDecoder)
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return Message{}, fmt.Errorf("subject: %w", err)
	}
	if err := walk(&m, headerGetter(msg.Header), msg.Body, 0); err != nil {
		return Message{}, err
	}
	return m, nil
}

type getter interface{ Get(string) string }
type headerGetter mail.Header

func (h headerGetter) Get(k string) string { return mail.Header(h).Get(k) }

func walk(m *Message, h getter, body io.Reader, depth int) error {
	if depth > 10 {
		return errors.New("MIME nesting too deep")
	}
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("content type %q: %w", ct, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("multipart: %w", err)
			}
			if err := walk(m, p.Header, p, depth+1); err != nil {
				return err
			}
		}
	}
	var r io.Reader = body
	switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, newlineStripper{body})
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("decode %s part: %w", mt, err)
	}
	p := Part{ContentType: mt, Data: data, ContentID: strings.Trim(h.Get("Content-ID"), "<>")}
	if _, dp, err := mime.ParseMediaType(h.Get("Content-Disposition")); err == nil {
		p.Filename = dp["filename"]
	}
	if p.Filename == "" {
		p.Filename = params["name"]
	}
	m.Parts = append(m.Parts, p)
	if p.Filename == "" {
		switch mt {
		case "text/plain":
			m.Text += string(data)
		case "text/html":
			m.HTML += string(data)
		}
	}
	return nil
}

// newlineStripper drops CR and LF so base64 bodies wrapped at 76 columns decode.
type newlineStripper struct{ r io.Reader }

func (n newlineStripper) Read(p []byte) (int, error) {
	c, err := n.r.Read(p)
	j := 0
	for _, b := range p[:c] {
		if b != '\r' && b != '\n' {
			p[j] = b
			j++
		}
	}
	return j, err
}

// testLogger logs to the test until it ends; connection handlers may still
// report (e.g. a reset) after the test's last line, when logging would panic.
type testLogger struct {
	t      testing.TB
	mu     *sync.Mutex
	closed *bool
}

func (l testLogger) Printf(f string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !*l.closed {
		l.t.Logf("smtptest: "+f, v...)
	}
}

func (l testLogger) Println(v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !*l.closed {
		l.t.Log(append([]any{"smtptest:"}, v...)...)
	}
}
