package imagescan

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

func TestParseDockerConfig(t *testing.T) {
	cfg, err := ParseDockerConfig([]byte(`{"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYXNz"},"127.0.0.1:5000":{"username":"ci","password":"s3cret"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg["index.docker.io"]; got.Username != "user" || got.Password != "pass" {
		t.Errorf("docker hub entry %+v", got)
	}
	legacy, err := ParseDockerConfig([]byte(`{"ghcr.io":{"auth":"YTpiOmM="}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := legacy["ghcr.io"]; got.Username != "a" || got.Password != "b:c" {
		t.Errorf("legacy entry %+v", got)
	}
	kc := Keychain{cfg}
	ref, _ := name.ParseReference("127.0.0.1:5000/app:1")
	a, err := kc.Resolve(ref.Context())
	if err != nil {
		t.Fatal(err)
	}
	ac, _ := a.Authorization()
	if ac.Username != "ci" || ac.Password != "s3cret" {
		t.Errorf("resolved %+v", ac)
	}
	other, _ := name.ParseReference("quay.io/x/y:1")
	if a, _ := kc.Resolve(other.Context()); a != authn.Anonymous {
		t.Errorf("unknown registry got %v", a)
	}
	for _, bad := range []string{`{"auths":{"x":{"auth":"%%%"}}}`, `{"auths":{"x":{"auth":"bm9jb2xvbg=="}}}`, `[1,2]`, "\xff\xfe", `{"auths":{"x":5}}`} {
		if _, err := ParseDockerConfig([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func FuzzParseDockerConfig(f *testing.F) {
	f.Add([]byte(`{"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYXNz"}}}`))
	f.Add([]byte(`{"ghcr.io":{"username":"a","password":"b"}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseDockerConfig(data)
		if err != nil {
			return
		}
		for host := range cfg {
			if host != normalizeHost(host) {
				t.Fatalf("host %q not normalized", host)
			}
		}
	})
}
