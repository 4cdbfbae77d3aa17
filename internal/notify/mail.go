// Package notify delivers notifications: e-mail over SMTP and HTTP webhooks.
package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// SMTPConfig says how to reach the mail server.
type SMTPConfig struct {
	Host               string
	Port               int
	Username, Password string
	From               string
	// TLS is "starttls" (the default), "tls" (implicit TLS, usually port 465) or "none".
	TLS                string
	InsecureSkipVerify bool
}

// Enabled reports whether a mail server is configured.
func (c SMTPConfig) Enabled() bool { return c.Host != "" }

// Mail is one message. Inline attachments are referenced from the HTML as cid:<Name>.
type Mail struct {
	To          []string
	Subject     string
	Text, HTML  string
	Inline      []Attachment
	Attachments []Attachment
}

// Attachment is a file carried by a mail.
type Attachment struct {
	Name, ContentType string
	Data              []byte
}

// Limits keep a bad template or a huge graph from producing an undeliverable message.
const (
	maxRecipients  = 100
	maxSubjectLen  = 998
	maxMessageSize = 20 << 20
)

// SendMail builds m as a MIME message and delivers it through the server in cfg.
func SendMail(ctx context.Context, cfg SMTPConfig, m Mail) error {
	if cfg.Host == "" {
		return errors.New("smtp: no mail server configured (--smtp-host)")
	}
	msg, err := Build(cfg.From, m, time.Now())
	if err != nil {
		return err
	}
	to := make([]string, 0, len(m.To))
	for _, r := range m.To {
		a, _ := mail.ParseAddress(r) // validated by Build
		to = append(to, a.Address)
	}
	from, _ := mail.ParseAddress(cfg.From)
	return deliver(ctx, cfg, from.Address, to, msg)
}

func deliver(ctx context.Context, cfg SMTPConfig, from string, to []string, msg []byte) error {
	port := cfg.Port
	mode := strings.ToLower(cfg.TLS)
	if mode == "" {
		mode = "starttls"
	}
	if port == 0 {
		switch mode {
		case "tls":
			port = 465
		default:
			port = 587
		}
	}
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(port))
	tlsCfg := &tls.Config{ServerName: cfg.Host, InsecureSkipVerify: cfg.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // opt-in for self-signed relays
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("smtp: connect %s: %w", addr, err)
	}
	// The SMTP client has no context; a deadline bounds the whole conversation
	// and closing the connection on cancel unblocks it.
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(2 * time.Minute)
	}
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	var c *smtp.Client
	switch mode {
	case "tls":
		tc := tls.Client(conn, tlsCfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return fmt.Errorf("smtp: tls handshake with %s: %w", addr, err)
		}
		c = smtp.NewClient(tc)
	case "starttls":
		c, err = smtp.NewClientStartTLS(conn, tlsCfg)
		if err != nil {
			conn.Close()
			return fmt.Errorf("smtp: starttls with %s: %w", addr, err)
		}
	case "none":
		c = smtp.NewClient(conn)
	default:
		conn.Close()
		return fmt.Errorf("smtp: unknown tls mode %q (starttls, tls or none)", cfg.TLS)
	}
	defer c.Close()
	if err := c.Hello(helloName()); err != nil {
		return fmt.Errorf("smtp: hello: %w", err)
	}
	if cfg.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("smtp: server does not offer AUTH but a username is configured")
		}
		if err := c.Auth(sasl.NewPlainClient("", cfg.Username, cfg.Password)); err != nil {
			return fmt.Errorf("smtp: auth as %s: %w", cfg.Username, err)
		}
	}
	if err := c.SendMail(from, to, bytes.NewReader(msg)); err != nil {
		return fmt.Errorf("smtp: send to %s: %w", strings.Join(to, ","), err)
	}
	if err := c.Quit(); err != nil {
		return fmt.Errorf("smtp: quit: %w", err)
	}
	return nil
}

func helloName() string {
	return "vigil.localdomain"
}

// Build renders m as an RFC 5322 message with MIME parts:
// mixed{ related{ alternative{text, html}, inline... }, attachments... }, each
// level present only when needed.
func Build(from string, m Mail, now time.Time) ([]byte, error) {
	fa, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mail: bad from address %q: %w", from, err)
	}
	if len(m.To) == 0 {
		return nil, errors.New("mail: no recipients")
	}
	if len(m.To) > maxRecipients {
		return nil, fmt.Errorf("mail: %d recipients, at most %d", len(m.To), maxRecipients)
	}
	var tos []string
	for _, r := range m.To {
		a, err := mail.ParseAddress(r)
		if err != nil {
			return nil, fmt.Errorf("mail: bad recipient %q: %w", r, err)
		}
		tos = append(tos, a.String())
	}
	for _, s := range []string{m.Subject, m.Text, m.HTML} {
		if !utf8.ValidString(s) {
			return nil, errors.New("mail: subject or body is not valid UTF-8")
		}
	}
	if len(m.Subject) > maxSubjectLen || strings.ContainsAny(m.Subject, "\r\n") {
		return nil, errors.New("mail: subject too long or contains a line break")
	}
	if m.Text == "" && m.HTML == "" {
		return nil, errors.New("mail: empty body")
	}
	size := len(m.Text) + len(m.HTML)
	for _, a := range append(append([]Attachment{}, m.Inline...), m.Attachments...) {
		if a.Name == "" || strings.ContainsAny(a.Name, "\r\n\"<>") || !utf8.ValidString(a.Name) {
			return nil, fmt.Errorf("mail: bad attachment name %q", a.Name)
		}
		if _, _, err := mime.ParseMediaType(contentType(a)); err != nil {
			return nil, fmt.Errorf("mail: attachment %s: bad content type: %w", a.Name, err)
		}
		size += len(a.Data) * 4 / 3
	}
	if size > maxMessageSize {
		return nil, fmt.Errorf("mail: message of about %d bytes exceeds %d", size, maxMessageSize)
	}

	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", fa.String())
	h("To", strings.Join(tos, ", "))
	h("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	h("Date", now.Format(time.RFC1123Z))
	h("Message-ID", "<"+randomID()+"@vigil>")
	h("MIME-Version", "1.0")

	body := alternative(m)
	if len(m.Inline) > 0 {
		parts := []part{body}
		for _, a := range m.Inline {
			parts = append(parts, attachmentPart(a, true))
		}
		body = multipartOf("related", parts)
	}
	if len(m.Attachments) > 0 {
		parts := []part{body}
		for _, a := range m.Attachments {
			parts = append(parts, attachmentPart(a, false))
		}
		body = multipartOf("mixed", parts)
	}
	body.write(&b)
	return b.Bytes(), nil
}

// part is a MIME entity: its headers and its encoded body.
type part struct {
	header textproto.MIMEHeader
	body   []byte
}

func (p part) write(w *bytes.Buffer) {
	for _, k := range []string{"Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "Content-ID"} {
		if v := p.header.Get(k); v != "" {
			fmt.Fprintf(w, "%s: %s\r\n", k, v)
		}
	}
	w.WriteString("\r\n")
	w.Write(p.body)
}

func alternative(m Mail) part {
	var parts []part
	if m.Text != "" {
		parts = append(parts, textPart("text/plain", m.Text))
	}
	if m.HTML != "" {
		parts = append(parts, textPart("text/html", m.HTML))
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return multipartOf("alternative", parts)
}

func textPart(ct, s string) part {
	var b bytes.Buffer
	qw := quotedprintable.NewWriter(&b)
	_, _ = io.WriteString(qw, strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n"))
	_ = qw.Close()
	b.WriteString("\r\n")
	hd := textproto.MIMEHeader{}
	hd.Set("Content-Type", ct+"; charset=utf-8")
	hd.Set("Content-Transfer-Encoding", "quoted-printable")
	return part{hd, b.Bytes()}
}

func contentType(a Attachment) string {
	if a.ContentType == "" {
		return "application/octet-stream"
	}
	return a.ContentType
}

func attachmentPart(a Attachment, inline bool) part {
	hd := textproto.MIMEHeader{}
	hd.Set("Content-Type", mime.FormatMediaType(contentType(a), map[string]string{"name": a.Name}))
	hd.Set("Content-Transfer-Encoding", "base64")
	if inline {
		hd.Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": a.Name}))
		hd.Set("Content-ID", "<"+a.Name+">")
	} else {
		hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.Name}))
	}
	enc := base64.StdEncoding.EncodeToString(a.Data)
	var b bytes.Buffer
	for len(enc) > 76 {
		b.WriteString(enc[:76])
		b.WriteString("\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc)
	b.WriteString("\r\n")
	return part{hd, b.Bytes()}
}

func multipartOf(sub string, parts []part) part {
	boundary := "vigil-" + randomID()
	var b bytes.Buffer
	for _, p := range parts {
		b.WriteString("--" + boundary + "\r\n")
		p.write(&b)
	}
	b.WriteString("--" + boundary + "--\r\n")
	hd := textproto.MIMEHeader{}
	hd.Set("Content-Type", fmt.Sprintf("multipart/%s; boundary=%q", sub, boundary))
	return part{hd, b.Bytes()}
}

func randomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
